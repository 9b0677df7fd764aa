"""What the seq2seq panels draw alike, on pyqtgraph plots: attention weights as a heatmap
with the tokens on both axes (the attention and What-if panels), the top-k next tokens of one
decoder step as bars, and the beam search tree (a Decoded from core/seq2seq/decoded.py); and
the probe-sequence picker above the attention and decoding panels' figures.

Tokens are drawn as plain text (TextItem), big enough to read from the back of a room; on an
axis (rich text) through `shown`, so that <eos> shows. Sizes are read from the theme at each
drawing, so that a panel drawn again after presentation mode changed the theme's font has its
tokens (and the tree's discs around them) at the new size: panels call `redraw_on_font_change`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QComboBox, QLabel

from rnnviz.core.seq2seq.decoded import Decoded
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.plotkit import LABEL_FILL, still_plot

GREY = "#999999"
TOKEN_SCALE = 1.6  # token labels against the theme's font
NODE_EM = 3.1  # a kept hypothesis' disc in the beam tree, its token inside, in font sizes
# A heatmap row at least this many lines of its token high: plotkit drops a tick label that
# would come within a quarter line of its neighbour, and a lost row label is a lost token.
ROW_LINES = 1.3
ROW_TOKEN_SCALES = (0.75, 1.2)  # the rows' tokens shrink to fit a short plot, down to 0.75


def shown(token: str) -> str:
    """A token as a label shows it: a space as '␣', <eos> as ⟨eos⟩ (an axis draws rich text,
    where <eos> would be a tag)."""
    return "␣" if token == " " else token.replace("<", "⟨").replace(">", "⟩")


def token_font(scale: float = TOKEN_SCALE, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(theme.FONT_PT * scale)
    font.setBold(bold)
    return font


def add_sequence_picker(panel: Panel, tooltip: str, on_change) -> QComboBox:
    """A "Sequence:" combo box in the panel's controls row (the probe sequence shown); a
    pick calls `on_change`."""
    combo = QComboBox()
    combo.setToolTip(tooltip)
    label = QLabel("Sequence:")
    label.setBuddy(combo)
    panel.controls_row.addWidget(label)
    panel.controls_row.addWidget(combo)
    panel.controls_row.addStretch(1)
    combo.currentIndexChanged.connect(on_change)
    return combo


def redraw_on_font_change(event: QEvent, redraw) -> None:
    """Call `redraw` when a panel's font changed (presentation mode entered or left: the
    application font's change arrives after the theme's, so the theme's sizes are new)."""
    if event.type() == QEvent.Type.FontChange:
        redraw()


class TextPool:
    """TextItems on a plot, reused from one drawing to the next (a tree has ~100 labels)."""

    def __init__(self, plot: pg.PlotItem, fill: bool = True) -> None:
        self.plot = plot
        self.fill = pg.mkBrush(LABEL_FILL) if fill else None
        self.items: list[pg.TextItem] = []

    def show(self, labels: Sequence[tuple[str, float, float, QFont, str, tuple]]) -> None:
        """(text, x, y, font, colour, anchor) per label; the rest hide."""
        while len(self.items) < len(labels):
            item = pg.TextItem(fill=self.fill)
            self.plot.addItem(item, ignoreBounds=True)
            self.items.append(item)
        for item, (text, x, y, font, colour, anchor) in zip(self.items, labels, strict=False):
            item.setText(text, color=colour)
            item.setFont(font)
            item.setAnchor(anchor)
            item.setPos(x, y)
            item.setVisible(True)
        for item in self.items[len(labels) :]:
            item.setVisible(False)


def outline(box: pg.PlotDataItem, row: int | None, n: int) -> None:
    """Outline row `row` of an n-column heatmap whose cell (t, j) is centred on (j, t)
    (nothing for None)."""
    if row is None or not n:
        box.setData([], [])
        return
    x0, x1, y0, y1 = -0.5, n - 0.5, row - 0.5, row + 0.5
    box.setData([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])


class AttentionHeatmap:
    """Weights α_t,j as a heatmap in row `row` of a layout: a row per decoder step (step 0 on
    top, its output token on the left), a column per input token, fixed levels 0 … 1 with a
    colour bar in the layout's next column (beside the plot, not inside it, so that a plot
    below lines up with the columns), and the row under the time cursor outlined."""

    def __init__(self, view: pg.GraphicsLayoutWidget, row: int = 0) -> None:
        self.plot = still_plot(view.addPlot(row=row, col=0))
        self.plot.invertY(True)  # step 0 at the top, as the output is read
        self.image = pg.ImageItem(axisOrder="row-major")  # rows t, columns j
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1),  # fixed: a weight's colour means the same at every step
            colorMap=theme.cmap(theme.SEQUENTIAL),
            label="α<sub>t,j</sub>",
            interactive=False,
            width=16,
        )
        self.colorbar.setImageItem(self.image)
        view.addItem(self.colorbar, row=row, col=1)
        self.row_box = pg.PlotDataItem(pen=theme.pen(theme.CURSOR, 3))
        self.plot.addItem(self.row_box, ignoreBounds=True)
        self.weights = np.zeros((0, 0))  # (steps, input tokens) shown
        self._fit_tokens([], [])
        self.plot.vb.sigResized.connect(self.fit_rows)

    def show(self, weights, inputs: Sequence[str], outputs: Sequence[str]) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        rows, n = self.weights.shape
        self.image.setImage(self.weights, levels=(0, 1))
        self.image.setRect(QRectF(-0.5, -0.5, n, rows))  # cell (t, j) centred on (j, t)
        self.plot.getAxis("bottom").setTicks([list(enumerate(map(shown, inputs)))])
        self.plot.getAxis("left").setTicks([list(enumerate(map(shown, outputs)))])
        self._fit_tokens(outputs, inputs)
        self.plot.setRange(xRange=(-0.5, n - 0.5), yRange=(-0.5, rows - 0.5), padding=0)

    def _fit_tokens(self, outputs: Sequence[str], inputs: Sequence[str]) -> None:
        """Token fonts at the theme's present size, and cells big enough that every token
        keeps its label: the rows' tokens shrink to fit a short plot (`fit_rows`), and below
        their smallest size the whole figure is drawn smaller (FitToView) rather than every
        other decoder step losing its token."""
        bottom_font = token_font(1.0)  # up to 30 tokens across
        self.plot.getAxis("bottom").setStyle(tickFont=bottom_font)
        smallest = QFontMetricsF(token_font(ROW_TOKEN_SCALES[0])).height()
        self.plot.vb.setMinimumHeight(len(outputs) * smallest * ROW_LINES)
        fm = QFontMetricsF(bottom_font)
        widest = max((fm.horizontalAdvance(shown(t)) for t in inputs), default=0.0)
        self.plot.vb.setMinimumWidth(len(inputs) * (widest + fm.height()))  # room to spare
        self.fit_rows()

    def fit_rows(self) -> None:
        """The rows' token font as large as the rows' height allows, within ROW_TOKEN_SCALES
        (on every resize of the plot)."""
        rows = max(self.weights.shape[0], 1)
        line = QFontMetricsF(token_font(1.0)).height()
        lo, hi = ROW_TOKEN_SCALES
        scale = min(max(self.plot.vb.height() / (rows * line * ROW_LINES), lo), hi)
        font = token_font(round(scale, 2))
        if font != self.plot.getAxis("left").style["tickFont"]:  # a new font lays out anew
            self.plot.getAxis("left").setStyle(tickFont=font)

    def clear(self) -> None:
        self.weights = np.zeros((0, 0))
        self.image.clear()
        self._fit_tokens([], [])
        self.mark(None)

    def mark(self, row: int | None) -> None:
        """Outline the row under the time cursor (None: none)."""
        outline(self.row_box, row, self.weights.shape[1])


class TopKBars:
    """The k most likely next tokens of one step as horizontal bars, most likely on top, the
    token the decoding chose in blue; the x axis is p, fixed 0 … 1."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = still_plot(plot)
        plot.invertY(True)
        plot.setLabel("bottom", "p(next token)")
        plot.getAxis("left").setStyle(tickFont=token_font())
        plot.setXRange(0, 1.0, padding=0.02)
        plot.getAxis("bottom").setTicks([[(v, f"{v:g}") for v in (0, 0.5, 1)]])
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        plot.addItem(self.bars)
        self.values = TextPool(plot)
        self.tokens: list[str] = []
        self.p = np.zeros(0)

    def show(self, top: Sequence[tuple[str, float]], chosen: str | None) -> None:
        self.tokens = [tok for tok, _ in top]
        self.p = np.array([p for _, p in top], dtype=np.float64)
        k = len(top)
        colours = [theme.BLUE if tok == chosen else GREY for tok in self.tokens]
        self.bars.setOpts(x0=np.zeros(k), y=np.arange(k), width=self.p, brushes=colours)
        self.plot.getAxis("left").setTicks([[(i, shown(t)) for i, t in enumerate(self.tokens)]])
        self.plot.setYRange(-0.5, max(k, 1) - 0.5, padding=0.02)
        font = token_font(1.0)
        self.values.show(  # after a short bar, inside the end of a long one
            [
                (f"{p:.3f}", p, i, font, theme.BLACK, (1.05, 0.5) if p > 0.6 else (-0.05, 0.5))
                for i, p in enumerate(self.p)
            ]
        )

    def clear(self) -> None:
        self.show([], None)


class BeamTree:
    """The hypotheses of a beam search: decoder step t across, the hypotheses of each step
    down (kept ones first, best first), an edge from each prefix to its extension. Kept
    hypotheses are orange, dropped ones grey, the best finished hypothesis a thick blue
    path; each node has its token inside and its log p below."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = still_plot(plot)
        plot.invertY(True)
        plot.setLabel("bottom", "decoder step t")
        plot.setLabel("left", "hypotheses (kept first)")
        plot.getAxis("left").setTicks([[]])
        self.edges = pg.PlotDataItem(connect="pairs", pen=theme.pen(GREY, 1.2))
        self.kept_edges = pg.PlotDataItem(connect="pairs", pen=theme.pen(theme.ORANGE, 2.0))
        self.best_edges = pg.PlotDataItem(connect="pairs", pen=theme.pen(theme.BLUE, 5.0))
        # drawn as paths, not from pyqtgraph's pixmap cache: an SVG then holds circles, not
        # one embedded image a node (8.6 MB for a tree of 66)
        self.points = pg.ScatterPlotItem(pen=pg.mkPen(theme.BLACK, width=0.5), useCache=False)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=theme.pen(theme.CURSOR, 2))
        for item in (self.edges, self.kept_edges, self.best_edges, self.points):
            plot.addItem(item)
        plot.addItem(self.cursor, ignoreBounds=True)
        self.token_labels, self.logp_labels = TextPool(plot, fill=False), TextPool(plot)
        self.xy = np.zeros((0, 2))  # each node's (t, row)

    def show(self, decoded: Decoded) -> None:
        nodes = decoded.nodes
        row_of: dict[int, int] = {}
        per_step: dict[int, list[int]] = {}
        for i, n in enumerate(nodes):  # kept before dropped, then by log p
            per_step.setdefault(n.step, []).append(i)
        for ids in per_step.values():
            ids.sort(key=lambda i: (not nodes[i].kept, -nodes[i].logp))
            row_of.update({i: r for r, i in enumerate(ids)})
        self.xy = np.array([(n.step, row_of[i]) for i, n in enumerate(nodes)], float)
        lines: dict[str, list] = {"best": [], "kept": [], "dropped": []}
        for i, n in enumerate(nodes):
            if n.parent < 0:
                continue
            kind = "best" if n.best else "kept" if n.kept else "dropped"
            lines[kind] += [self.xy[n.parent], self.xy[i]]
        for item, kind in (
            (self.best_edges, "best"),
            (self.kept_edges, "kept"),
            (self.edges, "dropped"),
        ):
            xy = np.array(lines[kind]).reshape(-1, 2)
            item.setData(xy[:, 0], xy[:, 1])
        colour = [theme.BLUE if n.best else theme.ORANGE if n.kept else "#EEEEEE" for n in nodes]
        px = NODE_EM * theme.FONT_PT  # 34 px at the normal font: grows with presentation mode
        size = [px if n.kept else px * 0.8 for n in nodes]
        self.points.setData(pos=self.xy, brush=colour, size=size)
        bold, plain, small = token_font(1.1, bold=True), token_font(1.0), token_font(0.8)
        tokens, logps = [], []
        for n, (x, y) in zip(nodes, self.xy, strict=True):
            ink = "#FFFFFF" if n.best else theme.BLACK if n.kept else GREY
            tokens.append((shown(n.token), x, y, bold if n.best else plain, ink, (0.5, 0.5)))
            logp_ink = theme.BLACK if n.kept else GREY
            logps.append((f"{n.logp:.2f}", x, y, small, logp_ink, (0.5, -0.6)))
        self.token_labels.show(tokens)  # in the node, its log p below: edges stay clear
        self.logp_labels.show(logps)
        rows = max((len(v) for v in per_step.values()), default=1)
        steps = max(per_step, default=0) + 1
        self.plot.setXRange(-0.5, steps - 0.5, padding=0)
        self.plot.setYRange(-0.75, rows - 0.4, padding=0)  # room for the top row's tokens

    def clear(self) -> None:
        for item in (self.edges, self.kept_edges, self.best_edges):
            item.setData([], [])
        self.points.setData(pos=np.zeros((0, 2)))
        self.token_labels.show([])
        self.logp_labels.show([])
        self.plot.setTitle(None)

    def mark(self, t: int) -> None:
        self.cursor.setValue(t)
