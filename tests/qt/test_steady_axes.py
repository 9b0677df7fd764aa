"""Axes keep their drawing when a redraw sets the title, ticks and style they already have,
and still change when something does change."""

from __future__ import annotations

import pyqtgraph as pg

from rnnviz.qt import theme

TICKS = [[(0, "0\na"), (5, "5\nb")], []]


def painted_plot(qtbot) -> tuple[pg.PlotWidget, pg.AxisItem]:
    theme.apply()  # installs the patch, as the app does
    view = pg.PlotWidget()
    qtbot.addWidget(view)
    view.setLabel("bottom", "timestep t")
    axis = view.getAxis("bottom")
    axis.setTicks(TICKS)
    axis.setStyle(maxTextLevel=2)
    view.plot([0, 5], [0, 1])
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.grab()  # paint: the axis draws its picture
    assert axis.picture is not None
    return view, axis


def test_setting_what_an_axis_already_has_keeps_its_drawing(qtbot):
    view, axis = painted_plot(qtbot)
    view.setLabel("bottom", "timestep t")  # PlotItem.setLabel also shows the axis
    axis.setTicks([[(0, "0\na"), (5, "5\nb")], []])
    axis.setStyle(maxTextLevel=2)
    axis.setRange(*axis.range)  # a colour bar's new levels, a view's resize
    assert axis.picture is not None


def test_a_new_title_ticks_or_style_is_drawn(qtbot):
    view, axis = painted_plot(qtbot)
    view.setLabel("bottom", "input step")
    assert axis.picture is None and "input step" in axis.labelString()
    view.grab()
    axis.setTicks([[(0, "0\nc")], []])
    assert axis.picture is None and axis._tickLevels == [[(0, "0\nc")], []]
    view.grab()
    axis.setStyle(maxTextLevel=1)
    assert axis.picture is None and axis.style["maxTextLevel"] == 1
    view.grab()
    axis.setRange(0, 7)
    assert axis.picture is None and axis.range == [0, 7]


def test_a_title_hidden_by_hand_is_shown_again_by_set_label(qtbot):
    view, axis = painted_plot(qtbot)
    axis.showLabel(False)
    view.setLabel("bottom", "timestep t")  # as before the patch: setLabel shows the title
    assert axis.label.isVisibleTo(axis)
    view.hideAxis("bottom")
    view.setLabel("bottom", "timestep t")  # and the axis
    assert axis.isVisible()
