"""Gate activations: one units × time heatmap per gate of one layer, and the gates at t as bars.

LSTM (i, f, g, o) and GRU (r, z, n) gates, in torch's order:

    i, f, o, r, z = σ(W_i· x_t + W_h· h_{t-1} + b)   ∈ [0, 1]   (how much passes)
    g, n          = tanh(…)                          ∈ [-1, 1]  (the candidate values)

Colour levels are fixed (0..1, -1..1) so that images from different training steps compare:
a forget gate near 1 keeps the cell state, near 0 wipes it. The Elman RNN has no gates: the
panel shows its pre-activation a_t and h_t instead.

Images are row-major (H, T): x is the timestep, y the unit (unit 0 at the top).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout

from rnnviz.core.cells import GATES
from rnnviz.core.trace import LayerTrace
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.halves import Half, half
from rnnviz.qt.plotkit import QWIDGETSIZE_MAX
from rnnviz.qt.ranges import finite_bounds
from rnnviz.qt.tokens import set_time_axis

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

# the Elman RNN's two heatmaps; the gates' words come from the cell registry
GATE_TITLES = {
    **{g.name: f"{g.word} {g.name}" for g in GATES.values()},
    "a": "pre-activation a",
    "h": "hidden state h",
}
# sigmoid gate -> (colour levels, colour map); tanh candidates are signed
GATE_SCALE = {True: ((0.0, 1.0), theme.SEQUENTIAL), False: ((-1.0, 1.0), theme.DIVERGING)}
RNN_NOTE = (
    "The Elman RNN has no gates: h<sub>t</sub> = {f}(W<sub>hh</sub> h<sub>t-1</sub> + "
    "W<sub>xh</sub> x<sub>t</sub> + b). Shown: pre-activation a<sub>t</sub> and "
    "h<sub>t</sub>."
)
MIN_ROW = 4.0  # px: a heatmap squeezed to a strip still shows that its gate is there


def scale_kind(name: str) -> str:
    """Heatmaps of one kind share a colour bar: the sigmoid gates, the tanh candidates."""
    gate = GATES.get(name)
    return name if gate is None else "sigmoid" if gate.sigmoid else "tanh"


def symbol_html(name: str, symbol: str) -> str:
    """The quantity's symbol in bold, in its colour (the colour of its bars)."""
    return f"<b><span style='color:{theme.GATE_COLOURS.get(name, theme.BLACK)}'>{symbol}</span></b>"


class UnitAxis(pg.AxisItem):
    """The unit numbers beside a heatmap, spaced so that their labels never overlap: a short
    heatmap of 32 units gets 0, 20 rather than 0, 10, 20, 30 printed over one another."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph API)
        span = abs(maxVal - minVal)
        if span == 0:
            return []
        line = QFontMetricsF(self.style["tickFont"] or self.font()).height()
        fits = max(2, int(size / (1.5 * line)))  # labels with half a line between them
        wanted = max(1.0, span / fits)  # units are whole numbers
        decade = 10.0 ** np.floor(np.log10(wanted))
        return [(next(m * decade for m in (1, 2, 5, 10) if m * decade >= wanted), 0)]


def quantities(lt: LayerTrace, nonlinearity: str | None) -> list[tuple]:
    """(name, (T, H) array of sequence 0, colour levels, colour map) for each heatmap."""
    if lt.gates:
        return [(g, v[0], *GATE_SCALE[GATES[g].sigmoid]) for g, v in lt.gates.items()]
    a, h = lt.preact[0], lt.h[0]
    # levels from the finite values: a diverged run's NaN or inf would make them NaN
    lo, hi = finite_bounds([a], log=False)
    m = max(abs(lo), abs(hi), 1e-6) if math.isfinite(lo) else 1.0
    if nonlinearity == "relu":
        top = finite_bounds([h], log=False)[1]
        h_levels, h_map = (0.0, max(top, 1e-6) if math.isfinite(top) else 1.0), theme.SEQUENTIAL
    else:
        h_levels, h_map = (-1.0, 1.0), theme.DIVERGING
    return [("a", a, (-m, m), theme.DIVERGING), ("h", h, h_levels, h_map)]


class GateActivationsPanel(Panel):
    title = "Gate activations"
    key = "gates"
    needs_layers = True
    picks_halves = True
    info = (
        "Each heatmap is one gate of the chosen layer: units down, time across, fixed colour "
        "levels (0..1 for the sigmoid gates i, f, o, r, z; -1..1 for the tanh candidates g, "
        "n). The bars are the gates at the cursor t. A forget gate f ≈ 1 keeps c_{t-1}; an "
        "update gate z ≈ 1 keeps h_{t-1} (torch's GRU: h_t = (1-z) n + z h_{t-1})."
    )

    def __init__(self, cursor, parent=None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker("Layer and direction (encoder or decoder) shown")
        self.layer_combo.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.controls_row.addStretch(1)
        self.note = QLabel()  # part of the figure: what an Elman RNN shows instead of gates
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        self.graphics = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.graphics)
        self.hover_label = self.add_hint("Hover a heatmap for exact values.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.note)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)
        self.font = QFont()
        self.font.setPointSize(theme.FONT_PT)
        self.trace = None
        self.half: Half | None = None  # the layer shown, its steps and tokens
        self.names: tuple[str, ...] = ()  # the heatmaps shown, top to bottom
        self._shape = (0, 0)  # (T, H) the axes are ranged for
        self.data: dict[str, np.ndarray] = {}  # name -> (T, H) values of sequence 0
        self.titles: dict[str, pg.LabelItem] = {}
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.colorbars: dict[str, pg.ColorBarItem] = {}
        self.cursor_lines: dict[str, pg.InfiniteLine] = {}
        self.bar_plots: dict[str, pg.PlotItem] = {}
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.layer_combo.currentIndexChanged.connect(self._layer_changed)
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.graphics.installEventFilter(self)

    @property
    def layer(self) -> LayerTrace | None:
        return None if self.half is None else self.half.layer

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        self.trace = trace
        self._show_layer(half(trace, self.layer_combo.currentIndex()))

    def _layer_changed(self) -> None:
        if self.trace is not None:
            self._show_layer(half(self.trace, self.layer_combo.currentIndex()))
            self.show_time(self.cursor.t)

    def _show_layer(self, shown: Half) -> None:
        self.half, lt = shown, shown.layer
        nonlinearity = self.trace.meta.get("nonlinearity")
        self.note.setText(RNN_NOTE.format(f=nonlinearity or "tanh"))
        self.note.setVisible(not lt.gates)
        steps = slice(shown.start, shown.start + shown.steps)  # a padded sentence's words
        qs = [(name, v[steps], *scale) for name, v, *scale in quantities(lt, nonlinearity)]
        T, H = qs[0][1].shape
        rebuilt = tuple(q[0] for q in qs) != self.names
        if rebuilt:
            self._build([q[0] for q in qs])
        for name, values, levels, cmap in qs:
            self.data[name] = values
            img = self.images[name]
            # (H, T), in float64: downsampling averages pixels, and a diverged run's 1e38
            # pre-activations overflowed float32's sum
            img.setImage(values.T.astype(np.float64), autoLevels=False, autoDownsample=True)
            img.setRect(QRectF(-0.5, -0.5, T, H))
            bar = self.colorbars[name]
            if getattr(bar, "scale", None) != (cmap, levels):  # each redraws the bar and axis
                bar.scale = (cmap, levels)
                bar.setColorMap(theme.cmap(cmap))
                bar.setLevels(levels)
            lo, hi = bar.levels()  # as the images hold them (float32): ticks inside the range
            # ticks at the ends, and at 0 or ½ where they are round numbers
            mid = [0.0] if lo < 0 < hi else [0.5] if levels == (0.0, 1.0) else []
            bar.axis.setTicks([[(v, f"{v:.2g}") for v in (lo, *mid, hi)]])
            # the narrow bars' axis: labels at the ends only, a bare tick between
            ends = [(v, f"{v:.2g}" if v in (lo, hi) else "") for v in (lo, *mid, hi)]
            self.bar_plots[name].getAxis("bottom").setTicks([ends])
            self.bar_plots[name].setXRange(*levels, padding=0.2)  # room for the end labels
            zeros = np.zeros(H)  # all at once: a new H must not meet the old widths
            self.bars[name].setOpts(x0=zeros, y=np.arange(H), height=0.8, width=zeros)
        last = self.plots[self.names[-1]]
        set_time_axis(last.getAxis("bottom"), shown, T)
        last.setLabel("bottom", shown.axis_label)  # the same height whichever half
        for line in self.cursor_lines.values():  # an encoder's mark follows the cursor only
            line.setMovable(shown.follows_cursor)
        if not rebuilt and (T, H) == self._shape:
            return  # keep the user's zoom
        self._shape = (T, H)
        first = self.plots[self.names[0]]
        first.setLimits(xMin=-0.5, xMax=T - 0.5, yMin=-0.5, yMax=H - 0.5)
        first.setRange(xRange=(-0.5, T - 0.5), yRange=(-0.5, H - 0.5), padding=0)
        for name in self.names[1:]:
            self.plots[name].setLimits(yMin=-0.5, yMax=H - 0.5)
            self.plots[name].setYRange(-0.5, H - 0.5, padding=0)

    # -- drawing

    def _build(self, names: list[str]) -> None:
        """One row per heatmap, its name above it: heatmap (units × time) | bars at t. Below
        them one colour bar per colour scale, named by the quantities that use it."""
        self.graphics.clear()
        for d in (
            self.titles,
            self.plots,
            self.images,
            self.colorbars,
            self.cursor_lines,
            self.bar_plots,
            self.bars,
            self.data,
        ):
            d.clear()
        self.names = tuple(names)
        self.font.setPointSize(theme.FONT_PT)  # larger when presenting
        layout = self.graphics.ci
        for i, name in enumerate(names):
            last = i == len(names) - 1
            words, symbol = GATE_TITLES[name].rsplit(" ", 1)
            self.titles[name] = self._label(f"{words} {symbol_html(name, symbol)}", "left")
            # above its heatmap, over the title column (empty until the titles move into it)
            layout.addItem(self.titles[name], row=2 * i, col=0, colspan=2)
            plot = layout.addPlot(row=2 * i + 1, col=1, axisItems={"left": UnitAxis("left")})
            img = pg.ImageItem()
            plot.addItem(img)
            plot.invertY(True)
            plot.setMouseEnabled(x=True, y=False)
            plot.hideButtons()
            line = pg.InfiniteLine(angle=90, movable=True, pen=theme.pen(theme.CURSOR))
            line.sigDragged.connect(self._line_dragged)
            plot.addItem(line)
            bars_plot = layout.addPlot(row=2 * i + 1, col=2)
            bars_plot.invertY(True)
            bars_plot.setYLink(plot)
            bars_plot.setMouseEnabled(x=False, y=False)
            bars_plot.hideButtons()
            bars_plot.hideAxis("left")  # the heatmap beside it numbers the units
            bars_plot.addItem(pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#999999")))
            bars = pg.BarGraphItem(
                x0=0,
                y=[],
                height=0.8,
                width=[],
                brush=theme.GATE_COLOURS.get(name, theme.BLUE),
                pen=None,
            )
            bars_plot.addItem(bars)
            for p in (plot, bars_plot):
                for side in ("left", "bottom"):
                    p.getAxis(side).setStyle(tickFont=self.font)
                    p.getAxis(side).enableAutoSIPrefix(False)
                p.showAxis("bottom", last)
            if i > 0:
                plot.setXLink(self.plots[names[0]])
            if last:
                plot.setLabel("bottom", self.half.axis_label)
            self.plots[name], self.images[name] = plot, img
            self.cursor_lines[name], self.bar_plots[name], self.bars[name] = line, bars_plot, bars
        # the bars' column header: which t they show (set by show_time)
        self.bars_title = self._label(" ", "center")
        layout.addItem(self.bars_title, row=0, col=2)
        scales = self.scales = layout.addLayout(row=2 * len(names), col=0, colspan=3)
        scales.layout.setHorizontalSpacing(2 * theme.FONT_PT)  # room for the end labels
        scales.layout.setContentsMargins(0, 6, 0, 0)
        for kind in dict.fromkeys(scale_kind(n) for n in names):  # in order of first use
            users = [n for n in names if scale_kind(n) == kind]
            symbols = ", ".join(symbol_html(n, GATE_TITLES[n].rsplit(" ", 1)[1]) for n in users)
            scales.addItem(self._label(symbols, "right"))
            cbar = pg.ColorBarItem(
                values=(0, 1), interactive=False, orientation="horizontal", width=12
            )
            cbar.setImageItem([self.images[n] for n in users])
            # the end labels reach past the bar's ends by half their width
            cbar.axis.setStyle(tickFont=self.font, hideOverlappingLabels=3 * theme.FONT_PT)
            cbar.axis.enableAutoSIPrefix(False)
            cbar.setMinimumWidth(8 * theme.FONT_PT)
            cbar.setMaximumWidth(20 * theme.FONT_PT)  # a scale, not a feature of the figure
            scales.addItem(cbar)
            for n in users:
                self.colorbars[n] = cbar
        scales.addLayout().setMinimumWidth(0)  # takes the spare width: bars stay at the left
        scales.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        layout.layout.setVerticalSpacing(2)
        layout.layout.setColumnStretchFactor(0, 0)
        layout.layout.setColumnStretchFactor(1, 6)
        layout.layout.setColumnStretchFactor(2, 1)
        self.inline = False
        self._size_rows()

    def _size_rows(self) -> None:
        """The heatmaps share the view's height equally, whatever is left after the titles,
        the colour bars and the time axis. Equal stretch would make the last one shorter by
        the height of the time axis, which its row also holds.

        The height comes from the view, not from the layout: fixed rows set the layout's
        minimum height, so a layout that has grown never shrinks again by itself. Where the
        heatmaps would be shorter than two title lines the titles move beside them; with
        less room still the heatmaps get short (the unit axis thins its labels), but every
        gate keeps its row. Runs on a resize, not on a redraw."""
        if not self.names:
            return
        grid, n = self.graphics.ci.layout, len(self.names)
        _, top, _, bottom = grid.getContentsMargins()
        hint = Qt.SizeHint.PreferredSize
        titles = sum(self.titles[g].effectiveSizeHint(hint).height() for g in self.names)
        rest = self.scales.effectiveSizeHint(hint).height() + top + bottom
        rest += 2 * n * grid.verticalSpacing()
        axis = self.plots[self.names[-1]].getAxis("bottom").minimumHeight()
        # the view's height as just resized (its viewport follows only after this event)
        room = self.graphics.height() - 2 * self.graphics.frameWidth() - rest - axis
        # heatmaps shorter than two title lines: the titles move beside them, in the width
        inline = room - titles < 2 * titles
        if inline != self.inline:
            self._place_titles(inline)
        header = self.bars_title.effectiveSizeHint(hint).height()  # the first row keeps it
        each = max(MIN_ROW, (room - (header if inline else titles)) / n)
        for i in range(n):
            grid.setRowFixedHeight(2 * i + 1, each + (axis if i == n - 1 else 0))

    def _place_titles(self, inline: bool) -> None:
        """Each title above its heatmap, or (`inline`) beside it, at the left."""
        grid = self.graphics.ci.layout
        for i, name in enumerate(self.names):
            title = self.titles[name]
            grid.removeItem(title)
            if inline:
                grid.addItem(title, 2 * i + 1, 0, Qt.AlignmentFlag.AlignTop)
                if i > 0:  # the first title row also holds the bars' header, "at t = 5"
                    grid.setRowFixedHeight(2 * i, 0)
            else:
                grid.addItem(title, 2 * i, 0, 1, 2)
                grid.setRowMinimumHeight(2 * i, 0)
                grid.setRowMaximumHeight(2 * i, QWIDGETSIZE_MAX)
        self.inline = inline

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt API)
        # the view's own size, which the note and the hover line above and below it change too
        if watched is self.graphics and event.type() == QEvent.Type.Resize:
            self._size_rows()
        return False

    def _label(self, html: str, justify: str) -> pg.LabelItem:
        """A one-line label at the theme's size, only as tall as its text."""
        label = pg.LabelItem(justify=justify, size=f"{theme.FONT_PT}pt")
        label.item.document().setDocumentMargin(0)
        label.setText(html)
        return label

    def show_time(self, t: int) -> None:
        if self.half is None:
            return
        T = len(self.data[self.names[0]])
        t = self.half.at(t)
        # as wide for every t (figure spaces are as wide as digits): the columns, and the
        # heatmaps with them, hold still as t goes from 9 to 10 (an animation would jump)
        digits = str(t).rjust(len(str(T - 1)), chr(0x2007))
        at = f"at {self.half.symbol} = {digits}"
        self.bars_title.setText(f"<span style='white-space:pre'>{at}</span>")
        for name in self.names:
            self.cursor_lines[name].setValue(t)
            v = self.data[name][t]  # (H,)
            self.bars[name].setOpts(x0=np.minimum(v, 0), width=np.abs(v))

    def _line_dragged(self, line: pg.InfiniteLine) -> None:
        self.cursor.set(round(line.value()))

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """The heatmaps of the layer shown: t, then each quantity's units ("f unit 3")."""
        if self.half is None:
            return {}
        table = {self.half.symbol: np.arange(len(self.data[self.names[0]]))}
        for name in self.names:
            for unit in range(self.data[name].shape[1]):
                table[f"{name} unit {unit}"] = self.data[name][:, unit]
        return {"time": table}

    # -- hover

    def describe(self, name: str, unit: int, t: int) -> str:
        """'f, unit 3, t=17: 0.973' (t=4 'not' for words) — the exact value under the mouse."""
        value = self.data[name][t, unit]
        return f"{name}, unit {unit}, {self.half.where(t, compact=True, eq='=')}: {value:.4g}"

    def _hover(self, pos) -> None:
        for name in self.names:
            for plot, on_bars in ((self.plots[name], False), (self.bar_plots[name], True)):
                vb = plot.getViewBox()
                if not vb.sceneBoundingRect().contains(pos):
                    continue
                p = vb.mapSceneToView(pos)
                T, H = self.data[name].shape
                t = self.half.at(self.cursor.t) if on_bars else round(p.x())
                unit = round(p.y())
                if 0 <= t < T and 0 <= unit < H:
                    self.hover_label.setText(self.describe(name, unit, min(t, T - 1)))
                return
