"""The gate-saturation panel draws one point per unit and sigmoid gate at its fractions shut and
open, follows the layer picker, and shows a hovered unit's gate over time."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType, SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from rnnviz.core.saturation import gate_saturation
from rnnviz.core.trace import LayerTrace, Trace
from rnnviz.qt.panels.lab.saturation import GateSaturationPanel


@pytest.fixture
def show(show_panel):
    return lambda snapshot, t=0: show_panel(GateSaturationPanel, snapshot, size=(1000, 500), t=t)


def drawn(panel, gate):
    x, y = panel.points[gate].getData()
    return np.asarray(x), np.asarray(y)


def test_one_point_per_unit_and_sigmoid_gate_at_its_fractions(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=6, seq_len=25)
    panel = show(snap)
    lt = snap.trace.layer(0)
    assert set(panel.points) == {"i", "f", "o"}  # the candidate g is no gate
    for g in "ifo":
        v = lt.gates[g]  # (B, T, H), every probe sequence counts
        x, y = drawn(panel, g)
        np.testing.assert_allclose(x, (v < 0.1).mean(axis=(0, 1)))
        np.testing.assert_allclose(y, (v > 0.9).mean(axis=(0, 1)))
    legend = [label.text for _, label in panel.legend.items]
    assert legend == ["i: input gate", "f: forget gate", "o: output gate"]
    assert not panel.note.isVisible()


def test_layer_picker_and_a_new_cell(make_snapshot, show):
    snap = make_snapshot(cell="gru", layers=2, hidden=5, seq_len=12)
    panel = show(snap)
    panel.layer_combo.setCurrentIndex(1)
    (r, z) = gate_saturation(snap.trace.layer(1))
    np.testing.assert_allclose(drawn(panel, "z")[1], z.right)
    np.testing.assert_allclose(drawn(panel, "r")[0], r.left)
    rnn = make_snapshot(cell="rnn", seq_len=12)
    panel.set_snapshot(rnn)
    assert panel.refresh()
    assert not panel.points and panel.note.isVisible()


def planted_snapshot(B: int = 3, T: int = 20, H: int = 5) -> SimpleNamespace:
    """A GRU trace whose update gate z of unit k is open at k·T/H steps, shut at the rest."""
    z = np.zeros((B, T, H))
    for k in range(H):
        z[:, : k * T // H, k] = 0.95
    r = np.full((B, T, H), 0.5)
    zero = np.zeros((B, T, H))
    layer = LayerTrace(0, False, zero, zero, np.zeros((B, T)), gates={"r": r, "z": z, "n": zero})
    meta = {"cell": "gru", "layers": 1, "bidirectional": False}
    trace = Trace(
        MappingProxyType(meta),
        zero,
        np.zeros((B, T)),
        zero,
        zero,
        0.0,
        np.ones((B, T)),
        (layer,),
        MappingProxyType({}),
    )
    return SimpleNamespace(trace=trace)


def test_hover_shows_the_units_gate_over_time(show):
    snap = planted_snapshot()
    panel = show(snap, t=7)
    panel.grab()
    np.testing.assert_allclose(drawn(panel, "z")[1], [0, 0.2, 0.4, 0.6, 0.8])
    vb = panel.scatter.vb
    panel.view.scene().sigMouseMoved.emit(vb.mapViewToScene(QPointF(0.4 + 0.003, 0.6)))
    assert panel.shown == ("z", 3)
    z = snap.trace.layer(0).gates["z"]
    np.testing.assert_array_equal(panel.unit_curve.getData()[1], z[0, :, 3])
    assert np.isnan(panel.others_curve.getData()[1]).sum() == 2  # sequences 1, 2, apart
    assert panel.hover_label.text() == (
        "z (update gate), unit 3: left-saturated 40.0%, right-saturated 60.0%"
    )
    assert "z of unit 3: shut 40%, open 60% of 3 × 20 steps" in panel.trace_plot.titleLabel.text
    assert tuple(panel.marker.getData()[0]) == (0.4,)
    panel.view.scene().sigMouseMoved.emit(vb.mapViewToScene(QPointF(0.2, 0.3)))  # no point near
    assert panel.shown == ("z", 3)
    assert panel.cursor_line.value() == 7
    panel.cursor.set(12)
    assert panel.cursor_line.value() == 12


def test_a_model_without_recurrent_layers_shows_the_note(show):
    snap = planted_snapshot()
    panel = show(snap)
    panel.set_snapshot(SimpleNamespace(trace=dataclasses.replace(snap.trace, layers=())))
    assert panel.refresh()
    assert not panel.points and panel.note.isVisible() and panel.shown is None


def test_padding_does_not_count(make_snapshot, show):
    snap = make_snapshot(task="tagging", cell="gru", hidden=6, steps=1)
    mask = snap.trace.input_mask  # (B, T): 0 after each sentence's end
    assert (mask == 0).any()
    panel = show(snap)
    z = snap.trace.layer(0).gates["z"]
    data = mask[..., None] > 0
    np.testing.assert_allclose(drawn(panel, "z")[0], ((z < 0.1) & data).sum((0, 1)) / mask.sum())
