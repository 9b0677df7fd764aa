"""The plot kit: figures that shrink to fit their view and grow back; tick labels that
never print over one another."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QImage, QPainter

from rnnviz.qt import theme
from rnnviz.qt.plotkit import FitToView, WrappingTitle, still_plot


def figure(qtbot, size, plots=3):
    theme.apply()
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    FitToView(view)
    for row in range(plots):  # plots with titles and axis labels: a tall minimum
        plot = view.addPlot(row=row, col=0, title=f"plot {row}")
        plot.setLabel("bottom", "timestep t")
        plot.plot([0, 1, 2], [0, 1, 4])
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_a_figure_larger_than_its_view_is_scaled_down_whole_and_grows_back(qtbot):
    view = figure(qtbot, (300, 120))
    scale = view.transform().m11()
    # shrunk, not stretched (Qt's fitInView keeps a margin of 2 px)
    assert scale < 1 and abs(view.transform().m22() - scale) < 0.03
    inside = view.mapFromScene(view.centralWidget.sceneBoundingRect()).boundingRect()
    assert view.rect().adjusted(-1, -1, 1, 1).contains(inside)
    view.resize(600, 700)  # room again: scene pixels are screen pixels again
    qtbot.waitUntil(lambda: view.transform().m11() == 1.0)
    assert view.centralWidget.geometry().height() == view.height()


def test_tick_labels_of_a_short_axis_do_not_overlap(qtbot):
    view = figure(qtbot, (300, 110), plots=1)
    plot = view.getItem(0, 0)
    plot.setYRange(5.5e33, 6.5e33, padding=0)  # labels like 6.5e+33 on a short axis
    axis = plot.getAxis("left")
    view.grab()  # a paint: the axis widens to its labels, and draws them on the next paint
    qtbot.waitUntil(lambda: axis.width() > 50)
    view.grab()
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    texts = axis.generateDrawSpecs(painter)[2]
    painter.end()
    boxes = [rect for rect, _, _ in texts]
    assert texts and all(not a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_a_long_step_curve_keeps_every_runs_extremes_in_bounded_points():
    from rnnviz.qt.plotkit import STEP_POINTS, envelope

    rng = np.random.default_rng(0)
    x = np.arange(1, 300_001)
    y = rng.lognormal(size=len(x))
    y[123_456] = 1e30  # one exploding step
    y[2_000:2_400] = np.nan  # a gap the log axis cannot draw
    ex, ey = envelope(x, y)
    assert len(ex) == STEP_POINTS and np.all(np.diff(ex) >= 0)
    assert np.nanmax(ey) == 1e30 and ex[np.nanargmax(ey)] == 123_457
    assert np.nanmin(ey) == np.nanmin(y)
    edges = np.linspace(0, len(x), STEP_POINTS // 2 + 1).astype(int)
    for a, b in zip(edges[:-1:97], edges[1::97], strict=True):  # every extreme of a run is kept
        inside = (ex >= x[a]) & (ex <= x[b - 1])
        assert np.nanmax(ey[inside]) == np.nanmax(y[a:b])
    short = envelope(x[:100], y[:100])
    assert short[0] is x[:100] or np.array_equal(short[0], x[:100])


def test_the_training_panel_holds_a_bounded_copy_of_a_long_history(show_panel, make_snapshot):
    import dataclasses

    from rnnviz.core.protocol import History
    from rnnviz.qt.panels.core.gradients import GradientNormsPanel
    from rnnviz.qt.panels.core.training import TrainingPanel
    from rnnviz.qt.plotkit import STEP_POINTS

    n = 200_000
    rng = np.random.default_rng(1)
    h = History(
        step=np.arange(1, n + 1),
        loss=rng.random(n) + 0.01,
        grad_norm=rng.random(n) + 0.1,
        grad_norm_clipped=rng.random(n),
        clipped=rng.random(n) < 0.5,
        key=1,
    )
    snapshot = dataclasses.replace(make_snapshot(), history=h, step=n)
    training = show_panel(TrainingPanel, snapshot)
    gradients = show_panel(GradientNormsPanel, snapshot)
    for curve in (training.loss_curve, training.mean_curve, gradients.norm_curve):
        assert len(curve.getOriginalDataset()[0]) <= STEP_POINTS
    assert len(gradients.clip_markers.getOriginalDataset()[0]) <= STEP_POINTS
    # the extremes are still drawn, at their own steps
    x, y = gradients.norm_curve.getOriginalDataset()
    assert np.nanmax(y) == h.grad_norm.max() and x[np.nanargmax(y)] == h.grad_norm.argmax() + 1
    x, y = training.loss_curve.getOriginalDataset()
    assert np.nanmin(y) == h.loss.min() and x[np.nanargmin(y)] == h.loss.argmin() + 1


def test_a_still_plot_ignores_the_mouse_and_shows_no_menu_or_button(qtbot):
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    font = QFont()
    font.setPointSize(17)
    plot = still_plot(view.addPlot(), font)
    assert plot.vb.state["mouseEnabled"] == [False, False]  # a drag or wheel moves nothing
    assert not plot.menuEnabled() and not plot.vb.menuEnabled()  # no right-click menu
    assert plot.buttonsHidden  # no "A" auto-range button over the figure
    assert isinstance(plot.titleLabel, WrappingTitle)
    for side in ("left", "bottom"):
        assert plot.getAxis(side).style["tickFont"].pointSize() == 17
        assert not plot.getAxis(side).autoSIPrefix  # tick labels show the values themselves


def test_a_wrapping_title_wraps_in_a_narrow_plot_and_asks_for_layout_only_when_its_height_changes(
    qtbot,
):
    theme.apply()
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    plot = still_plot(view.addPlot())
    plot.setTitle("loss 0.123")
    view.resize(300, 300)
    view.show()
    qtbot.waitExposed(view)
    title = plot.titleLabel
    one_line = title.item.boundingRect().height()
    assert plot.layout.rowMaximumHeight(0) == one_line  # the row is the title's own height

    plot.layout.activate()
    plot.setTitle("loss 0.456")  # new words, same height: no layout pass over the plot
    assert plot.layout.isActivated()
    assert "0.456" in title.item.toPlainText()

    plot.setTitle("a long title that cannot fit on one line of a plot this narrow " * 2)
    assert not plot.layout.isActivated()  # the height changed: the layout is asked again
    lines = title.item.boundingRect().height() / one_line
    assert lines >= 2  # wrapped, not wider than the plot
    assert title.item.boundingRect().width() <= plot.width()
    assert plot.layout.rowMaximumHeight(0) == title.item.boundingRect().height()
