"""Colours, fonts and pyqtgraph defaults shared by every panel.

A light theme by default: exported images go on white slides and paper. Colours are the
Okabe–Ito palette, distinguishable with the common colour-vision deficiencies. Panels take
their colours and pens from here, never hard-coded, so presentation mode can enlarge them.
"""

from __future__ import annotations

import pyqtgraph as pg

# Okabe & Ito (2008) colour-blind-safe palette.
BLUE, ORANGE, GREEN, VERMILION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
SKY, PURPLE, YELLOW, BLACK = "#56B4E9", "#CC79A7", "#F0E442", "#000000"
SERIES = (BLUE, ORANGE, GREEN, VERMILION, PURPLE, SKY, YELLOW, BLACK)
GATE_COLOURS = {
    "i": GREEN,
    "f": BLUE,
    "g": ORANGE,
    "o": PURPLE,
    "r": VERMILION,
    "z": BLUE,
    "n": ORANGE,
    "a": BLACK,
    "h": BLACK,
    "c": GREEN,
}
# The time cursor t, in every panel: magenta, a hue the palette does not use, so that it never
# reads as one of the series (ΔE*ab ≥ 75 from each; tests/qt/test_export.py measures it).
CURSOR = "#FF00FF"
THRESHOLD = VERMILION

# Colour maps: sequential for magnitudes, diverging for signed values.
SEQUENTIAL = "viridis"
DIVERGING = "CET-D1"  # blue-white-red, centred on zero

# Presentation mode's high contrast: each light colour of the palette darkened in its own hue
# (contrast with white >= 3:1, WCAG's rule for graphics), so that a projector's washed-out
# image still shows yellow, sky blue and orange curves; black and the dark colours stay.
STRONG = {
    YELLOW: "#8F8500",
    SKY: "#1B7DB8",
    ORANGE: "#A86E00",
    GREEN: "#00805E",
    PURPLE: "#A84F85",
    VERMILION: "#C24E00",
    "#999999": "#555555",  # reference lines (zero, chance)
}

LINE_WIDTH = 2.0
LONG_SEQUENCE = 250  # more timesteps than this: curves over t are hairlines (curve_width)
FONT_PT = 11


def apply(scale: float = 1.0, lines: float | None = None) -> None:
    """Set pyqtgraph's global look; `scale` > 1 enlarges fonts (and lines, by `lines` where
    given) for presentation mode."""
    global LINE_WIDTH, FONT_PT
    LINE_WIDTH, FONT_PT = 2.0 * (lines or scale), round(11 * scale)
    pg.setConfigOptions(background="w", foreground="k", antialias=True, imageAxisOrder="row-major")
    from rnnviz.qt.plotkit import legible_tick_labels  # plotkit draws with this module
    from rnnviz.qt.steady_axes import steady_axes

    legible_tick_labels()
    steady_axes()


def curve_width(points: int) -> float:
    """The pen width of a curve of `points` points: Qt strokes a long jagged antialiased path
    of width 2 about 100x slower than a hairline (T = 10000: 1.2 s a paint against 7 ms)."""
    return LINE_WIDTH if points <= LONG_SEQUENCE else 1.0


def pen(colour: str = BLUE, width: float | None = None, style=None) -> pg.QtGui.QPen:
    p = pg.mkPen(colour, width=width or LINE_WIDTH)
    if style is not None:
        p.setStyle(style)
    return p


def cmap(name: str) -> pg.ColorMap:
    return pg.colormap.get(name)
