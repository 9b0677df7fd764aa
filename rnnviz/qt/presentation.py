"""Presentation mode: full screen, larger fonts, thicker lines and stronger colours, for a
projector.

Entering it scales what is already drawn — every widget font through the application font,
every pyqtgraph axis, title, label, legend and text item by SCALE (less on a small screen:
font_scale), every curve, line and axis pen by LINE_SCALE — darkens the palette's light
colours (theme.STRONG: a projector washes yellow and sky blue out), hides the panels' hover
hints (their room goes to the plots), and sets the theme so that anything drawn afterwards
is born at that size. Leaving undoes each step by the inverse factor and colour, and
restores the window's layout and screen state, so nothing a user arranged is lost.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

from rnnviz.qt import theme

SCALE = 1.35  # fonts in presentation mode, relative to normal, on a screen of REFERENCE size
MIN_SCALE = 1.1  # on a smaller screen (a 1280x720 projector): room for four panels' figures
REFERENCE = (1600, 1000)
LINE_SCALE = 1.75  # line widths: thicker still, a 2 px curve is a hairline on a projector
STRONG = {QColor(k).name(): QColor(v) for k, v in theme.STRONG.items()}
WEAK = {v.name(): QColor(k) for k, v in STRONG.items()}  # back to normal


class Restyle:
    """One step of presentation mode: fonts times `fonts`, lines times `lines`, colours
    mapped through `colours` (by #rrggbb; alpha kept)."""

    def __init__(self, fonts: float, lines: float, colours: dict[str, QColor]) -> None:
        self.fonts, self.lines, self.colours = fonts, lines, colours

    def inverse(self) -> Restyle:
        back = WEAK if self.colours is STRONG else STRONG
        return Restyle(1.0 / self.fonts, 1.0 / self.lines, back)

    def widget(self, root: QWidget) -> None:
        """Restyle every pyqtgraph item under `root`."""
        for view in root.findChildren(pg.GraphicsView):
            for item in view.scene().items():
                self.item(item)

    def colour(self, colour: QColor) -> QColor:
        mapped = self.colours.get(colour.name())
        if mapped is None:
            return colour
        out = QColor(mapped)
        out.setAlpha(colour.alpha())
        return out

    def pen(self, pen, width: bool = True) -> pg.QtGui.QPen:
        pen = pg.mkPen(pen)
        if width:
            pen.setWidthF(max(1.0, pen.widthF()) * self.lines)
        pen.setColor(self.colour(pen.color()))
        return pen

    def font(self, font: QFont) -> QFont:
        font = QFont(font)
        size = font.pointSizeF() if font.pointSizeF() > 0 else theme.FONT_PT
        font.setPointSizeF(max(4.0, size * self.fonts))
        return font

    def size(self, size: str | None) -> str:
        """'11pt' -> '14.9pt' (pyqtgraph's LabelItem size option)."""
        value = float(size[:-2]) if size and size.endswith("pt") else float(theme.FONT_PT)
        return f"{max(4.0, value * self.fonts):.3g}pt"

    def item(self, item) -> None:
        if isinstance(item, pg.AxisItem):
            item.setStyle(tickFont=self.font(item.style.get("tickFont") or QFont()))
            style = dict(item.labelStyle)
            style["font-size"] = self.size(style.get("font-size"))
            item.labelStyle = style
            item._updateLabel()  # setLabel would also reset the axis's SI-prefix ranges
            item.setPen(self.pen(item.pen()))
        elif isinstance(item, pg.LabelItem):
            opts = dict(item.opts)
            opts["size"] = self.size(opts.get("size"))
            item.setText(item.text, **opts)
        elif isinstance(item, pg.TextItem):
            item.setFont(self.font(item.textItem.font()))
        elif isinstance(item, pg.PlotDataItem):
            pen = item.opts.get("pen")
            if pen is not None and pg.mkPen(pen).style() != 0:  # 0: Qt.NoPen
                item.setPen(self.pen(pen))
            if item.opts.get("symbolSize"):
                item.setSymbolSize(item.opts["symbolSize"] * self.lines)
            if item.opts.get("symbolBrush") is not None:
                brush = pg.mkBrush(item.opts["symbolBrush"])
                item.setSymbolBrush(self.colour(brush.color()))
        elif isinstance(item, pg.InfiniteLine):
            item.setPen(self.pen(item.pen))
        elif isinstance(item, pg.BarGraphItem) and isinstance(item.opts.get("brush"), str):
            item.setOpts(brush=self.colour(QColor(item.opts["brush"])).name())


def font_scale(width: int, height: int) -> float:
    """Presentation mode's font factor on a screen of width x height px: SCALE, less on a
    screen smaller than REFERENCE, whose normal fonts already fill more of it (at 1280x720
    the larger fonts would squeeze four figures out of their docks)."""
    fraction = min(width / REFERENCE[0], height / REFERENCE[1], 1.0)
    return max(MIN_SCALE, SCALE * fraction)


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
        self.step = Restyle(SCALE, LINE_SCALE, STRONG)  # set for the screen on entering

    def restyle_new(self, panels: list[QWidget]) -> None:
        """Panels built while presentation mode is on: enlarge them like the rest."""
        if self.active:
            for panel in panels:
                self.step.widget(panel)
                self._show_hints(panel, False)

    def rearranged(self) -> None:
        """The window placed its docks anew while presenting (a preset started): keep the side
        bar out of the way, and on leaving keep the new arrangement rather than bring back
        the one from before, whose docks no longer show what is running."""
        if self.active:
            for widget in self.hide:
                widget.hide()
            self._saved["state"] = None

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
        screen = (w.screen() or QApplication.primaryScreen()).geometry()
        self.step = Restyle(font_scale(screen.width(), screen.height()), LINE_SCALE, STRONG)
        app.setFont(self.step.font(app.font()))
        self._apply(self.step)
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
        self._apply(self.step.inverse())
        app.setFont(self._saved["font"])
        app.setPalette(self._saved["palette"])
        if not self._saved["full_screen"]:
            w.showNormal()
        w.restoreGeometry(self._saved["geometry"])
        if self._saved["state"] is not None:
            w.restoreState(self._saved["state"])
        else:
            for widget in self.hide:
                widget.show()
        self.toggled.emit(False)

    def _apply(self, step: Restyle) -> None:
        for panel in self.panels:  # first: sizes left unset scale from the current theme
            step.widget(panel)
            self._show_hints(panel, not self.active)
        if self.active:
            theme.apply(self.step.fonts, lines=LINE_SCALE)
        else:
            theme.apply()

    @staticmethod
    def _show_hints(panel: QWidget, show: bool) -> None:
        """The hover hints ("Hover a curve for exact values"): a projected figure does without."""
        for hint in panel.hints:
            hint.setVisible(show)
