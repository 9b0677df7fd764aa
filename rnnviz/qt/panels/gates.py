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

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout

from rnnviz.core.trace import SIGMOID_GATES, LayerTrace
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

GATE_TITLES = {
    "i": "input gate i",
    "f": "forget gate f",
    "g": "candidate g",
    "o": "output gate o",
    "r": "reset gate r",
    "z": "update gate z",
    "n": "candidate n",
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


def quantities(lt: LayerTrace, nonlinearity: str | None) -> list[tuple]:
    """(name, (T, H) array of sequence 0, colour levels, colour map) for each heatmap."""
    if lt.gates:
        return [(g, v[0], *GATE_SCALE[g in SIGMOID_GATES]) for g, v in lt.gates.items()]
    a, h = lt.preact[0], lt.h[0]
    m = max(float(np.abs(a).max()), 1e-6)
    if nonlinearity == "relu":
        h_levels, h_map = (0.0, max(float(h.max()), 1e-6)), theme.SEQUENTIAL
    else:
        h_levels, h_map = (-1.0, 1.0), theme.DIVERGING
    return [("a", a, (-m, m), theme.DIVERGING), ("h", h, h_levels, h_map)]


class GateActivationsPanel(Panel):
    title = "Gate activations"
    key = "gates"
    info = (
        "Each heatmap is one gate of the chosen layer: units down, time across, fixed colour "
        "levels (0..1 for the sigmoid gates i, f, o, r, z; -1..1 for the tanh candidates g, "
        "n). The bars are the gates at the cursor t. A forget gate f ≈ 1 keeps c_{t-1}; an "
        "update gate z ≈ 1 keeps h_{t-1} (torch's GRU: h_t = (1-z) n + z h_{t-1})."
    )

    def __init__(self, cursor, parent=None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("Layer and direction shown")
        self.layer_combo.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        controls = QHBoxLayout()
        controls.addWidget(self.layer_combo)
        controls.addWidget(self.note, 1)
        controls.addStretch(0)  # keeps the combo box left when the note is hidden
        self.graphics = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.graphics)
        self.hover_label = QLabel("Hover a heatmap for exact values.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)
        self.font = QFont()
        self.font.setPointSize(theme.FONT_PT)
        self.trace = None
        self.layer: LayerTrace | None = None
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

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        names = [lt.name for lt in trace.layers]
        if names != [self.layer_combo.itemText(i) for i in range(self.layer_combo.count())]:
            keep = self.layer_combo.currentText()
            self.layer_combo.blockSignals(True)
            self.layer_combo.clear()
            self.layer_combo.addItems(names)
            self.layer_combo.setCurrentIndex(names.index(keep) if keep in names else 0)
            self.layer_combo.blockSignals(False)
        self.trace = trace
        self._show_layer(trace.layers[self.layer_combo.currentIndex()])

    def _layer_changed(self) -> None:
        if self.trace is not None:
            self._show_layer(self.trace.layers[self.layer_combo.currentIndex()])
            self.show_time(self.cursor.t)

    def _show_layer(self, lt: LayerTrace) -> None:
        self.layer = lt
        nonlinearity = self.trace.meta.get("nonlinearity")
        self.note.setText(RNN_NOTE.format(f=nonlinearity or "tanh"))
        self.note.setVisible(not lt.gates)
        qs = quantities(lt, nonlinearity)
        T, H = qs[0][1].shape
        rebuilt = tuple(q[0] for q in qs) != self.names
        if rebuilt:
            self._build([q[0] for q in qs])
        for name, values, levels, cmap in qs:
            self.data[name] = values
            img = self.images[name]
            img.setImage(values.T, autoLevels=False, autoDownsample=True)  # (H, T)
            img.setRect(QRectF(-0.5, -0.5, T, H))
            bar = self.colorbars[name]
            bar.setColorMap(theme.cmap(cmap))
            bar.setLevels(levels)
            lo, hi = levels  # ticks at the ends, and at 0 or ½ where they are round numbers
            mid = [0.0] if lo < 0 < hi else [0.5] if levels == (0.0, 1.0) else []
            ticks = [[(v, f"{v:.2g}") for v in (lo, *mid, hi)]]
            bar.axis.setTicks(ticks)
            self.bar_plots[name].getAxis("bottom").setTicks(ticks)
            self.bar_plots[name].setXRange(*levels, padding=0.2)  # room for the end labels
            zeros = np.zeros(H)  # all at once: a new H must not meet the old widths
            self.bars[name].setOpts(x0=zeros, y=np.arange(H), height=0.8, width=zeros)
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
        """One row per heatmap: name | heatmap (units × time) | bars at t | colour bar."""
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
        layout = self.graphics.ci
        for row, name in enumerate(names, start=1):
            last = row == len(names)
            words, symbol = GATE_TITLES[name].rsplit(" ", 1)
            colour = theme.GATE_COLOURS.get(name, theme.BLACK)
            self.titles[name] = layout.addLabel(
                f"{words}<br><b><span style='color:{colour}'>{symbol}</span></b>",
                row=row,
                col=0,
                size=f"{theme.FONT_PT}pt",
            )
            plot = layout.addPlot(row=row, col=1)
            img = pg.ImageItem()
            plot.addItem(img)
            plot.invertY(True)
            plot.setMouseEnabled(x=True, y=False)
            plot.hideButtons()
            line = pg.InfiniteLine(angle=90, movable=True, pen=theme.pen(theme.CURSOR))
            line.sigDragged.connect(self._line_dragged)
            plot.addItem(line)
            bars_plot = layout.addPlot(row=row, col=2)
            bars_plot.invertY(True)
            bars_plot.setYLink(plot)
            bars_plot.setMouseEnabled(x=False, y=False)
            bars_plot.hideButtons()
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
            cbar = pg.ColorBarItem(values=(0, 1), interactive=False, width=14)
            cbar.setImageItem(img, insert_in=bars_plot)  # beside the bars, as tall as the map
            cbar.axis.setStyle(tickFont=self.font)
            for p in (plot, bars_plot):
                p.getAxis("left").setStyle(tickFont=self.font)
                p.getAxis("bottom").setStyle(tickFont=self.font)
                p.showAxis("bottom", last)
            bars_plot.getAxis("left").setStyle(showValues=False)
            if row > 1:
                plot.setXLink(self.plots[names[0]])
            if last:
                plot.setLabel("bottom", "timestep t")
                self.bar_axis = bars_plot.getAxis("bottom")
            self.plots[name], self.images[name], self.colorbars[name] = plot, img, cbar
            self.cursor_lines[name], self.bar_plots[name], self.bars[name] = line, bars_plot, bars
        layout.layout.setVerticalSpacing(14)  # colour-bar end labels need the gap
        layout.layout.setColumnStretchFactor(1, 5)
        layout.layout.setColumnStretchFactor(2, 1)

    def show_time(self, t: int) -> None:
        if self.layer is None:
            return
        t = min(t, len(self.data[self.names[0]]) - 1)
        self.bar_axis.setLabel(f"bars: t = {t}")
        for name in self.names:
            self.cursor_lines[name].setValue(t)
            v = self.data[name][t]  # (H,)
            self.bars[name].setOpts(x0=np.minimum(v, 0), width=np.abs(v))

    def _line_dragged(self, line: pg.InfiniteLine) -> None:
        self.cursor.set(round(line.value()))

    # -- hover

    def describe(self, name: str, unit: int, t: int) -> str:
        """'f, unit 3, t=17: 0.973' — the exact value under the mouse."""
        return f"{name}, unit {unit}, t={t}: {self.data[name][t, unit]:.4g}"

    def _hover(self, pos) -> None:
        for name in self.names:
            for plot, on_bars in ((self.plots[name], False), (self.bar_plots[name], True)):
                vb = plot.getViewBox()
                if not vb.sceneBoundingRect().contains(pos):
                    continue
                p = vb.mapSceneToView(pos)
                T, H = self.data[name].shape
                t = self.cursor.t if on_bars else round(p.x())
                unit = round(p.y())
                if 0 <= t < T and 0 <= unit < H:
                    self.hover_label.setText(self.describe(name, unit, min(t, T - 1)))
                return
