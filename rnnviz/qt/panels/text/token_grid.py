"""A sequence of tokens drawn as a grid that wraps like text: one column per step t, a few rows
per column (the token, the guesses under it, …), each cell a label on a coloured ground.

The text panels that colour a sequence step by step (the next-symbol guesses, the
connectivity) share it. Only the lines in view are painted, so a sequence of thousands of
steps scrolls and recolours cheaply; the time cursor's column is outlined, and
`hovered(t)` says which column the mouse is on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QAbstractScrollArea, QSizePolicy, QWidget

from rnnviz.qt import theme

PAD = 3  # px around a cell's label
GAP = 8  # px between two wrapped lines of the sequence
MAX_ZOOM = 3.0  # a short sequence's labels grow up to this many times the font's size
WHITE, BLACK = QColor("#ffffff"), QColor("#000000")
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter  # row names


def ink_on(fill: QColor) -> QColor:
    """Black on a light ground, white on a dark one."""
    return WHITE if fill.lightness() < 140 else BLACK


def ramp(colour: str, steps: int = 256) -> list[QColor]:
    """`steps` colours from white to `colour`: a probability or a share, 0 light, 1 dark."""
    end = QColor(colour)
    return [
        QColor(
            round(255 + (end.red() - 255) * f),
            round(255 + (end.green() - 255) * f),
            round(255 + (end.blue() - 255) * f),
        )
        for f in np.linspace(0.0, 1.0, steps)
    ]


def shade(colours: list[QColor], value: float) -> QColor | None:
    """The colour of `value` in 0..1 (clipped) on a ramp; None where it is not finite."""
    if not np.isfinite(value):
        return None
    return colours[int(np.clip(value, 0.0, 1.0) * (len(colours) - 1))]


def swatches(colours: Sequence[QColor]) -> str:
    """A colour scale for a rich-text heading: a small square of each colour, in order."""
    return "".join(
        f'<span style="background-color:{c.name()}">&nbsp;&nbsp;</span>' for c in colours
    )


class TokenGrid(QAbstractScrollArea):
    """Rows × T cells, wrapped into lines of as many columns as the width holds."""

    hovered = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.viewport().setMouseTracking(True)
        self.texts: list[Sequence[str]] = []  # rows of T labels
        self.fills: list[Sequence[QColor | None]] = []  # rows of T grounds (None: none)
        self.faded = np.zeros(0, dtype=bool)  # (T,) columns drawn pale (no loss there)
        self.boxed = np.zeros((0, 0), dtype=bool)  # (rows, T) cells outlined in black
        self.headers: list[str] = []  # one per row, in a gutter on the left (may be empty)
        self.marked = -1  # the column outlined in the cursor's colour
        self._cell = (10, 10)
        self._gutter = 0
        self._labels: set[str] = {"M"}
        self.cell_font = self.font()  # the widget's font, enlarged where there is room

    # -- data

    def set_cells(
        self,
        texts: list[Sequence[str]],
        fills: list[Sequence[QColor | None]],
        *,
        headers: Sequence[str] = (),
        faded: np.ndarray | None = None,
        boxed: np.ndarray | None = None,
    ) -> None:
        """New cells: `texts` and `fills` are rows of T entries each."""
        self.texts, self.fills, self.headers = texts, fills, list(headers)
        T = len(texts[0]) if texts else 0
        self.faded = np.zeros(T, dtype=bool) if faded is None else np.asarray(faded, bool)
        self.boxed = np.zeros((len(texts), T), bool) if boxed is None else np.asarray(boxed)
        self._labels = {s for row in texts for s in row} | {"M"}
        self._relayout()
        self.viewport().update()

    def set_fills(self, fills: list[Sequence[QColor | None]]) -> None:
        """New grounds for the same labels (a cheap repaint)."""
        self.fills = fills
        self.viewport().update()

    # -- geometry

    @property
    def columns(self) -> int:
        return len(self.texts[0]) if self.texts else 0

    @property
    def per_line(self) -> int:
        """Columns in one wrapped line."""
        return max(1, (self.viewport().width() - self._gutter) // self._cell[0])

    def _line_height(self) -> int:
        return len(self.texts) * self._cell[1] + GAP

    def content_height(self) -> int:
        """Pixels the whole wrapped sequence needs."""
        lines = -(-self.columns // self.per_line)
        return lines * self._line_height()

    def whole_height(self) -> int:
        """The height that shows every wrapped line at the widget's own font, frame included:
        for a panel that scrolls its strips together rather than each inside itself."""
        cell, gutter = self._cell, self._gutter
        self._measure(self.font())
        need = self.content_height() + 2 * self.frameWidth()
        self._cell, self._gutter = cell, gutter
        return need

    def _measure(self, font: QFont) -> None:
        """Cell and gutter sizes for the labels in `font`."""
        fm = QFontMetrics(font)
        width = max(fm.horizontalAdvance(s) for s in self._labels) + 2 * PAD
        self._cell = (width, fm.height() + 2 * PAD)
        # the row names stay at the widget's own size, a few pads clear of the first cell
        heads = QFontMetrics(self.font())
        self._gutter = max((heads.horizontalAdvance(h) for h in self.headers), default=0)
        self._gutter += 4 * PAD if self._gutter else 0

    def _relayout(self) -> None:
        """The largest font up to MAX_ZOOM times the widget's whose cells fit the height (a
        short sequence fills its figure), then the scroll range."""
        base = self.font()
        size = base.pointSizeF()
        self.cell_font = QFont(base)
        for zoom in np.arange(MAX_ZOOM, 1.0, -0.1):
            self.cell_font.setPointSizeF(size * zoom)
            self._measure(self.cell_font)
            if self.content_height() <= self.viewport().height():
                break
        else:
            self.cell_font = QFont(base)
            self._measure(base)
        bar = self.verticalScrollBar()
        bar.setRange(0, max(0, self.content_height() - self.viewport().height()))
        bar.setPageStep(self.viewport().height())
        bar.setSingleStep(self._line_height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._relayout()

    def cell_rect(self, row: int, t: int) -> QRect:
        """Cell (row, t) in viewport coordinates."""
        w, h = self._cell
        line, col = divmod(t, self.per_line)
        top = line * self._line_height() + row * h - self.verticalScrollBar().value()
        return QRect(self._gutter + col * w, top, w, h)

    def column_at(self, pos: QPoint) -> int:
        """The column under viewport point `pos`, or -1."""
        w, _ = self._cell
        y = pos.y() + self.verticalScrollBar().value()
        line, within = divmod(y, self._line_height())
        col = (pos.x() - self._gutter) // w
        t = line * self.per_line + col
        if within >= len(self.texts) * self._cell[1] or not 0 <= col < self.per_line:
            return -1
        return t if 0 <= t < self.columns else -1

    def mark(self, t: int) -> None:
        """Outline column t (-1: none) and scroll it into view."""
        self.marked = t
        if 0 <= t < self.columns:
            top = self.cell_rect(0, t).top()
            bottom = self.cell_rect(len(self.texts) - 1, t).bottom()
            bar = self.verticalScrollBar()
            if top < 0 or bottom > self.viewport().height():
                bar.setValue(bar.value() + top - GAP)
        self.viewport().update()

    # -- painting

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if not self.texts:
            return
        painter = QPainter(self.viewport())
        painter.setFont(self.cell_font)
        per_line, lh = self.per_line, self._line_height()
        first = self.verticalScrollBar().value() // lh
        last = (self.verticalScrollBar().value() + self.viewport().height()) // lh
        T = self.columns
        for line in range(first, last + 1):
            ts = range(line * per_line, min(T, (line + 1) * per_line))
            if not ts:
                break
            painter.setFont(self.font())
            painter.setPen(QColor("#666666"))
            for r, header in enumerate(self.headers):
                rect = self.cell_rect(r, ts[0]).adjusted(-self._gutter, 0, 0, 0)
                rect.setWidth(self._gutter - 3 * PAD)
                painter.drawText(rect, RIGHT, header)
            painter.setFont(self.cell_font)
            for t in ts:
                for r in range(len(self.texts)):
                    self._paint_cell(painter, r, t)
        if 0 <= self.marked < T:
            rect = self.cell_rect(0, self.marked).united(
                self.cell_rect(len(self.texts) - 1, self.marked)
            )
            painter.setPen(QPen(QColor(theme.CURSOR), 2.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.end()

    def _paint_cell(self, painter: QPainter, r: int, t: int) -> None:
        rect = self.cell_rect(r, t)
        fill = self.fills[r][t] if r < len(self.fills) else None
        if fill is not None:
            painter.fillRect(rect, fill)
        ink = ink_on(fill) if fill is not None else BLACK
        if self.faded[t]:
            ink = QColor(ink)
            ink.setAlpha(90)
        painter.setPen(ink)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.texts[r][t])
        if self.boxed[r, t]:
            painter.setPen(QPen(BLACK, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect.adjusted(1, 1, -2, -2))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().mouseMoveEvent(event)
        t = self.column_at(event.position().toPoint())
        if t >= 0:
            self.hovered.emit(t)
