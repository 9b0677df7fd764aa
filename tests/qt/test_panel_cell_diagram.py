"""The cell diagram draws one LSTM / GRU / RNN cell with the live values of one unit at t."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest

from rnnviz.qt import theme
from rnnviz.qt.panels.cells.diagram import CellDiagramPanel
from rnnviz.qt.panels.cells.drawing import flow_width, fmt


@pytest.fixture
def show(show_panel):
    return lambda snapshot, t=0: show_panel(CellDiagramPanel, snapshot, t=t)


def label(panel, gate: str) -> str:
    return panel.boxes[gate].value.textItem.toPlainText()


def text(panel, key: str) -> str:
    return panel.texts[key][0].textItem.toPlainText()


def hover(panel, key: str) -> str:
    rect = next(r for r, k in panel.hotspots if k == key)
    panel.graphics.scene().sigMouseMoved.emit(panel.view.mapViewToScene(rect.center()))
    return panel.hover_label.text()


def test_lstm_gate_labels_are_the_trace_values_and_follow_the_cursor(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=6, seq_len=25)
    lt = snap.trace.layer(0)
    panel = show(snap, t=7)
    k = panel.unit_spin.value()
    for t in (7, 19):
        panel.cursor.set(t)
        for g in "ifgo":
            assert label(panel, g) == f"{g} = {fmt(lt.gates[g][0, t, k])}"
        assert text(panel, "c") == f"ct = {fmt(lt.c[0, t, k])}"
        assert text(panel, "c_prev") == f"ct−1 = {fmt(lt.c[0, t - 1, k])}"
        assert text(panel, "h_prev") == f"ht−1 = {fmt(lt.h[0, t - 1, k])}"
        assert text(panel, "h") == f"ht = {fmt(lt.h[0, t, k])}"
        assert f"t = {t}" in text(panel, "title")
    # the update equation with the numbers that make it
    eq = text(panel, "equation")
    assert f"= {fmt(lt.c[0, 19, k])}" in eq and fmt(lt.gates["f"][0, 19, k]) in eq


def test_a_gate_box_is_filled_by_its_value(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=6, seq_len=25)
    panel = show(snap, t=5)
    k = panel.unit_spin.value()
    lt = snap.trace.layer(0)
    lut = theme.cmap(theme.SEQUENTIAL).getLookupTable(0.0, 1.0, 256, alpha=False)
    f = lt.gates["f"][0, 5, k]
    assert panel.boxes["f"].shape.brush().color().getRgb()[:3] == tuple(lut[int(f * 255)])
    g = lt.gates["g"][0, 5, k]  # a candidate: on the diverging map, -1..1
    lut = theme.cmap(theme.DIVERGING).getLookupTable(0.0, 1.0, 256, alpha=False)
    expected = tuple(lut[int((g + 1) / 2 * 255)])
    assert panel.boxes["g"].shape.brush().color().getRgb()[:3] == expected


def test_the_belt_is_as_wide_as_the_forget_gate(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=6, seq_len=40)
    panel = show(snap)
    k = panel.unit_spin.value()
    f = snap.trace.layer(0).gates["f"][0, :, k]  # (T,)
    lo, hi = int(np.argmin(f)), int(np.argmax(f))
    assert f[hi] > f[lo]
    panel.cursor.set(lo)
    narrow = panel.flow("belt").width
    panel.cursor.set(hi)
    wide = panel.flow("belt").width
    assert wide > narrow
    assert wide == pytest.approx(flow_width(f[hi]))
    assert flow_width(0.0) < flow_width(0.5) < flow_width(1.0) == flow_width(7.0)
    # what is stored: i·|g|, as wide for a negative candidate as for a positive one
    i, g = (snap.trace.layer(0).gates[n][0] for n in "ig")  # (T, H)
    t, k = np.argwhere(g < -0.1)[0]
    panel.unit_spin.setValue(k)
    panel.cursor.set(t)
    assert panel.flow("stored").width == pytest.approx(flow_width(i[t, k] * abs(g[t, k])))
    assert panel.flow("stored").width > flow_width(0.0)


def test_gru_labels_carry_path_and_torch_convention(make_snapshot, show):
    snap = make_snapshot(cell="gru", hidden=5, seq_len=20)
    lt = snap.trace.layer(0)
    panel = show(snap, t=11)
    k = panel.unit_spin.value()
    for g in "rzn":
        assert label(panel, g) == f"{g} = {fmt(lt.gates[g][0, 11, k])}"
    z = lt.gates["z"][0, 11, k]
    assert panel.boxes["1-z"].value.textItem.toPlainText() == fmt(1 - z)
    assert panel.flow("carry").width == pytest.approx(flow_width(z))
    assert "lecture's z is 1 − z" in text(panel, "convention")
    h, h_prev, n = lt.h[0, 11, k], lt.h[0, 10, k], lt.gates["n"][0, 11, k]
    assert (1 - z) * n + z * h_prev == pytest.approx(h, abs=1e-5)  # the drawn equation holds
    assert text(panel, "h") == f"ht = {fmt(h)}"
    panel.cursor.set(3)
    assert label(panel, "z") == f"z = {fmt(lt.gates['z'][0, 3, k])}"


def test_simple_gru_and_peephole_lstm(make_snapshot, show):
    panel = show(make_snapshot(cell="simple-gru", hidden=4, seq_len=12), t=4)
    assert set(panel.boxes) == {"z", "n", "1-z"}
    assert "carry" in panel.flows
    snap = make_snapshot(cell="peephole-lstm", hidden=4, seq_len=12)
    panel = show(snap, t=4)
    k = panel.unit_spin.value()
    assert label(panel, "o") == f"o = {fmt(snap.trace.layer(0).gates['o'][0, 4, k])}"
    assert "peepholes" in text(panel, "peep")
    assert "w_cf ⊙ c_t−1" in hover(panel, "f")


def test_rnn_says_it_has_no_gates(make_snapshot, show):
    snap = make_snapshot(cell="rnn", hidden=4, seq_len=12)
    lt = snap.trace.layer(0)
    panel = show(snap, t=6)
    k = panel.unit_spin.value()
    assert "No gates" in text(panel, "no_gates")
    assert "has no gates" in text(panel, "equation")
    assert set(panel.boxes) == {"a", "h"}
    assert label(panel, "a") == f"a = {fmt(lt.preact[0, 6, k])}"
    assert label(panel, "h") == f"h = {fmt(lt.h[0, 6, k])}"
    assert not panel.flows


def test_the_default_unit_is_the_most_active_and_a_chosen_one_stays(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=8, seq_len=20)
    panel = show(snap, t=3)
    activity = np.abs(snap.trace.layer(0).h[0]).mean(axis=0)
    assert panel.unit_spin.value() == int(np.argmax(activity))
    panel.unit_spin.setValue(2)
    assert label(panel, "f") == f"f = {fmt(snap.trace.layer(0).gates['f'][0, 3, 2])}"
    panel.set_snapshot(make_snapshot(steps=6, cell="lstm", hidden=8, seq_len=20))
    assert panel.refresh()
    assert panel.unit_spin.value() == 2  # a later snapshot of the same model keeps the unit


def test_hover_gives_the_exact_value_and_equation(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=6, seq_len=25)
    panel = show(snap, t=9)
    k = panel.unit_spin.value()
    f = snap.trace.layer(0).gates["f"][0, 9, k]
    line = hover(panel, "f")
    assert f"{f:.6g}" in line and "σ(W_if x_t" in line and f"unit {k}, t = 9" in line
    assert "c_t = f_t ⊙ c_t−1 + i_t ⊙ g_t" in hover(panel, "update")
    assert "initial state" not in hover(panel, "c_prev")
    panel.cursor.set(0)
    assert "initial state" in hover(panel, "c_prev")


def test_stacked_bidirectional_reverse_layer_reads_the_next_step(make_snapshot, show):
    snap = make_snapshot(
        cell="gru", task="tagging", layers=2, bidirectional=True, hidden=4, seq_len=15
    )
    panel = show(snap, t=5)
    names = [panel.layer_combo.itemText(i) for i in range(panel.layer_combo.count())]
    assert names == ["layer 0", "layer 0 ←", "layer 1", "layer 1 ←"]
    panel.layer_combo.setCurrentIndex(3)
    lt = snap.trace.layer(1, reverse=True)
    k = panel.unit_spin.value()
    assert label(panel, "z") == f"z = {fmt(lt.gates['z'][0, 5, k])}"
    assert text(panel, "h_prev") == f"ht+1 = {fmt(lt.h[0, 6, k])}"
    assert "layer 0" in text(panel, "x")  # the input of layer 1 is layer 0's h_t


def test_non_finite_values_and_a_long_sequence(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=4, seq_len=1000, steps=1)
    lt = snap.trace.layers[0]
    f = np.array(lt.gates["f"])
    f[0, 500:] = np.nan
    c = np.array(lt.c)
    c[0, 600] = np.inf
    bad = dataclasses.replace(lt, gates={**lt.gates, "f": f}, c=c)
    trace = dataclasses.replace(snap.trace, layers=(bad,))
    panel = show(dataclasses.replace(snap, trace=trace), t=999)
    assert label(panel, "f") == "f = nan"
    assert panel.flow("belt").width == pytest.approx(flow_width(0.0))
    panel.cursor.set(600)
    assert text(panel, "c") == "ct = inf"
    assert "nan" in hover(panel, "forget")


def test_a_new_cell_type_rebuilds_the_diagram(make_snapshot, show):
    panel = show(make_snapshot(cell="lstm", hidden=4, seq_len=10), t=2)
    assert "belt" in panel.flows
    snap = make_snapshot(cell="gru", hidden=3, seq_len=10)
    panel.set_snapshot(snap)
    assert panel.refresh()
    assert "belt" not in panel.flows and "carry" in panel.flows
    assert panel.unit_spin.maximum() == 2
    assert "GRU" in text(panel, "title")


def test_labels_shrink_with_a_small_panel_and_never_grow_past_the_theme(make_snapshot, show, qtbot):
    panel = show(make_snapshot(cell="lstm", seq_len=10), t=3)
    font = panel.boxes["f"].value.textItem.font
    panel.resize(1400, 900)
    qtbot.waitUntil(lambda: font().pointSizeF() == theme.FONT_PT)
    panel.resize(560, 360)
    qtbot.waitUntil(lambda: font().pointSizeF() < 0.8 * theme.FONT_PT)
    # the value label still fits inside its box
    box = panel.boxes["f"].shape.sceneBoundingRect()
    assert box.contains(panel.boxes["f"].value.sceneBoundingRect().center())
    assert panel.boxes["f"].value.sceneBoundingRect().width() < box.width()


def test_the_csv_holds_the_values_drawn_at_the_cursor(make_snapshot, show, tmp_path):
    snap = make_snapshot(cell="lstm", hidden=5, seq_len=12, steps=1)
    lt = snap.trace.layer(0)
    panel = show(snap, t=7)
    k = panel.unit_spin.value()
    (path,) = panel.export_data(tmp_path / "cell.csv")
    with open(path, newline="", encoding="utf-8") as f:
        header, row = csv.reader(f)
    written = dict(zip(header, map(float, row), strict=True))
    at = f"(unit {k}, layer 0)"
    assert written["t"] == 7 and len(written) == 1 + len(panel.values.v)
    for g in "ifgo":  # the gate boxes' numbers
        assert written[f"{g}_t {at}"] == pytest.approx(lt.gates[g][0, 7, k], rel=1e-7)
        assert label(panel, g) == f"{g} = {fmt(written[f'{g}_t {at}'])}"
    assert written[f"c_t−1 {at}"] == pytest.approx(lt.c[0, 6, k], rel=1e-7)
    assert written[f"c_t {at}"] == pytest.approx(lt.c[0, 7, k], rel=1e-7)
    assert written[f"h_t {at}"] == pytest.approx(lt.h[0, 7, k], rel=1e-7)
    assert text(panel, "h") == f"ht = {fmt(written[f'h_t {at}'])}"
    f, c_prev = written[f"f_t {at}"], written[f"c_t−1 {at}"]
    assert written[f"f_t ⊙ c_t−1 {at}"] == pytest.approx(f * c_prev, rel=1e-6)
    assert panel.flow("belt").width == pytest.approx(flow_width(f), rel=1e-6)
    panel.cursor.set(3)  # the table follows the cursor, as the diagram does
    assert panel.data_tables()["time"]["t"][0] == 3


def test_the_csv_of_a_reverse_gru_layer_names_the_next_step(make_snapshot, show):
    snap = make_snapshot(
        cell="gru", task="tagging", bidirectional=True, hidden=4, seq_len=10, steps=1
    )
    panel = show(snap, t=4)
    panel.layer_combo.setCurrentIndex(1)
    lt = snap.trace.layer(0, reverse=True)
    k = panel.unit_spin.value()
    (table,) = panel.data_tables().values()
    at = f"(unit {k}, layer 0 ←)"
    assert table[f"h_t+1 {at}"][0] == pytest.approx(lt.h[0, 5, k])
    z = lt.gates["z"][0, 4, k]
    assert table[f"1 − z_t {at}"][0] == pytest.approx(1 - z)
    assert table[f"z_t ⊙ h_t+1 {at}"][0] == pytest.approx(z * lt.h[0, 5, k], rel=1e-6)
