"""The unrolled graph of an encoder-decoder: the encoder's block of input steps j, the decoder's
block of steps t (its context vectors with attention), the bridge between them, and the
attention fan into c_t; forward values and backward gradients are the trace's."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from rnnviz.qt.panels.core.graph import UnrolledGraphPanel
from rnnviz.qt.panels.core.graph_seq2seq import FAN_PX
from rnnviz.qt.panels.core.graph_style import fmt
from rnnviz.qt.tokens import cursor_length


def snapshot(**overrides):
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer

    config = {"task": "reverse", "seq_len": 7, "hidden": 6, "batch": 4, "device": "cpu"}
    trainer = Trainer(Config(**{**config, "embed_dim": 8, **overrides}))
    for _ in range(3):
        trainer.train_step()
    return trainer.snapshot(state="paused", trace=trainer.record(), steps_per_s=0.0)


@pytest.fixture(scope="module")
def additive():
    return snapshot(attention="additive", cell="lstm")


@pytest.fixture(scope="module")
def bottleneck():
    return snapshot(attention="none", cell="gru")


@pytest.fixture
def show(show_panel):
    def show(snap, t=0):
        panel = show_panel(UnrolledGraphPanel, size=(1200, 520))
        panel.cursor.set_length(cursor_length(snap.trace))  # the decoder's steps
        panel.set_snapshot(snap)
        assert panel.refresh(force=True)
        panel.cursor.set(t)
        return panel

    return show


def norms(a):
    return np.linalg.norm(np.asarray(a, dtype=np.float64), axis=-1)


def node_text(panel, r, x) -> str:
    return panel.labels[r, x].textItem.toPlainText().split()[-1]


def row_of(panel, kind, block):
    return next(r for r, row in enumerate(panel.rows) if row.kind == kind and row.block == block)


def test_two_blocks_of_rows_named_on_both_sides(additive, show):
    panel = show(additive)
    blocks = [[row.kind for row in panel.rows if row.block == b] for b in (0, 1)]
    assert blocks == [["x", "c", "h"], ["x", "c", "h", "ctx", "y"]]
    right = [label for _, label in panel.plot.getAxis("right")._tickLevels[0]]
    assert right == ["yₜ₋₁", "c", "s", "ctx", "ŷ"]
    assert set(panel.data_tables()) == {"encoder", "decoder"}


def test_forward_values_of_both_halves_are_the_traces(additive, show):
    trace = additive.trace
    rows = cursor_length(trace)
    t = min(3, rows - 1)
    panel = show(additive, t=t)
    start = int(np.argmax(trace.tokens_in[0] != "<pad>"))
    expected = {
        row_of(panel, "h", 0): norms(trace.layer(0).h[0, start:]),
        row_of(panel, "c", 0): norms(trace.layer(0).c[0, start:]),
        row_of(panel, "h", 1): norms(trace.dec_layers[0].h[0, :rows]),
        row_of(panel, "ctx", 1): norms(trace.context[0, :rows]),
    }
    for r, values in expected.items():
        np.testing.assert_allclose(panel.values[r], values, rtol=1e-5)
        block = panel.rows[r].block
        for c, s in enumerate(panel.windows[block]):
            assert node_text(panel, r, panel.x0[block] + c) == fmt(values[s], False)
    # the decoder's window holds t, the encoder's the input step decoder step t reads most
    j = int(trace.attn[0, t, start:].argmax())
    assert t in panel.window and j in panel.windows[0]
    assert panel.highlight.rect().center().x() == panel.x0[1] + t - panel.window.start
    x_in = row_of(panel, "x", 1)
    assert (
        node_text(panel, x_in, panel.x0[1] + t - panel.window.start) == trace.tokens_out[0, t - 1]
    )


def test_backward_view_shows_both_halves_gradients(additive, show):
    trace = additive.trace
    panel = show(additive, t=0)
    panel.view_combo.setCurrentIndex(1)
    start = int(np.argmax(trace.tokens_in[0] != "<pad>"))
    rows = cursor_length(trace)
    enc, dec = row_of(panel, "h", 0), row_of(panel, "h", 1)
    np.testing.assert_allclose(panel.values[enc], norms(trace.layer(0).grad_h[0, start:]), 1e-5)
    np.testing.assert_allclose(panel.values[dec], norms(trace.dec_layers[0].grad_h[0, :rows]), 1e-5)
    ctx = row_of(panel, "ctx", 1)
    np.testing.assert_allclose(panel.values[ctx], norms(trace.grad_context[0, :rows]), 1e-5)
    assert node_text(panel, ctx, panel.x0[1]) == fmt(panel.values[ctx][0], True)
    assert f"‖∂L/∂ctx‖ = {panel.values[ctx][0]:.3e}" in panel.describe(ctx, 0)
    assert "'<bos>'" in panel.describe(row_of(panel, "x", 1), 0)


def test_attention_fan_is_as_wide_as_the_weights(additive, show):
    trace = additive.trace
    t = min(2, cursor_length(trace) - 1)
    panel = show(additive, t=t)
    start = int(np.argmax(trace.tokens_in[0] != "<pad>"))
    fan = panel.links.fan
    assert len(fan) == len(panel.windows[0])
    for (line, weight), j in zip(fan, panel.windows[0], strict=True):
        a = float(trace.attn[0, t, start + j])
        assert line.pen().widthF() == pytest.approx(1 + FAN_PX * a, rel=1e-5)
        assert weight.toPlainText() == (f"α={a:.2f}" if a >= 0.005 else "α≈0")
        end = line.path().currentPosition()  # into c_t, from above
        assert end.x() == pytest.approx(panel.x0[1] + t - panel.window.start, abs=0.2)
    assert panel.links.note.toPlainText() == "start state"


def test_without_attention_the_final_state_is_the_bottleneck(bottleneck, show):
    trace = bottleneck.trace
    panel = show(bottleneck, t=0)
    assert "ctx" not in [row.kind for row in panel.rows] and panel.links.fan == []
    assert panel.links.note.toPlainText() == "bottleneck"
    ((e, d, line, _),) = panel.links.bridges  # one layer, no cell state: one edge, h -> s
    assert (panel.rows[e].block, panel.rows[d].block) == (0, 1)
    assert panel.windows[0].stop == len(trace.tokens_in[0]) - int(
        np.argmax(trace.tokens_in[0] != "<pad>")
    )  # the encoder's window ends at its final state, whatever t
    assert line.pen().style() == Qt.PenStyle.SolidLine  # h_{N-1} next to s_0
    panel.cursor.set(cursor_length(trace) - 1)
    if panel.window.start > 0:  # decoder steps left out between: dashed
        assert line.pen().style() == Qt.PenStyle.DashLine
    panel.view_combo.setCurrentIndex(1)
    start = int(np.argmax(trace.tokens_in[0] != "<pad>"))
    np.testing.assert_allclose(panel.values[e], norms(trace.layer(0).grad_h[0, start:]), 1e-5)
