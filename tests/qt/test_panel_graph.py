"""The unrolled graph draws a window of timesteps around t, coloured by ‖h_t‖ or log ‖∂L/∂h_t‖."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QFontMetricsF
from PySide6.QtWidgets import QApplication

from rnnviz.qt import theme
from rnnviz.qt.panels.core.graph import UnrolledGraphPanel, fmt
from rnnviz.qt.presentation import LINE_SCALE, SCALE, STRONG, Restyle


@pytest.fixture
def show(show_panel):
    return lambda snapshot, t=0: show_panel(UnrolledGraphPanel, snapshot, size=(900, 500), t=t)


@pytest.fixture(scope="module")
def rnn200():
    """A 200-step Elman RNN snapshot, built once: the window tests only read it."""
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer

    trainer = Trainer(Config(cell="rnn", hidden=8, seq_len=200, batch=8, device="cpu"))
    trainer.train_step()
    return trainer.snapshot(state="paused", trace=trainer.record(), steps_per_s=0.0)


def lut_colour(value: float, lo: float, hi: float, name: str) -> QColor:
    lut = theme.cmap(name).getLookupTable(0.0, 1.0, 256, alpha=False)
    return QColor(*(int(c) for c in lut[int(np.clip((value - lo) / (hi - lo) * 255, 0, 255))]))


def node_text(panel, r, c) -> str:
    return panel.labels[r, c].textItem.toPlainText().split()[-1]


def test_draws_only_the_window_coloured_by_the_norm_of_h(rnn200, show):
    panel = show(rnn200, t=100)
    assert [row.kind for row in panel.rows] == ["x", "h", "y"]
    assert panel.columns == 9
    assert panel.window == range(96, 105)
    assert len(panel.nodes) == 3 * 9  # a window, not 200 columns
    norms = np.linalg.norm(rnn200.trace.layer(0).h[0], axis=-1)  # (T,)
    for c, t in enumerate(panel.window):
        assert node_text(panel, 1, c) == fmt(norms[t], False)
        expected = lut_colour(norms[t], 0.0, norms.max(), theme.SEQUENTIAL)
        assert panel.nodes[1, c].brush().color() == expected
    assert panel.colorbar.levels() == pytest.approx((0.0, norms.max()))


def test_backward_view_colours_nodes_and_edges_by_log_gradient(rnn200, show):
    panel = show(rnn200, t=100)
    panel.view_combo.setCurrentIndex(1)
    g = np.linalg.norm(rnn200.trace.layer(0).grad_h[0], axis=-1)  # (T,)
    lo, hi = np.log10(g[g > 0].min()), np.log10(g.max())
    assert panel.levels == pytest.approx((lo, hi))  # the whole sequence, not the window
    for c, t in enumerate(panel.window):
        assert node_text(panel, 1, c) == fmt(g[t], True)
        assert panel.nodes[1, c].brush().color() == lut_colour(
            np.log10(g[t]), lo, hi, theme.SEQUENTIAL
        )
    recurrent = [(slot, line) for r, slot, angle, line, _ in panel.edges if angle == 180]
    assert len(recurrent) == 10  # 8 between the columns, 2 entering and leaving the window
    for slot, line in recurrent:  # an edge takes the colour of the gradient it carries back
        t = panel.window.start + slot
        assert line.pen().color() == lut_colour(np.log10(g[t]), lo, hi, theme.SEQUENTIAL)


def test_window_follows_the_cursor(rnn200, show):
    panel = show(rnn200, t=0)
    assert panel.window == range(0, 9)
    assert panel.highlight.rect().center().x() == 0
    panel.cursor.set(199)
    assert panel.window == range(191, 200)
    assert panel.highlight.rect().center().x() == 8
    panel.cursor.set(50)
    assert panel.window == range(46, 55)
    assert panel.highlight.rect().center().x() == 4
    ticks = panel.plot.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == [f"t={t}" for t in range(46, 55)]


def test_short_sequence_draws_every_step(make_snapshot, show):
    panel = show(make_snapshot(cell="gru", seq_len=5), t=4)
    assert panel.window == range(0, 5)
    assert len(panel.nodes) == 3 * 5


def test_bidirectional_stacked_lstm_rows(make_snapshot, show):
    snap = make_snapshot(cell="lstm", task="adding", layers=2, bidirectional=True, seq_len=30)
    panel = show(snap, t=10)
    kinds = [row.kind for row in panel.rows]
    assert kinds.count("h") == 4 and kinds.count("c") == 4
    assert kinds[0] == "x" and kinds[-1] == "y"
    assert [row.label for row in panel.rows if row.kind == "h"] == ["h⁰ →", "h⁰ ←", "h¹ →", "h¹ ←"]
    assert len(panel.nodes) == 10 * panel.columns
    reverse_rows = {r for r, row in enumerate(panel.rows) if row.reverse}
    for r, _, angle, _, _ in panel.edges:  # reverse rows point left (angle 0), others right
        if angle != 90:
            assert angle == (0 if r in reverse_rows else 180)
    # c rows show ‖c_t‖ on the same colour scale as h
    r_c = kinds.index("c")
    c_norm = np.linalg.norm(snap.trace.layer(0).c[0], axis=-1)
    np.testing.assert_allclose(panel.values[r_c], c_norm, rtol=1e-6)
    assert node_text(panel, r_c, 10 - panel.window.start) == fmt(c_norm[10], False)


def test_unit_view_shows_one_unit_on_a_symmetric_scale(make_snapshot, show):
    snap = make_snapshot(cell="rnn", seq_len=20)
    panel = show(snap, t=7)
    panel.unit_spin.setValue(3)
    h3 = snap.trace.layer(0).h[0, :, 3]
    np.testing.assert_array_equal(panel.values[1], h3)
    m = np.abs(h3).max()
    assert panel.levels == pytest.approx((-m, m))
    assert node_text(panel, 1, 7 - panel.window.start) == fmt(h3[7], False)


def test_hover_names_the_node_and_its_values(make_snapshot, show):
    snap = make_snapshot(cell="lstm", seq_len=20)
    panel = show(snap, t=12)
    r = [row.kind for row in panel.rows].index("h")
    c = 12 - panel.window.start
    pos = panel.plot.getViewBox().mapViewToScene(QPointF(c, r))
    panel.graphics.scene().sigMouseMoved.emit(pos)
    text = panel.hover_label.text()
    lt = snap.trace.layer(0)
    assert text.startswith("h at t=12")
    assert f"{np.linalg.norm(lt.h[0, 12]):.4g}" in text
    assert f"{np.linalg.norm(lt.grad_h[0, 12]):.3e}" in text


def test_narrow_panel_draws_fewer_columns_and_weight_labels_follow_t(rnn200, show, qtbot):
    panel = show(rnn200, t=0)
    w_hh = next(w for r, (w, _, step) in panel.weight_labels.items() if step)
    assert not w_hh.isVisible()  # no edge h_{-1} → h_0 to name
    panel.cursor.set(120)
    assert w_hh.isVisible() and w_hh.pos().x() == pytest.approx(panel.window.index(120) - 0.5)
    panel.resize(700, 350)
    qtbot.waitUntil(lambda: panel.columns == 5)
    assert panel.window == range(118, 123)
    assert len(panel.nodes) == 3 * 5


def test_a_new_model_with_fewer_units_and_steps(make_snapshot, show):
    panel = show(make_snapshot(cell="lstm", hidden=12, seq_len=30), t=20)
    panel.unit_spin.setValue(11)
    snap = make_snapshot(cell="rnn", hidden=4, seq_len=10)
    panel.cursor.set_length(10)
    panel.set_snapshot(snap)
    assert panel.refresh()
    assert panel.unit_spin.value() == 3  # clamped to the new H
    np.testing.assert_array_equal(panel.values[1], snap.trace.layer(0).h[0, :, 3])
    assert panel.window == range(1, 10)


def test_colour_bar_labels_small_values_as_they_are(make_snapshot, show):
    snap = make_snapshot(cell="lstm", seq_len=12)
    lt = snap.trace.layers[0]
    small = dataclasses.replace(lt, h=lt.h * 1e-3, c=lt.c * 1e-3)  # ‖h‖ of a few thousandths
    panel = show(dataclasses.replace(snap, trace=dataclasses.replace(snap.trace, layers=(small,))))
    axis = panel.colorbar.axis
    assert panel.levels[1] < 0.01
    panel.grab()
    assert "(x" not in axis.labelString()  # no "(x0.001)" beside "‖hₜ‖, ‖cₜ‖"
    values = [v for _, vs in axis.tickValues(*axis.range, 300) for v in vs]
    labels = axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, values[1] - values[0])
    assert all(float(s) < 0.01 for s in labels)


def test_deep_stack_nodes_are_tall_enough_for_their_values(make_snapshot, show):
    snap = make_snapshot(cell="lstm", task="tagging", layers=2, bidirectional=True, seq_len=30)
    panel = show(snap, t=10)
    panel.resize(790, 330)  # its size in the default layout: 10 rows in ~250 px
    QApplication.processEvents()  # the queued layout requests, as between two frames
    line = QFontMetricsF(panel.font).height()
    for node in panel.nodes.values():
        assert node.mapRectToScene(node.rect()).height() >= line  # (its pen is cosmetic)


def test_backward_view_shows_gradients_too_small_for_float32_squares(make_snapshot, show):
    """A vanishing gradient of 1e-25 squares to 1e-50, below the smallest float32: its norm
    must still be shown as it is, not as 0."""
    snap = make_snapshot(steps=0, cell="rnn", task="adding", seq_len=60, spectral_radius=0.5)
    grad = snap.trace.layer(0).grad_h[0]  # (T, H) float32
    true = np.linalg.norm(grad.astype(np.float64), axis=-1)
    assert np.linalg.norm(grad[0]) == 0 < true[0]  # the trap: float32 says 0
    panel = show(snap, t=0)
    panel.view_combo.setCurrentIndex(1)
    r = [row.kind for row in panel.rows].index("h")
    assert panel.values[r][0] == pytest.approx(true[0], rel=1e-6)
    assert node_text(panel, r, 0) == fmt(true[0], True)
    assert panel.levels[0] == pytest.approx(np.log10(true[true > 0].min()))


@pytest.mark.parametrize("size", [(420, 300), (760, 420), (960, 420)])
@pytest.mark.parametrize("view", [0, 1])  # values and gradients: "−8.8e-5" is the widest
def test_node_values_stay_inside_their_nodes_in_presentation_mode(
    make_snapshot, show_panel, size, view
):
    panel = show_panel(UnrolledGraphPanel, make_snapshot(cell="lstm"), t=10)
    panel.view_combo.setCurrentIndex(view)
    Restyle(SCALE, LINE_SCALE, STRONG).widget(panel)  # as entering presentation mode does
    theme.apply(SCALE, lines=LINE_SCALE)
    try:
        panel.resize(*size)  # full screen: the panel's dock takes a new size
        QApplication.processEvents()  # the queued rebuild, as before the next frame
        panel.grab()
        for key, label in panel.labels.items():
            node = panel.nodes[key].mapRectToScene(panel.nodes[key].rect()).adjusted(-1, -1, 1, 1)
            assert node.contains(label.mapRectToScene(label.boundingRect())), key
    finally:
        theme.apply()


def test_a_later_recording_relabels_the_nodes_and_a_unit_recolours_them(make_snapshot, show):
    """Node texts and colour tables are set only when they change: a later recording still
    shows its own values, a picked unit its diverging colours, and back."""
    first, later = make_snapshot(cell="rnn", seq_len=12), make_snapshot(cell="rnn", steps=40)
    panel = show(first, t=5)
    panel.set_snapshot(later)
    assert panel.refresh()
    norms = np.linalg.norm(later.trace.layer(0).h[0], axis=-1)  # (T,)
    assert [node_text(panel, 1, c) for c in range(len(panel.window))] == [
        fmt(norms[t], False) for t in panel.window
    ]
    t0 = panel.window.start
    panel.unit_spin.setValue(2)
    h = later.trace.layer(0).h[0, :, 2]
    m = float(np.abs(h).max())
    assert panel.nodes[1, 0].brush().color() == lut_colour(h[t0], -m, m, theme.DIVERGING)
    panel.unit_spin.setValue(-1)
    expected = lut_colour(norms[t0], 0.0, norms.max(), theme.SEQUENTIAL)
    assert panel.nodes[1, 0].brush().color() == expected


@pytest.mark.parametrize("unit", [-1, 3])
def test_a_run_whose_states_are_all_nan_draws_grey_nodes_on_default_levels(
    make_snapshot, show, unit
):
    """A diverged run's h is NaN at every step: no finite value to span, and the levels
    must still be numbers (the maximum of nothing had raised)."""
    snap = make_snapshot(cell="rnn", seq_len=20)
    lt = snap.trace.layer(0)
    layer = dataclasses.replace(lt, h=np.full_like(lt.h, np.nan))
    snap = dataclasses.replace(snap, trace=dataclasses.replace(snap.trace, layers=(layer,)))
    panel = show(snap, t=4)
    panel.unit_spin.setValue(unit)
    assert np.isnan(panel.values[1]).all()
    assert np.isfinite(panel.levels).all() and panel.levels[1] > panel.levels[0]
    assert node_text(panel, 1, 4 - panel.window.start) == "–"  # no value
