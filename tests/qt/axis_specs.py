"""What a pyqtgraph axis would paint, for tests that read its tick labels."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QImage, QPainter


def draw_specs(axis: pg.AxisItem):
    """The axis's draw specs (axis line, ticks, texts) laid out on a scratch painter; None
    when it draws nothing."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        return axis.generateDrawSpecs(painter)
    finally:
        painter.end()
