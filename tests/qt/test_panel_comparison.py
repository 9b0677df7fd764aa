"""Side-by-side panel: one colour per run, the curves hold each run's numbers, a diverged run
says so, a single run is shown the same way with a hint, and the panel exports."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor

from rnnviz.qt import theme
from rnnviz.qt.panels.lab.comparison import HINT, ComparisonPanel


@pytest.fixture
def show(show_panel):
    """show(snapshot) -> a laid-out ComparisonPanel drawing `snapshot`."""
    return lambda snapshot: show_panel(ComparisonPanel, snapshot)


def norms(trace) -> np.ndarray:
    return np.linalg.norm(trace.layer(0).grad_h[0].astype(np.float64), axis=-1)


def legend_labels(panel) -> list[str]:
    return [label.text for _, label in panel.legend.items]


def with_run(snapshot, k: int, **changes):
    runs = list(snapshot.runs)
    runs[k] = dataclasses.replace(runs[k], **changes)
    return dataclasses.replace(snapshot, runs=tuple(runs))


def test_each_runs_norms_and_losses_overlaid_on_log_axes(side_by_side, show):
    panel = show(side_by_side)
    runs = side_by_side.runs
    assert [r.label for r in runs] == ["RNN (tanh)", "LSTM", "GRU"]
    assert len(panel.grad_curves) == len(panel.loss_curves) == 3
    for run, grad, loss in zip(runs, panel.grad_curves, panel.loss_curves, strict=True):
        np.testing.assert_allclose(grad.yData, norms(run.trace), rtol=1e-6)
        np.testing.assert_array_equal(grad.xData, np.arange(run.trace.T))
        np.testing.assert_array_equal(loss.xData, run.history.step)
        np.testing.assert_allclose(loss.yData, run.history.loss)
    for plot in (panel.grad_plot, panel.loss_plot):
        assert plot.getAxis("left").logMode
    assert not panel.hint.isVisible()


def test_one_colour_per_run_and_a_legend_with_the_labels(side_by_side, show):
    panel = show(side_by_side)
    assert legend_labels(panel) == ["RNN (tanh)", "LSTM", "GRU"]
    for i, curves in enumerate(zip(panel.grad_curves, panel.mean_curves, strict=True)):
        for curve in curves:
            assert curve.opts["pen"].color() == QColor(theme.SERIES[i])


def test_a_diverged_run_is_marked_in_the_legend_and_on_the_loss(side_by_side, show):
    snap = with_run(side_by_side, 1, diverged=True)
    panel = show(snap)
    lstm = snap.runs[1]
    assert "LSTM — diverged at step 6" in legend_labels(panel)[1]  # 5 steps applied, the 6th failed
    assert legend_labels(panel)[0] == "RNN (tanh)"
    marker = panel.end_markers[1]
    assert list(marker.xData) == [lstm.history.step[-1]]
    assert panel.end_markers[0].xData is None or len(panel.end_markers[0].xData) == 0


def test_runs_of_different_lengths_with_nan_inf_and_zero(side_by_side, show):
    run = side_by_side.runs[0]
    lt = run.trace.layer(0)
    grad_h = np.array(lt.grad_h[:, :12])  # a shorter sequence
    grad_h[0, :2] = 0.0
    grad_h[0, 5] = np.nan
    trace = dataclasses.replace(run.trace, layers=(dataclasses.replace(lt, grad_h=grad_h),))
    h = run.history
    loss = np.array(h.loss[:3])
    loss[1] = np.inf
    history = dataclasses.replace(
        h, step=h.step[:3], loss=loss, grad_norm=h.grad_norm[:3],
        grad_norm_clipped=h.grad_norm_clipped[:3], clipped=h.clipped[:3],
    )  # fmt: skip
    panel = show(with_run(side_by_side, 0, trace=trace, history=history))
    y = panel.grad_curves[0].yData
    assert len(y) == 12 and len(panel.grad_curves[1].yData) == side_by_side.runs[1].trace.T
    assert np.isnan(y[[0, 1, 5]]).all() and np.isfinite(np.delete(y, [0, 1, 5])).all()
    assert np.isnan(panel.loss_curves[0].yData[1])
    panel.cursor.set(15)  # past the short run's end: its value at its last t
    assert "t = 15" in panel.readout.text()
    panel.grab()  # paints without a Qt warning


def test_single_run_is_shown_the_same_way_with_a_hint(make_snapshot, show):
    snap = make_snapshot(cell="gru", task="sine", seq_len=15)
    panel = show(snap)
    assert panel.hint.isVisible() and panel.hint.text() == HINT
    assert legend_labels(panel) == ["this run (gru)"]
    np.testing.assert_allclose(panel.grad_curves[0].yData, norms(snap.trace), rtol=1e-6)
    np.testing.assert_array_equal(panel.loss_curves[0].xData, snap.history.step)


def test_a_diverged_single_run_says_so(make_snapshot, show):
    snap = dataclasses.replace(make_snapshot(steps=3, task="sine"), state="diverged")
    panel = show(snap)
    assert legend_labels(panel) == ["<b>this run (lstm) — diverged at step 4</b>"]


def test_no_trace_yet(make_snapshot, show):
    panel = show(dataclasses.replace(make_snapshot(steps=2, task="sine"), trace=None))
    assert "no recording yet" in panel.readout.text()
    y = panel.grad_curves[0].yData
    assert y is None or len(y) == 0
    assert len(panel.loss_curves[0].yData) == 2


def test_chance_line_at_the_chance_loss(side_by_side, show):
    panel = show(side_by_side)
    assert side_by_side.chance_loss is not None
    assert panel.chance_line.isVisible()
    assert 10 ** panel.chance_line.value() == pytest.approx(side_by_side.chance_loss)
    panel.set_snapshot(dataclasses.replace(side_by_side, chance_loss=None))
    panel.refresh(force=True)
    assert not panel.chance_line.isVisible()


def test_cursor_line_and_readout_follow_t(side_by_side, show):
    panel = show(side_by_side)
    panel.cursor.set(7)
    assert panel.cursor_line.value() == 7
    text = panel.readout.text()
    assert "t = 7" in text
    for run in side_by_side.runs:
        assert run.label in text
    panel.cursor_line.setValue(3)
    panel.cursor_line.sigDragged.emit(panel.cursor_line)
    assert panel.cursor.t == 3


def test_new_runs_rebuild_the_curves(side_by_side, make_snapshot, show):
    panel = show(side_by_side)
    panel.set_snapshot(make_snapshot(steps=2, task="sine"))
    panel.refresh(force=True)
    assert len(panel.grad_curves) == 1
    assert len(panel.grad_plot.listDataItems()) == 1
    assert len(panel.loss_plot.listDataItems()) == 3  # per step, mean, divergence mark


def test_hover_reads_out_every_run(side_by_side, show):
    panel = show(side_by_side)
    panel.grab()  # paint once: plots lay out and auto-range as on screen
    values = [norms(r.trace) for r in side_by_side.runs]
    pos = panel.grad_plot.vb.mapViewToScene(pg.Point(4.2, np.log10(values[0][4])))
    panel.view.scene().sigMouseMoved.emit(pos)
    text = panel.hover_label.text()
    assert text.startswith("t = 4:")
    for run, v in zip(side_by_side.runs, values, strict=True):
        assert f"{run.label} {v[4]:.4g}" in text
    h = side_by_side.runs[2].history
    pos = panel.loss_plot.vb.mapViewToScene(pg.Point(3.1, np.log10(h.loss[2])))
    panel.view.scene().sigMouseMoved.emit(pos)
    assert f"GRU {h.loss[2]:.4g} (step 3)" in panel.hover_label.text()


def test_the_legend_wraps_in_a_narrow_panel_instead_of_running_off_its_edge(
    show_panel, side_by_side
):
    panel = show_panel(ComparisonPanel, side_by_side, size=(900, 500))
    assert panel.legend.columnCount == 3  # room for one row
    panel.resize(330, 500)
    panel.grab()
    assert panel.legend.columnCount < 3
    view = panel.view.mapFromScene(panel.legend.sceneBoundingRect()).boundingRect()
    assert panel.view.rect().adjusted(-1, -1, 1, 1).contains(view)


def test_a_diverged_run_whose_last_loss_is_not_finite_gets_no_cross(side_by_side, show):
    """A cross at a NaN loss is no place on a log axis (and a NaN scatter point makes pyqtgraph
    warn): no cross then; a finite last loss keeps its cross."""
    lstm = side_by_side.runs[1]
    loss = np.array(lstm.history.loss, dtype=np.float64)
    loss[-1] = np.nan
    history = dataclasses.replace(lstm.history, loss=loss)
    panel = show(with_run(side_by_side, 1, diverged=True, history=history))
    x, _ = panel.end_markers[1].getData()
    assert x is None or len(x) == 0
