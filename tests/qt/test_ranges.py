"""Stable plot ranges: the data is always in view, the view moves only when it must, a user's
zoom holds until they click "A", and live titles still grow and shrink with their lines."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from rnnviz.qt.panels.core.gradients import GradientNormsPanel
from rnnviz.qt.panels.core.states import StateTrajectoriesPanel
from rnnviz.qt.panels.core.training import TrainingPanel
from rnnviz.qt.panels.lab.comparison import ComparisonPanel
from rnnviz.qt.panels.lab.factors import GradientFactorsPanel
from rnnviz.qt.panels.lab.spectrum import SpectrumPanel
from rnnviz.qt.plotkit import wrap_title
from rnnviz.qt.ranges import Ranger, StableRange, nice_bounds


@pytest.mark.parametrize(
    "lo, hi", [(0.0, 1.0), (-0.93, 0.41), (3.2, 3.2), (1e-6, 7e-6), (120.0, 9870.0), (-5, -4.9)]
)
def test_nice_bounds_hold_the_data_and_end_on_round_ticks(lo, hi):
    a, b = nice_bounds(lo, hi)
    assert a < lo and hi < b  # with some room: a curve is not drawn on the frame
    span = max(hi - lo, 1e-12)
    assert b - a < 3 * span or hi == lo  # and not much more than the data
    q = 10 ** math.floor(math.log10((b - a) / 20))  # round numbers at the data's scale
    assert all(abs(v / q - round(v / q)) < 1e-6 for v in (a, b))


def test_log_bounds_end_on_half_decades():
    lo, hi = math.log10(3e-25), math.log10(0.7)
    a, b = nice_bounds(lo, hi, log=True)
    assert (a, b) == (-25.5, 1.0)
    assert min(lo - a, b - hi) > 0.02 * (b - a)  # the curve's ends are clear of the frame
    a, b = nice_bounds(math.log10(2.1), math.log10(2.6), log=True)  # within a decade: tenths
    assert a <= math.log10(2.1) and b >= math.log10(2.6) and b - a <= 0.3


def test_stable_range_moves_only_when_it_must():
    r = StableRange()
    assert r.fit(0.0, 1.0)
    first = r.range
    assert not r.fit(0.05, 0.98)  # a new recording, a little different: the axes stay
    assert r.range == first
    assert r.fit(0.0, 1.5)  # the data leaves the range
    assert r.range[1] >= 1.5
    assert r.fit(0.0, 0.2)  # the data fills too little of it: shrink to fit
    assert r.range[1] < 0.5
    assert not r.fit(math.nan, math.nan) and r.range[1] < 0.5  # no data: keep the view


def test_headroom_lets_a_growing_range_hold_for_many_steps():
    r = StableRange(headroom=0.25)
    moves = sum(r.fit(1, step) for step in range(2, 2001))
    assert moves < 40  # not one move per step (2000)
    assert r.range[0] <= 1 and r.range[1] >= 2000


def test_settled_data_is_fitted_closely_from_the_floor():
    r = StableRange(headroom=0.25, floor=0.0)
    for step in range(1, 201):
        r.fit(1, step)  # training: room to grow
    assert r.range[1] > 1.2 * 200
    assert r.range[0] == 0.0  # not before step 0, though the padding would reach there
    assert r.fit(1, 200, settled=True)  # paused: the picture to look at, or to export
    lo, hi = r.range
    assert lo == 0.0 and 200 < hi <= 1.1 * 200
    assert not r.fit(1, 200, settled=True)  # and it stays


@pytest.fixture
def plot(qtbot):
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    view.resize(500, 400)
    plot = view.addPlot()
    view.show()
    QApplication.processEvents()
    return view, plot


def _in_view(plot, xs, ys) -> bool:
    (x0, x1), (y0, y1) = plot.viewRange()
    return x0 <= np.min(xs) and np.max(xs) <= x1 and y0 <= np.min(ys) and np.max(ys) <= y1


def test_ranger_shows_the_data_and_holds_still_for_small_changes(plot):
    _, p = plot
    ranger = Ranger(p)
    x = np.arange(50)
    y = np.sin(x / 5)
    curve = p.plot(x, y)
    ranger.fit(xs=[x], ys=[y])
    assert _in_view(p, x, y)
    before = p.viewRange()
    curve.setData(x, 0.97 * y)
    ranger.fit(xs=[x], ys=[0.97 * y])
    assert p.viewRange() == before
    assert p.vb.autoRangeEnabled() == [False, False]


def test_ranger_on_a_log_axis_shows_decades(plot):
    _, p = plot
    p.setLogMode(y=True)
    ranger = Ranger(p)
    y = np.logspace(-25, 0, 30)
    ranger.fit(ys=[y, [0.0, np.nan]], x=(-0.5, 29.5))  # zeros and NaN are not drawable: skipped
    (x0, x1), (y0, y1) = p.viewRange()
    assert (x0, x1) == (-0.5, 29.5)
    assert y0 <= -25 and y1 >= 0 and y1 - y0 <= 1.2 * 25  # not much more than the data
    p.setLogMode(y=False)  # the user switches the axis to linear: the range follows
    ranger.fit(ys=[y], x=(-0.5, 29.5))
    assert p.viewRange()[1][1] >= 1 and p.viewRange()[1][0] < 0.5


def _wheel(view, plot, delta: int) -> None:
    """Turn the mouse wheel over the middle of `plot`, as a user zooming in."""
    centre = view.mapFromScene(plot.vb.sceneBoundingRect().center())
    pos = QPointF(centre)
    event = QWheelEvent(
        pos,
        QPointF(view.viewport().mapToGlobal(centre)),
        QPoint(0, 0),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def test_a_users_zoom_holds_until_they_click_auto(plot):
    view, p = plot
    ranger = Ranger(p)
    x, y = np.arange(100), np.linspace(-1, 1, 100)
    p.plot(x, y)
    ranger.fit(xs=[x], ys=[y])
    fitted = p.viewRange()
    _wheel(view, p, 240)
    zoomed = p.viewRange()
    assert zoomed != fitted and ranger.held
    ranger.fit(xs=[x], ys=[3 * y])  # new data arrives while the user looks closely
    assert p.viewRange() == zoomed  # the user's view stays
    assert not p.buttonsHidden  # the "A" button appears in the plot's corner on hover
    p.autoBtn.clicked.emit(p.autoBtn)  # the user clicks it
    assert not ranger.held
    assert _in_view(p, x, 3 * y)  # back to following the latest data
    _wheel(view, p, 240)
    assert ranger.held
    p.setLogMode(x=True)  # a zoom in the old coordinates means nothing on a log axis
    ranger.fit(xs=[x + 1], ys=[y])
    assert not ranger.held and _in_view(p, np.log10(x + 1), y)


def test_a_live_title_gets_the_lines_it_needs(plot):
    _, p = plot
    wrap_title(p)
    p.setTitle("short")
    QApplication.processEvents()
    one_line = p.titleLabel.boundingRect().height()
    p.setTitle("a much longer title " * 6)  # wraps in a 500 px plot
    QApplication.processEvents()
    several = p.titleLabel.boundingRect().height()
    assert several > 1.5 * one_line
    assert p.titleLabel.item.boundingRect().width() <= p.width()
    p.setTitle("short again")
    QApplication.processEvents()
    assert p.titleLabel.boundingRect().height() == pytest.approx(one_line, abs=1)
    p.setTitle(None)
    QApplication.processEvents()
    assert not p.titleLabel.isVisible()
    p.setTitle("back")
    QApplication.processEvents()
    assert p.titleLabel.isVisible()
    assert p.titleLabel.boundingRect().height() == pytest.approx(one_line, abs=1)


# -- the live panels keep everything they draw in view


def test_gradient_history_shows_every_step_and_the_threshold(make_snapshot, show_panel):
    snap = make_snapshot(steps=12, cell="rnn", clip="norm", clip_threshold=1e-4)
    panel = show_panel(GradientNormsPanel, snap)
    h = snap.history
    (x0, x1), (y0, y1) = panel.history_plot.viewRange()
    assert x0 <= h.step.min() and h.step.max() <= x1
    logs = np.log10([*h.grad_norm, snap.clip_threshold])
    assert y0 <= logs.min() and logs.max() <= y1  # the threshold line too, far below the norms
    lt = snap.trace.layer(0)
    g = np.log10(np.linalg.norm(lt.grad_h[0].astype(np.float64), axis=-1))
    (_, _), (g0, g1) = panel.grad_plot.viewRange()
    assert g0 <= g.min() and g.max() <= g1


def test_loss_plot_shows_every_step_and_the_chance_level(make_snapshot, show_panel):
    snap = make_snapshot(steps=15, task="sine")
    panel = show_panel(TrainingPanel, snap)
    h = snap.history
    (x0, x1), (y0, y1) = panel.loss_plot.viewRange()
    assert x0 <= h.step.min() and h.step.max() <= x1
    logs = np.log10([*h.loss, snap.chance_loss])
    assert y0 <= logs.min() and logs.max() <= y1
    panel.log_check.setChecked(False)  # linear: the range is redone in the new coordinates
    (_, _), (y0, y1) = panel.loss_plot.viewRange()
    assert y0 <= h.loss.min() and max(h.loss.max(), snap.chance_loss) <= y1 < 10 * h.loss.max()


def test_state_curves_and_pca_path_are_in_view(make_snapshot, show_panel):
    snap = make_snapshot(cell="lstm", task="sine", hidden=16)
    panel = show_panel(StateTrajectoriesPanel, snap)
    lt = snap.trace.layer(0)
    h, c = lt.h[0][:, panel.units], lt.c[0][:, panel.units]
    T = h.shape[0]
    assert _in_view(panel.h_plot, [0, T - 1], h)
    assert _in_view(panel.c_plot, [0, T - 1], c)
    assert _in_view(panel.pca_plot, panel.pca_points[:, 0], panel.pca_points[:, 1])


def test_lab_plots_keep_their_reference_lines_in_view(make_snapshot, show_panel):
    """The line at 1 (a factor that neither grows nor shrinks the gradient), the unit circle,
    σ = 1 and the chance level are what the lab's plots are read against."""
    snap = make_snapshot(steps=10, cell="rnn", task="sine", spectral_radius=0.3)
    factors = show_panel(GradientFactorsPanel, snap)
    (_, _), (y0, y1) = factors.step_plot.viewRange()
    assert y0 <= 0 <= y1  # log10 of 1
    spectrum = show_panel(SpectrumPanel, snap)
    (x0, x1), (y0, y1) = spectrum.eig_plot.viewRange()
    assert x0 <= -1 and x1 >= 1 and y0 <= -1 and y1 >= 1  # eigenvalues within 0.3: circle too
    (_, _), (y0, y1) = spectrum.sv_plot.viewRange()
    assert y0 <= 1 <= y1
    comparison = show_panel(ComparisonPanel, snap)
    h = snap.history
    (x0, x1), (y0, y1) = comparison.loss_plot.viewRange()
    logs = np.log10([*h.loss, snap.chance_loss])
    assert x0 <= h.step.min() and h.step.max() <= x1 and y0 <= logs.min() and logs.max() <= y1


def test_pausing_fits_the_step_axis_to_the_steps(make_snapshot, show_panel):
    paused = make_snapshot(steps=40, task="sine")
    running = dataclasses.replace(paused, state="running")
    panel = show_panel(TrainingPanel, running)
    last = paused.history.step.max()
    (x0, x1), _ = panel.loss_plot.viewRange()
    assert x0 == 0 and x1 > 1.15 * last  # room to grow while training runs
    panel.set_snapshot(paused)  # the user pauses: only the state changes
    assert panel.refresh()
    (x0, x1), _ = panel.loss_plot.viewRange()
    assert x0 == 0 and last < x1 <= 1.1 * last


def test_data_at_the_edge_of_the_range_moves_it():
    """A point drawn as a marker on the frame would be cut in half."""
    r = StableRange(pad=0.08)
    r.fit(0.0, 1.0)
    r0, r1 = r.range
    assert r.fit(0.0, r1)  # inside, but on the frame
    assert r.range[1] > r1
