"""The plot kit: figures that shrink to fit their view and grow back; tick labels that
never print over one another."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QImage, QPainter

from rnnviz.qt import theme
from rnnviz.qt.plotkit import FitToView


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
