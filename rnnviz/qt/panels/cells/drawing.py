"""Drawing primitives of the cell diagram, in view units: arrows whose width carries a value,
gate boxes filled by their value, × and + nodes, labels that shrink with a small panel, and the
two colour scales. `Canvas` places them on a pyqtgraph ViewBox (`self.view`) and keeps what a
redraw updates (boxes, flows, texts) and what hovering finds (hotspots).

View coordinates: x from 0 (inputs) to 16 (outputs), y up, about 10 units tall.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QLinearGradient, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem

from rnnviz.qt import theme

X_RANGE, Y_RANGE = (-0.2, 16.2), (-1.15, 9.95)
TOP, BOTTOM, GATE_Y = 7.0, 1.2, 3.2  # the belt / carry line, the input line, the gate row
GATE_W, GATE_H = 1.5, 1.1
NODE_R = 0.3  # radius of the × and + nodes
LINE = 0.05  # width of a plain connection, in view units (it scales with the figure)
FLOW_MIN, FLOW_MAX = 0.03, 0.26  # width of a path carrying 0 .. 1 of what flows in
GREY, CELL_FILL, CELL_EDGE = "#707070", "#F3F3F3", "#B0B0B0"
UNIT_PX = 43  # pixels per view unit at which labels of theme.FONT_PT fit the layout
GAP = "&nbsp;" * 6  # between two equations on one line
HINT = "Hover a box, a node or a value for its exact value and equation."


def fmt(v: float) -> str:
    """A value as drawn on the diagram: two decimals and a true minus sign."""
    return f"{v:.2f}".replace("-", "−") if np.isfinite(v) else str(v)


class _Template(string.Formatter):
    """str.format with one more conversion: {name!p} puts a negative number in parentheses,
    so that products read 0.69·(−1.81) rather than 0.69·−1.81."""

    def convert_field(self, value, conversion):
        if conversion == "p":
            return f"({value})" if str(value).startswith("−") else value
        return super().convert_field(value, conversion)


TEMPLATE = _Template()


def flow_width(v: float) -> float:
    """Width of a path that carries a fraction v (0..1) of what flows in."""
    v = float(np.clip(np.nan_to_num(v), 0.0, 1.0))
    return FLOW_MIN + (FLOW_MAX - FLOW_MIN) * v


def text_colour(fill: QColor) -> QColor:
    return QColor(theme.BLACK) if fill.lightness() > 120 else QColor("white")


class Arrow:
    """A polyline through view points with an arrowhead at the last one; its width can change,
    and the head grows with it so a thick flow still ends in a visible point."""

    def __init__(
        self,
        view: pg.ViewBox,
        points,
        colour: str,
        width: float = LINE,
        head: bool = True,
        dashed: bool = False,
        z: float = 1,
    ) -> None:
        self.points = [QPointF(*p) for p in points]
        self.colour, self.has_head, self.dashed = QColor(colour), head, dashed
        self.line = QGraphicsPathItem()
        self.head = QGraphicsPathItem()
        self.head.setPen(QPen(Qt.PenStyle.NoPen))
        self.head.setBrush(QBrush(self.colour))
        for item in (self.line, self.head):
            item.setZValue(z)
            view.addItem(item)
        self.set_width(width)

    def set_width(self, width: float, opacity: float = 1.0) -> None:
        pen = QPen(self.colour, width)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        if self.dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.line.setPen(pen)
        pts = list(self.points)
        if self.has_head:
            tip, before = pts[-1], pts[-2]
            d = tip - before
            d /= max(1e-9, (d.x() ** 2 + d.y() ** 2) ** 0.5)
            n = QPointF(-d.y(), d.x())
            length, half = 0.2 + 0.9 * width, 0.09 + 0.75 * width
            base = tip - d * length
            self.head.setPath(_polygon([tip, base + n * half, base - n * half]))
            pts[-1] = tip - d * (length * 0.6)  # the line stops inside the head
        path = QPainterPath(pts[0])
        for p in pts[1:]:
            path.lineTo(p)
        self.line.setPath(path)
        self.line.setOpacity(opacity)
        self.head.setOpacity(opacity)

    @property
    def width(self) -> float:
        return self.line.pen().widthF()


def _polygon(points) -> QPainterPath:
    path = QPainterPath()
    path.addPolygon(QPolygonF(points))
    path.closeSubpath()
    return path


@dataclass
class Box:
    """A gate or function box: filled by `key`'s value on `scale` ('gate' 0..1, 'signed'
    -1..1, or None for a neutral fill), with its function on top and 'name = value' below."""

    key: str
    shape: QGraphicsPathItem
    function: pg.TextItem
    value: pg.TextItem
    scale: str | None
    name: str  # html before ' = value'


_LUTS: dict[str, list[QColor]] = {}


def _lut(name: str) -> list[QColor]:
    """256 QColors of a theme colour map, cached."""
    if name not in _LUTS:
        table = theme.cmap(name).getLookupTable(0.0, 1.0, 256, alpha=False)
        _LUTS[name] = [QColor(*(int(c) for c in rgb)) for rgb in table]
    return _LUTS[name]


class Canvas:
    """Places the primitives on `self.view` (a pg.ViewBox the panel owns) and records them in
    `self.boxes`, `self.flows`, `self.texts`, `self.hotspots` and `self._labels`."""

    def colour_of(self, v: float, scale: str | None) -> QColor:
        if scale is None:
            return QColor("white")
        if not np.isfinite(v):
            return QColor(CELL_EDGE)
        if scale == "gate":
            x, cmap = v, theme.SEQUENTIAL
        else:
            x, cmap = (v + 1) / 2, theme.DIVERGING
        return _lut(cmap)[int(np.clip(x, 0.0, 1.0) * 255)]

    def _arrow(
        self,
        *points,
        colour: str = GREY,
        width: float = LINE,
        head: bool = True,
        dashed: bool = False,
        z: float = 1,
    ) -> Arrow:
        return Arrow(self.view, points, colour, width, head, dashed, z)

    def _flow(self, key: str, value: str, points, colour: str) -> None:
        """A path whose width and opacity follow `value` (0..1)."""
        self.flows[key] = (Arrow(self.view, points, colour, FLOW_MIN, z=3), value)
        (x0, y0), (x1, y1) = points[0], points[-1]
        r = QRectF(QPointF(min(x0, x1), min(y0, y1)), QPointF(max(x0, x1), max(y0, y1)))
        self.hotspots.append((r.adjusted(-0.15, -0.15, 0.15, 0.15), key))

    def _dot(self, at: tuple[float, float]) -> None:
        dot = QGraphicsEllipseItem(QRectF(at[0] - 0.08, at[1] - 0.08, 0.16, 0.16))
        dot.setBrush(QBrush(QColor(GREY)))
        dot.setPen(QPen(Qt.PenStyle.NoPen))
        dot.setZValue(1.5)
        self.view.addItem(dot)

    def _node(self, key: str, at, symbol: str, caption: str, caption_at, anchor) -> None:
        """A pointwise operation: a white circle with × or +, and a caption naming the step."""
        x, y = at
        circle = QGraphicsEllipseItem(QRectF(x - NODE_R, y - NODE_R, 2 * NODE_R, 2 * NODE_R))
        circle.setBrush(QBrush(QColor("white")))
        circle.setPen(QPen(QColor(theme.BLACK), LINE))
        circle.setZValue(4)
        self.view.addItem(circle)
        self._label(
            (x, y), (0.5, 0.5), theme.BLACK, 5, size=(theme.FONT_PT + 3) / theme.FONT_PT, bold=True
        ).setPlainText(symbol)
        if caption:
            self._text(f"{key} caption", f"<i>{caption}</i>", caption_at, anchor, colour=GREY)
        self.hotspots.append((QRectF(x - NODE_R, y - NODE_R, 2 * NODE_R, 2 * NODE_R), key))

    def _box(
        self,
        key: str,
        at,
        function: str,
        name: str,
        scale: str | None,
        size: tuple[float, float] = (GATE_W, GATE_H),
        oval: bool = False,
    ) -> None:
        """A gate or function box: the function on top, 'name = value' below."""
        (x, y), (w, h) = at, size
        rect = QRectF(x - w / 2, y - h / 2, w, h)
        shape = QGraphicsPathItem()
        path = QPainterPath()
        path.addEllipse(rect) if oval else path.addRoundedRect(rect, 0.12, 0.12)
        shape.setPath(path)
        edge = theme.GATE_COLOURS.get(key, theme.BLACK)
        shape.setPen(QPen(QColor(edge), 0.07))
        shape.setZValue(4)
        self.view.addItem(shape)
        items = [self._label((x, y + dy), (0.5, 0.5), theme.BLACK, 5) for dy in (0.22, -0.22)]
        items[0].setHtml(function)
        label = f"<b>{name}</b>" if name else ""
        self.boxes[key] = Box(key, shape, items[0], items[1], scale, label)
        self.hotspots.append((rect, key))

    def _text(self, key: str, template: str, at, anchor, colour: str = theme.BLACK) -> None:
        item = self._label(at, anchor, colour, 6)
        self.texts[key] = (item, f'<span style="color:{colour}">{template}</span>')

    def _label(
        self, at, anchor, colour: str, z: float, size: float = 1.0, bold: bool = False
    ) -> pg.TextItem:
        """A text item whose font is `size` × theme.FONT_PT, shrunk with a small panel."""
        item = pg.TextItem(anchor=anchor, color=colour)
        item.textItem.document().setDocumentMargin(1)  # labels fit their boxes closely
        item.setPos(*at)
        item.setZValue(z)
        self.view.addItem(item)
        self._labels.append((item, size, bold))
        return item

    def _fit_text(self) -> None:
        """Shrink the text with the drawing when the panel is smaller than the size the layout
        was made for, so that labels keep to their boxes (never larger than theme.FONT_PT)."""
        px = self.view.viewPixelSize()[0]  # view units per pixel
        fit = min(1.0, 1.0 / (px * UNIT_PX)) if px > 0 else 1.0
        for item, size, bold in self._labels:
            font = QFont()
            font.setPointSizeF(max(5.0, theme.FONT_PT * size * fit))
            font.setBold(bold)
            item.setFont(font)

    def _ends(self, *specs) -> None:
        """Values written at the ends of the lines: (key, template, position, anchor)."""
        for key, template, at, anchor in specs:
            self._text(key, template, at, anchor)
            x, y = at  # roughly where the label lies, for hovering
            w, h = 2.2, 0.45
            x0 = x - anchor[0] * w
            y0 = y - (1 - anchor[1]) * h if anchor[1] else y - h
            self.hotspots.append((QRectF(x0, y0, w, h), key))

    def _equation(self, template: str) -> None:
        self._text("equation", template, (8.0, -0.8), (0.5, 0.5))

    def _legend(self) -> None:
        """The two colour scales, bottom right: sigmoid gates 0..1, tanh values -1..1."""
        for row, (name, lo, hi, cmap) in enumerate(
            (("σ", "0", "1", theme.SEQUENTIAL), ("tanh", "−1", "1", theme.DIVERGING))
        ):
            y = 0.28 - 0.42 * row
            rect = QRectF(14.35, y - 0.12, 1.3, 0.24)
            gradient = QLinearGradient(rect.left(), 0, rect.right(), 0)
            lut = _lut(cmap)
            for s in np.linspace(0, 1, 9):
                gradient.setColorAt(s, lut[int(s * 255)])
            bar = QGraphicsPathItem()
            path = QPainterPath()
            path.addRect(rect)
            bar.setPath(path)
            bar.setBrush(QBrush(gradient))
            bar.setPen(QPen(Qt.PenStyle.NoPen))
            self.view.addItem(bar)
            self._text(f"legend {name}", f"{name} {lo}", (14.3, y), (1, 0.5), colour=GREY)
            self._text(f"legend {name} hi", hi, (15.7, y), (0, 0.5), colour=GREY)
