"""Text labels beside many points of a plot, as one graphics item.

A pg.TextItem per label keeps its own transform against the view's scaling, which is
refreshed whenever it moves: labelling a vocabulary of 76 words that way was two thirds of the
embedding panel's redraw and paint, at every recording. This item draws every label in one
paint, in the view's pixels (text keeps its size as the view zooms), each with its lower left
corner a few pixels right of and above its point, like TextItem's anchor (0, 1).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFont, QFontMetricsF

PAD = 3.0  # px between a point and its label


class PointLabels(pg.GraphicsObject):
    """Labels `texts[i]` at view coordinates `points[i]` (set by `set_labels`)."""

    def __init__(self, font: QFont, color: str = "k") -> None:
        super().__init__()
        self.font = font
        self.pen = pg.mkPen(color)
        self.texts: list[str] = []
        self.points = np.zeros((0, 2))

    def set_labels(self, texts: list[str], points: np.ndarray) -> None:
        """Show `texts` (n,) at `points` (n, 2), in place of what was shown."""
        self.texts, self.points = list(texts), np.asarray(points, float).reshape(-1, 2)
        self.update()

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph API)
        self.prepareGeometryChange()  # the bounds are the view's

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        # the labels reach a word's width past their points, in pixels: the whole view
        rect = self.viewRect()
        return QRectF() if rect is None else rect

    def paint(self, p, *args) -> None:
        view = self.getViewWidget()
        if view is None or not self.texts:
            return
        # item -> the view's pixels (pyqtgraph's deviceTransform() crashes inside a paint)
        to_view = self.sceneTransform() * view.viewportTransform()
        # what the painter adds after the view's pixels (an export's scale): text drawn there
        # keeps its size in pixels whatever the zoom
        back, invertible = to_view.inverted()
        if not invertible:
            return
        p.setTransform(back * p.transform())
        p.setFont(self.font)
        p.setPen(self.pen)
        lift = QFontMetricsF(self.font).descent() + PAD
        for text, (x, y) in zip(self.texts, self.points, strict=True):
            at = to_view.map(QPointF(x, y))
            p.drawText(QPointF(at.x() + PAD, at.y() - lift), text)
