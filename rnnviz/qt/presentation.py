"""Presentation mode: full screen, larger fonts and thicker lines, high contrast, for a projector.

Entering it scales what is already drawn — every widget font through the application font,
every pyqtgraph axis, title, label, legend, text item and curve pen through `restyle` — by
one factor, and sets the theme so that anything drawn afterwards is born at that size.
Leaving scales back by the inverse factor and restores the window's layout and screen state,
so nothing a user arranged is lost.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

from rnnviz.qt import theme

SCALE = 1.35  # fonts and line widths in presentation mode, relative to normal


def restyle(root: QWidget, factor: float) -> None:
    """Scale the fonts and line widths of every pyqtgraph item under `root` by `factor`."""
    for view in root.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            _restyle_item(item, factor)


def _scaled_font(font: QFont, factor: float) -> QFont:
    font = QFont(font)
    size = font.pointSizeF() if font.pointSizeF() > 0 else theme.FONT_PT
    font.setPointSizeF(max(4.0, size * factor))
    return font


def _scaled_size(size: str | None, factor: float) -> str:
    """'11pt' -> '16.5pt' (pyqtgraph's LabelItem size option)."""
    value = float(size[:-2]) if size and size.endswith("pt") else float(theme.FONT_PT)
    return f"{max(4.0, value * factor):.3g}pt"


def _restyle_item(item, factor: float) -> None:
    if isinstance(item, pg.AxisItem):
        font = item.style.get("tickFont") or QFont()
        item.setStyle(tickFont=_scaled_font(font, factor))
        style = dict(item.labelStyle)
        style["font-size"] = _scaled_size(style.get("font-size"), factor)
        item.labelStyle = style
        item._updateLabel()  # setLabel would also reset the axis's SI-prefix ranges
        pen = pg.mkPen(item.pen())
        pen.setWidthF(max(1.0, pen.widthF()) * factor)
        item.setPen(pen)
    elif isinstance(item, pg.LabelItem):
        opts = dict(item.opts)
        opts["size"] = _scaled_size(opts.get("size"), factor)
        item.setText(item.text, **opts)
    elif isinstance(item, pg.TextItem):
        item.setFont(_scaled_font(item.textItem.font(), factor))
    elif isinstance(item, pg.PlotDataItem):
        pen = item.opts.get("pen")
        if pen is not None:
            pen = pg.mkPen(pen)
            if pen.style() != 0:  # Qt.NoPen
                pen.setWidthF(max(1.0, pen.widthF()) * factor)
                item.setPen(pen)
        if item.opts.get("symbolSize"):
            item.setSymbolSize(item.opts["symbolSize"] * factor)
    elif isinstance(item, pg.InfiniteLine):
        pen = pg.mkPen(item.pen)
        pen.setWidthF(max(1.0, pen.widthF()) * factor)
        item.setPen(pen)


class PresentationMode(QObject):
    """Toggles `window` in and out of presentation mode; `panels` are restyled."""

    toggled = Signal(bool)

    def __init__(
        self, window: QMainWindow, panels: list[QWidget], hide: tuple[QWidget, ...] = ()
    ) -> None:
        super().__init__(window)
        self.window = window
        self.panels = panels
        self.hide = hide  # e.g. the settings side bar: the room goes to the panels
        self.active = False
        self._saved: dict = {}

    def restyle_new(self, panels: list[QWidget]) -> None:
        """Panels built while presentation mode is on: enlarge them like the rest."""
        if self.active:
            for panel in panels:
                restyle(panel, SCALE)

    def toggle(self) -> None:
        self.leave() if self.active else self.enter()

    def enter(self) -> None:
        if self.active:
            return
        app = QApplication.instance()
        w = self.window
        self._saved = {
            "state": w.saveState(),
            "geometry": w.saveGeometry(),
            "font": QFont(app.font()),
            "palette": QPalette(app.palette()),
            "full_screen": w.isFullScreen(),
        }
        self.active = True
        app.setFont(_scaled_font(app.font(), SCALE))
        self._apply(SCALE)
        palette = QPalette(app.palette())  # high contrast: black on white, nothing grey
        for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
            palette.setColor(role, QColor("white"))
        for role in (
            QPalette.ColorRole.WindowText,
            QPalette.ColorRole.Text,
            QPalette.ColorRole.ButtonText,
        ):
            palette.setColor(role, QColor("black"))
        app.setPalette(palette)
        for widget in self.hide:
            widget.hide()
        w.showFullScreen()
        self.toggled.emit(True)

    def leave(self) -> None:
        if not self.active:
            return
        app = QApplication.instance()
        w = self.window
        self.active = False
        self._apply(1.0 / SCALE)
        app.setFont(self._saved["font"])
        app.setPalette(self._saved["palette"])
        if not self._saved["full_screen"]:
            w.showNormal()
        w.restoreGeometry(self._saved["geometry"])
        w.restoreState(self._saved["state"])
        self.toggled.emit(False)

    def _apply(self, factor: float) -> None:
        for panel in self.panels:  # first: sizes left unset scale from the current theme
            restyle(panel, factor)
        theme.apply(SCALE if self.active else 1.0)
