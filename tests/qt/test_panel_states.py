"""State trajectories panel: which units it draws, their values, the PCA path and the cursor."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QApplication

from rnnviz.qt import theme
from rnnviz.qt.panels.core.states import StateTrajectoriesPanel, parse_units


@pytest.fixture
def show(show_panel):
    """show(snapshot) -> a laid-out StateTrajectoriesPanel drawing `snapshot`."""
    return lambda snapshot: show_panel(StateTrajectoriesPanel, snapshot, size=(900, 500))


def test_default_units_are_the_k_most_active(make_snapshot, show):
    snap = make_snapshot(cell="lstm", task="sine", hidden=10)
    panel = show(snap)
    h = snap.trace.layer(0).h[0]  # (T, H)
    activity = np.abs(h).mean(axis=0)
    assert panel.k_spin.value() == 6
    assert set(panel.units) == set(np.argsort(activity)[-6:])
    assert activity[panel.units[0]] == activity.max()
    for unit, curve in zip(panel.units, panel.h_curves, strict=True):
        np.testing.assert_array_equal(curve.yData, h[:, unit])
    panel.k_spin.setValue(3)
    assert set(panel.units) == set(np.argsort(activity)[-3:])
    assert len(panel.h_curves) == len(panel.c_curves) == 3


def with_h(snapshot, h0: np.ndarray):
    """`snapshot` with sequence 0's hidden states of layer 0 replaced by h0 (T, H)."""
    lt = snapshot.trace.layers[0]
    h = np.array(lt.h)
    h[0] = h0
    layers = (dataclasses.replace(lt, h=h), *snapshot.trace.layers[1:])
    return dataclasses.replace(snapshot, trace=dataclasses.replace(snapshot.trace, layers=layers))


def test_top_units_stay_put_through_near_ties_and_follow_real_changes(make_snapshot, show):
    snap = make_snapshot(cell="gru", task="sine", hidden=20)
    T = snap.trace.T
    activity = np.linspace(1.0, 0.05, 20)  # unit 0 most active, unit 19 least
    panel = show(with_h(snap, np.tile(activity, (T, 1))))
    assert list(panel.units) == [0, 1, 2, 3, 4, 5]
    colours = [c.opts["pen"].color().name() for c in panel.h_curves]
    shuffled = activity.copy()
    shuffled[[0, 5, 8]] = activity[[8, 0, 5]]  # units 0 and 5 drop to 9th and 6th place
    panel.set_snapshot(with_h(snap, np.tile(shuffled, (T, 1))))
    panel.refresh()
    assert list(panel.units) == [0, 1, 2, 3, 4, 5]  # all still among the 12 most active
    assert [c.opts["pen"].color().name() for c in panel.h_curves] == colours
    moved = activity.copy()
    moved[0] = 0.0  # unit 0 falls out of the 12 most active: the choice follows
    panel.set_snapshot(with_h(snap, np.tile(moved, (T, 1))))
    panel.refresh()
    assert 0 not in panel.units and list(panel.units) == [1, 2, 3, 4, 5, 6]


def test_units_picked_by_hand_show_c_and_h(make_snapshot, show):
    snap = make_snapshot(cell="lstm", task="sine", hidden=8)
    panel = show(snap)
    panel.units_edit.setText("1, 3-4")
    panel.units_edit.editingFinished.emit()
    assert list(panel.units) == [1, 3, 4]
    lt = snap.trace.layer(0)
    for unit, h_curve, c_curve in zip(panel.units, panel.h_curves, panel.c_curves, strict=True):
        np.testing.assert_array_equal(h_curve.yData, lt.h[0, :, unit])
        np.testing.assert_array_equal(c_curve.yData, lt.c[0, :, unit])
    labels = [label.text for _, label in panel.legend.items]
    assert labels == ["unit 1", "3", "4"]  # compact: "unit" once
    assert panel.c_plot.isVisible()


def test_a_bad_unit_list_says_why_and_keeps_top_k(make_snapshot, show):
    panel = show(make_snapshot(cell="lstm", task="sine", hidden=8))
    panel.units_edit.setText("2, 99")
    panel.units_edit.editingFinished.emit()
    assert "0 to 7" in panel.message.text()
    assert len(panel.units) == 6
    with pytest.raises(ValueError, match="not a unit"):
        parse_units("x", 8)


def test_cells_without_cell_state_hide_the_c_plot(make_snapshot, show):
    panel = show(make_snapshot(cell="gru", task="sine"))
    assert not panel.c_plot.isVisible()
    assert panel.c_curves == []


def test_pca_points_are_the_projection_on_the_top_two_components(make_snapshot, show):
    snap = make_snapshot(cell="rnn", task="sine", hidden=12, seq_len=30)
    panel = show(snap)
    h = snap.trace.layer(0).h[0].astype(np.float64)
    x = h - h.mean(axis=0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    expected = x @ vt[:2].T  # (T, 2), each column up to sign
    signs = np.sign((panel.pca_points * expected).sum(axis=0))
    np.testing.assert_allclose(panel.pca_points, expected * signs, atol=1e-9)
    share = s[:2] ** 2 / (s**2).sum()
    assert panel.pca_plot.getAxis("bottom").labelText == f"PC1 ({share[0]:.0%} var)"
    np.testing.assert_array_equal(panel.pca_points_item.getData()[0], panel.pca_points[:, 0])


@pytest.mark.parametrize("bad", [(3, 7), (0, 20)])
def test_a_diverged_run_draws_the_path_of_its_finite_states_and_says_how_many_are_not(
    make_snapshot, show, bad
):
    """A run that diverged records NaN (or 1e38) states: the path is the PCA of the finite
    steps, the others are no point, and the title says how many. All-NaN points had made
    pyqtgraph warn "All-NaN slice" at every paint (the monkey, seed 45)."""
    snap = make_snapshot(cell="rnn", task="sine", hidden=12, seq_len=30)
    h = np.array(snap.trace.layer(0).h[0], dtype=np.float32)
    h[bad[0] : bad[1], :2], h[bad[0] : bad[1], 2:] = np.nan, np.inf
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        panel = show(with_h(snap, h))
        panel.grab()  # paints: the scatter's bounds
    assert not [str(w.message) for w in caught if w.category is RuntimeWarning]
    finite = np.isfinite(h).all(axis=1)
    x = h[finite].astype(np.float64) - h[finite].astype(np.float64).mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    expected = x @ vt[:2].T
    got = panel.pca_points[finite]
    np.testing.assert_allclose(np.abs(got), np.abs(expected), rtol=1e-9, atol=1e-6)
    assert np.isnan(panel.pca_points[~finite]).all()
    np.testing.assert_array_equal(panel.pca_points_item.getData()[0], got[:, 0])
    line_x = panel.pca_line.getData()[0]  # a gap where the states were lost, not a bridge
    assert np.isnan(line_x[bad[0] : bad[1]]).all() and len(line_x) == 30
    left_out = bad[1] - bad[0]
    assert f"{left_out} steps not finite" in panel.pca_plot.titleLabel.text
    first = int(np.flatnonzero(finite)[0])
    assert panel.start_label.isVisible() and f"= {first}" in panel.start_label.toPlainText()
    panel.cursor.set(bad[0])  # a step without a point: no marker
    assert len(panel.pca_marker.getData()[0]) == 0
    panel.cursor.set(29)
    assert tuple(panel.pca_marker.getData()[0]) == (panel.pca_points[29, 0],)


def test_a_state_near_the_float32_limit_is_on_the_path(make_snapshot, show):
    snap = make_snapshot(cell="rnn", task="sine", hidden=6, seq_len=12)
    h = np.array(snap.trace.layer(0).h[0], dtype=np.float32)
    h[-1] = 3e38  # finite: the float32 sum of its squares would overflow
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        panel = show(with_h(snap, h))
        panel.grab()
    assert not [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert np.isfinite(panel.pca_points).all()
    assert panel.pca_plot.titleLabel.text == "hidden-state path (PCA)"


def test_a_run_without_any_finite_state_draws_no_path(make_snapshot, show):
    snap = make_snapshot(cell="lstm", task="sine", hidden=6, seq_len=12)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        panel = show(with_h(snap, np.full((12, 6), np.nan, dtype=np.float32)))
        panel.grab()
    assert not [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert len(panel.pca_points_item.getData()[0]) == 0
    assert not panel.start_label.isVisible() and not panel.end_label.isVisible()
    assert "12 steps not finite" in panel.pca_plot.titleLabel.text


def test_cursor_moves_lines_and_pca_marker(make_snapshot, show):
    panel = show(make_snapshot(cell="lstm", task="sine", seq_len=20))
    panel.cursor.set(11)
    assert [line.value() for line in panel.cursor_lines] == [11, 11]
    x, y = panel.pca_marker.getData()
    assert (x[0], y[0]) == tuple(panel.pca_points[11])


def test_hover_names_the_unit_and_dragging_the_line_moves_the_cursor(make_snapshot, show):
    snap = make_snapshot(cell="lstm", task="sine", seq_len=20)
    panel = show(snap)
    panel.grab()  # paint once: plots lay out and auto-range as on screen
    h = snap.trace.layer(0).h[0]
    unit = panel.units[2]
    pos = panel.h_plot.vb.mapViewToScene(pg.Point(6, float(h[6, unit])))
    panel.view.scene().sigMouseMoved.emit(pos)
    assert panel.hover_label.text() == f"unit {unit}, t = 6:  h = {h[6, unit]:.4f}"
    x, y = panel.pca_points[13]
    panel.view.scene().sigMouseMoved.emit(panel.pca_plot.vb.mapViewToScene(pg.Point(x, y)))
    assert panel.hover_label.text().startswith("t = 13:")
    line = panel.cursor_lines[1]
    line.setValue(8.4)
    line.sigDragged.emit(line)
    assert panel.cursor.t == 8


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_narrow_panel_puts_the_path_below_the_curves_and_cuts_nothing_off(
    make_snapshot, show, cell
):
    panel = show(make_snapshot(cell=cell, task="sine", hidden=32))
    plots = [p for p in (panel.c_plot, panel.h_plot, panel.pca_plot) if p.scene() is not None]
    assert len(plots) == (3 if cell == "lstm" else 2)
    for size, below in (((330, 420), True), ((900, 550), False)):  # default layout; larger
        panel.resize(*size)
        QApplication.processEvents()  # the queued layout requests, as between two frames
        view = panel.view.mapToScene(panel.view.viewport().rect()).boundingRect()
        path, h = panel.pca_plot.sceneBoundingRect(), panel.h_plot.sceneBoundingRect()
        if below:
            assert path.top() >= h.bottom() - 1
        else:
            assert path.left() >= h.right() - 1
        legend = panel.legend.sceneBoundingRect()
        for plot in plots:
            box = plot.sceneBoundingRect()
            assert view.contains(box) and not legend.intersects(box)
            assert plot.titleLabel.item.boundingRect().width() <= plot.width()


@pytest.mark.parametrize("end_below", [0.0, 0.08, 0.15])
def test_path_labels_stay_apart_when_the_path_ends_near_where_it_began(
    make_snapshot, show, end_below
):
    """A sine's hidden state runs in a loop: "t = 0" and "t = T-1" must not print over each
    other, nor under the cursor's marker at either end, nor out of the plot, wherever near
    the start the path ends."""
    panel = show(make_snapshot(cell="gru", task="sine", hidden=8))
    theta = np.linspace(0, 1.9 * np.pi, 40)
    points = np.stack([np.sin(theta), np.cos(theta)], axis=1)  # starts at the top
    points[-1] = points[0] - [0.05, end_below * 2]  # a little left of the start and below
    panel.pca_points = points
    panel.pca_ranger.fit(xs=[points[:, 0]], ys=[points[:, 1]])
    panel.end_label.setText("t = 39")
    panel._place_path_labels()
    panel.show_time(0)
    panel.grab()  # lay out and paint as on screen
    start, end = panel.start_label.sceneBoundingRect(), panel.end_label.sceneBoundingRect()
    assert not start.intersects(end)
    c = panel.pca_marker.sceneBoundingRect().center()
    r = panel.pca_marker.opts["size"] / 2 + 1  # the disc as drawn, with its outline
    assert not start.intersects(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r))
    assert not end.intersects(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r))
    box = panel.pca_plot.vb.sceneBoundingRect()
    assert box.contains(start) and box.contains(end)  # not cut off by the plot's frame


@pytest.mark.parametrize("font_pt", [11, 16])  # 16: presentation mode's larger fonts
def test_a_small_dock_draws_the_curves_smaller_not_flat(make_snapshot, show_panel, font_pt):
    """At 1280x720 the attention_aligns preset gives this panel ~455 x 300: the c and h plots
    collapsed to a bare axis line under a two-row legend, no curve visible."""
    snap = make_snapshot(cell="lstm", task="tagging", hidden=32)
    theme.apply(font_pt / 11)  # after the fixture's own theme.apply()
    try:
        panel = show_panel(StateTrajectoriesPanel, snap, size=(455, 300))
        QApplication.processEvents()  # the queued layout requests, as between two frames
        panel.grab()
        view = panel.view
        scale = view.viewport().height() / view.range.height()  # screen px per scene unit
        for plot in (panel.c_plot, panel.h_plot):
            assert plot.vb.height() * scale >= 25  # data drawn on screen, if smaller
        legend = panel.legend.sceneBoundingRect()
        shown = view.mapToScene(view.viewport().rect()).boundingRect()
        for plot in (panel.c_plot, panel.h_plot, panel.pca_plot):
            assert not legend.intersects(plot.sceneBoundingRect())
            assert shown.contains(plot.sceneBoundingRect())
    finally:
        theme.apply()
