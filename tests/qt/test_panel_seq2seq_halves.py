"""The gate, state and gradient panels draw an encoder-decoder's encoder or decoder, as the
layer picker chooses: the decoder's steps t with the target tokens under the time cursor, the
encoder's input steps j with the input tokens (no padding) and a mark on the step that decoder
step t reads."""

from __future__ import annotations

import html

import numpy as np
import pytest

from rnnviz.qt.panels.core.gates import GateActivationsPanel
from rnnviz.qt.panels.core.gradients import GradientNormsPanel
from rnnviz.qt.panels.core.states import StateTrajectoriesPanel
from rnnviz.qt.panels.lab.saturation import GateSaturationPanel
from rnnviz.qt.tokens import cursor_length
from rnnviz.qt.transport import describe_timestep


def snapshot(**overrides):
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer

    cfg = Config(**{"hidden": 6, "batch": 4, "device": "cpu", "embed_dim": 8, **overrides})
    trainer = Trainer(cfg)
    for _ in range(3):
        trainer.train_step()
    return trainer.snapshot(state="paused", trace=trainer.record(), steps_per_s=0.0)


@pytest.fixture(scope="module")
def dates():
    return snapshot(task="dates", attention="additive", cell="lstm")


@pytest.fixture(scope="module")
def reverse_none():
    return snapshot(task="reverse", seq_len=7, attention="none", cell="gru")


def shown(panel, snap):
    """The panel drawing `snap` with its cursor over the decoder's steps, as the window sets
    it."""
    panel.cursor.set_length(cursor_length(snap.trace))
    panel.set_snapshot(snap)
    assert panel.refresh(force=True)
    return panel


def real_inputs(trace):
    start = int(np.argmax(trace.tokens_in[0] != "<pad>"))
    return start, list(trace.tokens_in[0, start:])


def tick_words(axis):
    """The token under each tick of a token time axis ("3\\na" -> "a"), by t."""
    words = {}
    for level in axis._tickLevels:
        words.update({int(v): label.split("\n", 1)[1] for v, label in level})
    return [words[t] for t in sorted(words)]


def test_layer_picker_offers_both_halves_and_the_cursor_runs_over_the_decoder(dates, show_panel):
    trace = dates.trace
    panel = shown(show_panel(GateActivationsPanel), dates)
    combo = panel.layer_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "encoder layer 0",
        "decoder layer 0",
    ]
    rows = int(trace.loss_mask[0].sum())
    assert panel.cursor.T == rows == cursor_length(trace)
    for t in range(rows):  # the transport's line: the decoder reads the previous target
        text = describe_timestep(trace, t)
        assert f"input: '{trace.tokens_out[0, t - 1] if t else '<bos>'}'" in text


def test_gates_of_the_encoder_then_the_decoder(dates, show_panel):
    trace = dates.trace
    panel = shown(show_panel(GateActivationsPanel), dates)
    start, words = real_inputs(trace)
    enc = trace.layer(0)
    for g in ("i", "f", "g", "o"):
        np.testing.assert_array_equal(panel.images[g].image, enc.gates[g][0, start:].T)
    axis = panel.plots["o"].getAxis("bottom")
    assert tick_words(axis) == words and axis.labelText == "encoder step j"
    # the encoder's mark: the input step decoder step 2 weighs most
    panel.cursor.set(2)
    j = int(trace.attn[0, 2, start:].argmax())
    assert panel.cursor_lines["f"].value() == j and not panel.cursor_lines["f"].movable
    np.testing.assert_allclose(panel.bars["f"].opts["width"], enc.gates["f"][0, start + j])
    assert f"at j = {j}" in panel.bars_title.text.replace("\u2007", "")

    panel.layer_combo.setCurrentIndex(1)  # the decoder
    rows = int(trace.loss_mask[0].sum())
    dec = trace.dec_layers[0]
    for g in ("i", "f", "g", "o"):
        np.testing.assert_array_equal(panel.images[g].image, dec.gates[g][0, :rows].T)
    assert tick_words(panel.plots["o"].getAxis("bottom")) == list(trace.tokens_out[0, :rows])
    assert panel.cursor_lines["f"].value() == 2 and panel.cursor_lines["f"].movable
    np.testing.assert_allclose(panel.bars["o"].opts["width"], np.abs(dec.gates["o"][0, 2]))
    assert (
        "at t = 2" in panel.bars_title.text.replace("\u2007", "")
        and panel.data_tables()["time"]["t"][-1] == rows - 1
    )


def test_states_of_the_decoder_and_the_encoder(dates, show_panel):
    trace = dates.trace
    panel = shown(show_panel(StateTrajectoriesPanel, size=(1000, 500)), dates)
    panel.units_edit.setText("0-5")
    panel.units_edit.editingFinished.emit()
    start, words = real_inputs(trace)
    for curve, unit in zip(panel.h_curves, range(6), strict=True):
        np.testing.assert_array_equal(curve.yData, trace.layer(0).h[0, start:, unit])
    assert panel.start_label.toPlainText() == f"j = 0: '{words[0]}'"
    panel.layer_combo.setCurrentIndex(1)
    rows = int(trace.loss_mask[0].sum())
    dec = trace.dec_layers[0]
    for curve, unit in zip(panel.c_curves, range(6), strict=True):
        np.testing.assert_array_equal(curve.yData, dec.c[0, :rows, unit])
    assert tick_words(panel.h_plot.getAxis("bottom")) == list(trace.tokens_out[0, :rows])
    panel.cursor.set(3)
    assert panel.cursor_lines[0].value() == 3
    np.testing.assert_allclose(panel.pca_marker.getData()[0], panel.pca_points[3, :1])


def test_encoder_gradients_are_the_traces_and_the_decoders_follow_the_cursor(dates, show_panel):
    trace = dates.trace
    panel = shown(show_panel(GradientNormsPanel), dates)
    start, _ = real_inputs(trace)
    grad = np.linalg.norm(trace.layer(0).grad_h[0, start:].astype(np.float64), axis=-1)
    np.testing.assert_allclose(panel.grad_curve.yData, grad, rtol=1e-6)
    np.testing.assert_array_equal(panel.grad_curve.xData, np.arange(len(grad)))
    assert "encoder" in panel.grad_plot.titleLabel.text
    assert "h<sub>N−1</sub>" in panel.readout.text()  # the vanishing ratio over the input
    panel.layer_combo.setCurrentIndex(1)
    rows = int(trace.loss_mask[0].sum())
    dec_grad = np.linalg.norm(trace.dec_layers[0].grad_h[0, :rows].astype(np.float64), axis=-1)
    np.testing.assert_allclose(panel.grad_curve.yData, dec_grad, rtol=1e-6)
    panel.cursor.set(4)
    assert panel.cursor_lines[0].value() == 4
    assert f"t = 4: '{trace.tokens_out[0, 4]}'" in html.unescape(panel.readout.text())


def test_without_attention_the_encoder_mark_sits_on_the_final_state(reverse_none, show_panel):
    trace = reverse_none.trace
    start, words = real_inputs(trace)
    panel = shown(show_panel(GradientNormsPanel), reverse_none)
    grad = np.linalg.norm(trace.layer(0).grad_h[0, start:].astype(np.float64), axis=-1)
    np.testing.assert_allclose(panel.grad_curve.yData, grad, rtol=1e-6)
    for t in range(panel.cursor.T):  # every decoder step starts from h_{N-1} alone
        panel.cursor.set(t)
        assert panel.cursor_lines[0].value() == len(words) - 1


def test_a_panel_that_draws_the_encoder_only_offers_its_layers_only(dates, show_panel):
    """The saturation panel indexes the trace's (the encoder's) layers: a decoder entry in its
    picker would raise IndexError when chosen."""
    panel = shown(show_panel(GateSaturationPanel), dates)
    combo = panel.layer_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["layer 0"]
