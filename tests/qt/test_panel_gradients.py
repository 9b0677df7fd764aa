"""Gradient norms panel: the curves hold the trace's numbers, log axes survive zeros and NaN,
clipping is drawn where it happened, and the panel exports."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QApplication

from rnnviz.qt.panels.core.gradients import GradientNormsPanel
from rnnviz.qt.plotkit import LogAxis, positive_or_nan


@pytest.fixture
def show(show_panel):
    """show(snapshot) -> a laid-out GradientNormsPanel drawing `snapshot`."""
    return lambda snapshot: show_panel(GradientNormsPanel, snapshot, size=(900, 500))


def test_curves_are_the_trace_norms_on_log_axes(make_snapshot, show):
    snap = make_snapshot(cell="lstm", task="adding", seq_len=30)
    panel = show(snap)
    lt = snap.trace.layer(0)
    np.testing.assert_allclose(
        panel.grad_curve.yData, np.linalg.norm(lt.grad_h[0], axis=-1), rtol=1e-5
    )
    np.testing.assert_allclose(panel.jacobian_curve.yData, lt.jacobian_norm[0], rtol=1e-6)
    np.testing.assert_array_equal(panel.grad_curve.xData, np.arange(30))
    for plot in (panel.grad_plot, panel.jacobian_plot, panel.history_plot):
        assert plot.getAxis("left").logMode


def test_readout_follows_the_cursor_and_states_the_vanishing_ratio(make_snapshot, show):
    snap = make_snapshot(cell="rnn", task="sine", seq_len=25)
    panel = show(snap)
    g = np.linalg.norm(snap.trace.layer(0).grad_h[0].astype(np.float64), axis=-1)
    panel.cursor.set(7)
    assert all(line.value() == 7 for line in panel.cursor_lines)
    text = panel.readout.text()
    assert "t = 7" in text
    ratio = g[0] / g[-1]
    mantissa = f"{ratio:.2e}".split("e")[0] if not 1e-3 <= ratio < 1e4 else f"{ratio:.3g}"
    assert mantissa in text


def test_reverse_direction_shows_its_own_gradients(make_snapshot, show):
    snap = make_snapshot(cell="gru", task="tagging", seq_len=15, bidirectional=True)
    panel = show(snap)
    assert panel.layer_combo.count() == 2
    panel.layer_combo.setCurrentIndex(1)
    lt, n = snap.trace.layer(0, reverse=True), int(snap.trace.input_mask[0].sum())
    np.testing.assert_allclose(
        panel.grad_curve.yData, np.linalg.norm(lt.grad_h[0, :n], axis=-1), rtol=1e-5
    )
    assert "∂L/∂h<sub>T−1</sub>‖ / ‖∂L/∂h<sub>0</sub>" in panel.readout.text()


def test_zeros_and_nan_become_gaps(make_snapshot, show):
    np.testing.assert_array_equal(
        positive_or_nan(np.array([0.0, 2.0, np.nan, -1.0, np.inf])),
        [np.nan, 2.0, np.nan, np.nan, np.nan],
    )
    snap = make_snapshot(cell="rnn", task="sine", seq_len=10)
    lt = snap.trace.layers[0]
    grad_h = np.array(lt.grad_h)
    grad_h[0, :3] = 0.0
    lt = dataclasses.replace(
        lt, grad_h=grad_h, jacobian_norm=np.full(lt.jacobian_norm.shape, np.nan)
    )
    snap = dataclasses.replace(snap, trace=dataclasses.replace(snap.trace, layers=(lt,)))
    panel = show(snap)
    assert np.isnan(panel.grad_curve.yData[:3]).all()
    assert np.isfinite(panel.grad_curve.yData[3:]).all()
    assert "not recorded" in panel.jacobian_plot.titleLabel.text


def test_norm_clipping_draws_threshold_and_every_clipped_step(make_snapshot, show):
    snap = make_snapshot(steps=6, task="sine", clip="norm", clip_threshold=1e-3)
    panel = show(snap)
    h = snap.history
    assert h.clipped.all()
    np.testing.assert_array_equal(panel.clip_markers.xData, h.step)
    np.testing.assert_allclose(panel.clip_markers.yData, h.grad_norm)
    np.testing.assert_allclose(panel.norm_curve.yData, h.grad_norm)
    np.testing.assert_allclose(panel.clipped_curve.yData, h.grad_norm_clipped)
    assert panel.threshold_line.isVisible()
    assert 10 ** panel.threshold_line.value() == pytest.approx(1e-3)  # log10 coordinates
    assert "clipped 100% of steps" in panel.history_plot.titleLabel.text


def test_no_clipping_draws_no_threshold(make_snapshot, show):
    snap = make_snapshot(steps=4, task="sine", clip="none")
    panel = show(snap)
    assert not panel.threshold_line.isVisible()
    assert panel.clip_markers.xData is None or len(panel.clip_markers.xData) == 0
    assert "no clipping" in panel.history_plot.titleLabel.text


def test_value_clipping_is_labelled_per_element(make_snapshot, show):
    panel = show(make_snapshot(steps=3, task="sine", clip="value", clip_threshold=0.01))
    assert not panel.threshold_line.isVisible()  # a per-element bound is not a norm
    assert "per-element" in panel.history_plot.titleLabel.text


def test_hover_reads_out_the_value_under_the_mouse(make_snapshot, show):
    snap = make_snapshot(task="sine", seq_len=12)
    panel = show(snap)
    panel.grab()  # paint once: plots lay out and auto-range as on screen
    g = np.linalg.norm(snap.trace.layer(0).grad_h[0].astype(np.float64), axis=-1)
    pos = panel.grad_plot.vb.mapViewToScene(pg.Point(4.2, np.log10(g[4])))
    panel.view.scene().sigMouseMoved.emit(pos)
    assert panel.hover_label.text() == f"t = 4:  ‖∂L/∂h_t‖ = {g[4]:.4g}"


def test_log_axis_labels_round_values_within_a_decade_and_1_2_5_across(qtbot):
    axis = LogAxis("left")
    axis.setLogMode(y=True)

    def labels(lo: float, hi: float) -> list[str]:
        axis.setRange(np.log10(lo), np.log10(hi))
        levels = axis.tickValues(*axis.range, 300)
        return [s for sp, vs in levels for s in axis.tickStrings(vs, 1.0, sp) if s]

    assert labels(0.15, 0.55) == ["0.2", "0.3", "0.4", "0.5"]
    wide = labels(0.0011, 0.9)
    assert {"0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5"} <= set(wide)
    assert not {"0.003", "0.04", "0.09"} & set(wide)


def test_fits_its_default_dock_with_readout_and_titles_inside(make_snapshot, show, qtbot):
    panel = show(make_snapshot(cell="lstm", task="sine", clip="norm", clip_threshold=0.05))
    panel.resize(530, 420)  # its size in the default layout
    assert panel.minimumSizeHint().width() <= 530  # the readout wraps instead of widening it
    title = panel.history_plot.titleLabel  # long: it wraps, and its row grows to hold it
    qtbot.waitUntil(lambda: title.height() == title.item.boundingRect().height())
    assert title.height() > 1.5 * panel.grad_plot.titleLabel.height()
    panel.grab()
    assert panel.width() == 530
    view = panel.view.mapToScene(panel.view.viewport().rect()).boundingRect()
    for plot in (panel.grad_plot, panel.jacobian_plot, panel.history_plot):
        assert view.contains(plot.sceneBoundingRect())
        assert plot.titleLabel.item.boundingRect().width() <= plot.width()


def test_plots_stay_put_while_the_cursor_moves(make_snapshot, show):
    snap = make_snapshot(cell="rnn", task="sine", seq_len=40)
    panel = show(snap)
    panel.resize(480, 420)  # the values at t fit on one line for some t, need two for others
    tops = []
    for t in range(snap.trace.T):
        panel.cursor.set(t)
        QApplication.processEvents()
        tops.append(panel.view.y())
    assert tops == sorted(tops)  # the readout may take one more line, never give one back
    assert len(set(tops)) <= 2


def test_all_zero_norms_are_named_not_left_as_an_empty_plot(make_snapshot, show):
    """Saturated tanh units make every one-step Jacobian 0 (a diverged run): a log axis cannot
    draw that, so the title says it."""
    snap = make_snapshot(cell="rnn", task="sine", seq_len=12)
    lt = snap.trace.layer(0)
    jac = np.zeros_like(lt.jacobian_norm)
    jac[:, -1] = 1.0  # ∂h_T/∂h_T = I: one point, which a line does not draw
    lt = dataclasses.replace(lt, jacobian_norm=jac)
    panel = show(dataclasses.replace(snap, trace=dataclasses.replace(snap.trace, layers=(lt,))))
    assert "= 0 except at t = 11" in panel.jacobian_plot.titleLabel.text
    assert "= 0" not in panel.grad_plot.titleLabel.text  # it has real values


def test_jacobians_left_out_by_the_recording_budget_say_why(make_snapshot, show):
    snap = make_snapshot(hidden=256, seq_len=200, batch=2, steps=0)  # n·T·H³ = 1.3e10
    panel = show(snap)
    title = panel.jacobian_plot.titleLabel.text
    assert "skipped: H = 256, T = 200" in title and "recording budget" in title
