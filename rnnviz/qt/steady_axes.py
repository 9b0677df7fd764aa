"""Axes that keep their drawing while nothing about them changes.

pyqtgraph's AxisItem.setLabel, setTicks, setStyle, show and setRange always throw the axis's
drawing away (the next paint runs generateDrawSpecs and the legibility rule again: 1-2 ms an
axis), and setLabel and setStyle lay the plot out again. Panels set the same axis title, the
same token ticks and the same style on every redraw (a new recording rarely changes them),
so with six axes a panel that was most of a panel's paint time; a view's resize and a colour
bar's new levels or colours set the range an axis already shows. Patched once per process,
like plotkit.legible_tick_labels: a call that would set what the axis already has does
nothing.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg


def _same(a: Any, b: Any) -> bool:
    """a == b for texts, numbers, fonts and nested lists of them; False where == cannot say
    (numpy arrays inside)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def steady_axes() -> None:
    """Make every AxisItem skip setLabel, setTicks, setStyle, show and setRange calls that
    change nothing (once per process)."""
    if getattr(pg.AxisItem, "_steady", False):
        return
    set_label, set_ticks = pg.AxisItem.setLabel, pg.AxisItem.setTicks
    set_style, show = pg.AxisItem.setStyle, pg.AxisItem.show
    set_range = pg.AxisItem.setRange

    def setLabel(  # noqa: N802, N803 (pyqtgraph API)
        self,
        text=None,
        units=None,
        unitPrefix=None,
        siPrefixEnableRanges=None,
        unitPower=1,
        **kwargs,
    ):
        key = (text or "", units or "", unitPrefix or "", siPrefixEnableRanges, unitPower, kwargs)
        # as setLabel leaves it: shown when it has words (or hidden by plotkit as too long
        # for its axis, which a paint decides again when the axis changes)
        shown = self.label.isVisibleTo(self) or getattr(self, "_title_too_long", False)
        if shown == bool(text or units) and _same(key, getattr(self, "_label_set", None)):
            return
        set_label(self, text, units, unitPrefix, siPrefixEnableRanges, unitPower, **kwargs)
        self._label_set = key

    def setTicks(self, ticks):  # noqa: N802 (pyqtgraph API)
        if not _same(ticks, self._tickLevels):
            set_ticks(self, ticks)

    def setStyle(self, **kwargs):  # noqa: N802 (pyqtgraph API)
        # tickTextOffset is stored per orientation: always passed on
        if "tickTextOffset" in kwargs or not all(
            k in self.style and _same(self.style[k], v) for k, v in kwargs.items()
        ):
            set_style(self, **kwargs)

    def show_axis(self):
        # a shown axis's size was set when its label or style last changed
        if not self.isVisible():
            show(self)

    def setRange(self, mn, mx):  # noqa: N802 (pyqtgraph API)
        # a new size invalidates the drawing by itself (AxisItem.resizeEvent)
        if getattr(self, "range", None) != [mn, mx]:
            set_range(self, mn, mx)

    pg.AxisItem.setLabel = setLabel
    pg.AxisItem.setRange = setRange
    pg.AxisItem.show = show_axis
    pg.AxisItem.setTicks = setTicks
    pg.AxisItem.setStyle = setStyle
    pg.AxisItem._steady = True
