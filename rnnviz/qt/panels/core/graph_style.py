"""How the unrolled graph writes and paints its nodes: sizes, greys, short values, fonts that
fit a node, cached pens and the log colour bar's ticks."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPen

from rnnviz.qt.panels.core.graph_rows import SUP

HALF_W, HALF_H = 0.34, 0.3  # node half-width and half-height, in column and row pitches
MAX_HALF_H = 0.4  # in short rows (a deep stack) nodes grow to this to hold their value
SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
EDGE_GREY, NODE_GREY = "#808080", "#EEEEEE"


def fmt(v: float, backward: bool) -> str:
    """Short node label: '0.83', '12.4', '3.2e-4'."""
    if backward:
        m, e = f"{v:.1e}".split("e")
        if abs(int(e)) >= 10:  # keep labels to six characters
            m, e = f"{v:.0e}".split("e")
        return f"{m}e{int(e)}" if v else "0"
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}"


WIDEST = "−8.8e-5"  # the widest value fmt writes


def fitted_font(font: QFont, width: float, height: float, lines: int) -> QFont:
    """`font`, or smaller where the widest value (and `lines` lines) would not fit inside a
    node of width x height px: a value that wraps would print over the node's border."""
    fm = QFontMetricsF(font)
    room = min(1.0, 0.9 * width / fm.horizontalAdvance(WIDEST), height / (lines * fm.height()))
    fitted = QFont(font)
    fitted.setPointSizeF(max(6.0, font.pointSizeF() * room))
    return fitted


def short(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:.2f}"


@lru_cache(maxsize=1024)
def pen(rgb: int, width: float, dashed: bool = False) -> QPen:
    """A cosmetic pen, cached: show_time sets a hundred of them per cursor move."""
    pen = QPen(QColor.fromRgb(rgb), width)
    pen.setCosmetic(True)
    pen.setStyle(Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
    return pen


def log_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]]:
    """Colour-bar ticks for log10 levels, labelled with the values: 10⁻³, 2·10⁻³, …"""
    decades = range(int(np.floor(lo)), int(np.ceil(hi)) + 1)
    ticks = [
        (np.log10(m) + e, (f"{m}·" if m > 1 else "") + f"10{str(e).translate(SUP)}")
        for e in decades
        for m in (1, 2, 5)
    ]
    ticks = [(v, s) for v, s in ticks if lo <= v <= hi]
    if len(ticks) > 7:  # decades only, at most about 7 of them
        stride = max(1, round(len(decades) / 6))
        ticks = [(v, s) for v, s in ticks if "·" not in s and round(v) % stride == 0]
    if len(ticks) < 3:  # less than a factor of five: plain values
        ticks = [(v, fmt(10**v, True)) for v in np.linspace(lo, hi, 4)]
    return [ticks]
