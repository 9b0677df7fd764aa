"""Where the gradient comes from: itemized BPTT (issue 13; RNNbow, Cashman et al. 2018, exact
and untruncated) for probe sequence 0, one column per run of a comparison.

Top, a stacked bar per source step t: its height is ‖∂L/∂h_t‖, split into bands by the
distance d = j − t of the losses L_j that produced it (near dark, far light): band b's share
of the height is Σ_{j in b} ‖∂L_j/∂h_t‖ / Σ_j ‖∂L_j/∂h_t‖ (core/memory_reach.distance_bands;
the item vectors partly cancel, so their norms do not add up to the height themselves).
Bottom, the matrix ‖∂L_j/∂h_t‖ (loss step j up, source step t across) with a log colour
scale. Hovering the matrix at loss step j traces that loss's gradient back in time: its curve
‖∂L_j/∂h_t‖ over the bars and its horizon, the earliest t it still reaches at 1% of its
near field.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rnnviz.core.memory_reach import (
    REACH_FRACTION,
    bucket_labels,
    distance_bands,
    item_norms,
)
from rnnviz.qt import theme
from rnnviz.qt.legend_rows import wrap_legend
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.plotkit import sci, still_plot
from rnnviz.qt.ranges import finite_bounds
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.trace import Trace
    from rnnviz.core.train import Snapshot

HINT = "Hover the matrix at a loss step j to trace its gradient back in time"
SEQ2SEQ = "Not for encoder-decoder runs: the itemized gradient is recorded for single stacks."
BEHIND = "#B0B0B0"  # gradient from the other direction of a bidirectional layer below
PLOT_EM = 7  # the bars' and the matrix's least height, in font sizes


class ItemizedColumn:
    """One run's bars and matrix (two plots in a column of the panel's view)."""

    def __init__(self, view: pg.GraphicsLayoutWidget, col: int, font: QFont) -> None:
        self.bars_plot = still_plot(view.addPlot(row=1, col=col), font)
        self.matrix_plot = still_plot(view.addPlot(row=2, col=col), font)
        self.bars_plot.setLabel("left", "‖∂L/∂h<sub>t</sub>‖")
        self.matrix_plot.setLabel("left", "loss step j")
        self.matrix_plot.setLabel("bottom", "source step t")
        self.matrix_plot.setXLink(self.bars_plot)
        for plot in (self.bars_plot, self.matrix_plot):  # a short dock draws them smaller, not flat
            plot.vb.setMinimumHeight(PLOT_EM * theme.FONT_PT)
        self.bars: list[pg.BarGraphItem] = []
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(theme.cmap(theme.SEQUENTIAL))
        self.matrix_plot.addItem(self.image)
        dash = theme.pen(theme.BLACK, 2, Qt.PenStyle.DashLine)
        self.horizon_curve = self.bars_plot.plot(pen=theme.pen(theme.BLACK, 2))
        self.horizon_line = pg.InfiniteLine(angle=90, pen=dash)
        self.row_line = pg.InfiniteLine(angle=0, pen=theme.pen(theme.BLACK, 1.5))
        self.bars_plot.addItem(self.horizon_line, ignoreBounds=True)
        self.matrix_plot.addItem(self.row_line, ignoreBounds=True)
        self.cursors = [pg.InfiniteLine(angle=90, pen=theme.pen(theme.CURSOR, 1.5)) for _ in "ab"]
        self.bars_plot.addItem(self.cursors[0], ignoreBounds=True)
        self.matrix_plot.addItem(self.cursors[1], ignoreBounds=True)
        self.label, self.trace, self.layer = "", None, None
        self.norms = np.zeros((0, 0))  # (T_loss, T) ‖∂L_j/∂h_t‖
        self.steps = np.zeros(0, dtype=np.int64)
        self.bands = np.zeros((0, 0))
        self.grad = np.zeros(0)

    def show(self, label: str, trace: Trace, key: str, levels: tuple[float, float]) -> None:
        lt = next((lt for lt in trace.layers if lt.key == key), trace.layers[0])
        self.label, self.trace, self.layer = label, trace, lt
        T = trace.T
        self.steps = np.flatnonzero(trace.loss_mask[0])
        self.norms = item_norms(lt.grad_items)
        with np.errstate(over="ignore", invalid="ignore"):
            self.grad = np.linalg.norm(lt.grad_h[0].astype(np.float64), axis=-1)
        self.bands = distance_bands(self.norms, self.grad, self.steps, lt.reverse)
        self._draw_bars(T)
        where = f", {lt.name}" if len(trace.layers) > 1 else ""  # the picker is not exported
        self.bars_plot.setTitle(f"{label}{where}: ‖∂L/∂h<sub>t</sub>‖ by distance j − t")
        with np.errstate(divide="ignore"):
            img = np.log10(self.norms)
        img[~np.isfinite(img)] = np.nan  # an exact zero (causality) stays blank
        self.image.setImage(img, autoLevels=False, levels=levels)
        contiguous = len(self.steps) and self.steps[-1] - self.steps[0] == len(self.steps) - 1
        y0 = self.steps[0] if contiguous else 0
        self.image.setRect(QRectF(-0.5, y0 - 0.5, T, len(self.steps)))
        self.matrix_plot.setLabel("left", "loss step j" if contiguous else "loss term (row)")
        self.matrix_plot.setTitle(
            f"log₁₀ ‖∂L<sub>j</sub>/∂h<sub>t</sub>‖, {len(self.steps)} losses"
        )
        self.bars_plot.setXRange(-0.5, T - 0.5, padding=0.01)
        self.matrix_plot.setYRange(y0 - 0.5, y0 + len(self.steps) - 0.5, padding=0.01)
        self.trace_back(None)

    def _draw_bars(self, T: int) -> None:
        """The stacked bars, one item per band drawn; the items are reused (new ones for every
        recording cost more than their drawing)."""
        names = bucket_labels(T)
        colours = band_colours(len(names) - 1)
        drawn = [b for b in range(len(names)) if self.bands[b].any()]
        while len(self.bars) > len(drawn):
            self.bars_plot.removeItem(self.bars.pop())
        while len(self.bars) < len(drawn):
            bar = pg.BarGraphItem(x=[], height=[], width=0.85, pen=None)
            self.bars_plot.addItem(bar)
            self.bars.append(bar)
        base, x = np.zeros(T), np.arange(T)
        for bar, b in zip(self.bars, drawn, strict=True):
            bar.setOpts(x=x, y0=base.copy(), height=self.bands[b], brush=colours[b], name=names[b])
            base += self.bands[b]

    def row_at(self, y: float) -> int | None:
        """The matrix row under the height y of the matrix plot, or None."""
        if not len(self.steps):
            return None
        contiguous = self.steps[-1] - self.steps[0] == len(self.steps) - 1
        row = round(y - (self.steps[0] if contiguous else 0))
        return row if 0 <= row < len(self.steps) else None

    def trace_back(self, row: int | None) -> str:
        """Draw loss row `row`'s gradient back in time (None: clear); its words."""
        if row is None:
            self.horizon_curve.setData([], [])
            self.horizon_line.setVisible(False)
            self.row_line.setVisible(False)
            return ""
        j, g = int(self.steps[row]), self.norms[row]
        contiguous = self.steps[-1] - self.steps[0] == len(self.steps) - 1
        self.row_line.setValue(j if contiguous else row)
        self.row_line.setVisible(True)
        self.horizon_curve.setData(np.arange(len(g)), g)
        near = g[j]
        reach = np.flatnonzero(g >= REACH_FRACTION * near) if near > 0 else np.zeros(0, int)
        if len(reach):
            t0 = int(reach[-1] if self.layer.reverse else reach[0])
            self.horizon_line.setValue(t0)
            self.horizon_line.setVisible(True)
            return (
                f"{self.label}: loss at j = {j} reaches back to t = {t0} at "
                f"{REACH_FRACTION:.0%} of ‖∂L_j/∂h_j‖ = {sci(near)}"
            )
        self.horizon_line.setVisible(False)
        return f"{self.label}: loss at j = {j}"


def band_colours(n: int) -> list[QColor]:
    """n bands from near (dark) to far (light), and the grey band from behind."""
    cmap = theme.cmap(theme.SEQUENTIAL)
    near = [cmap.map(0.05 + 0.9 * b / max(n - 1, 1), mode="qcolor") for b in range(n)]
    return [*near, QColor(BEHIND)]


class ItemizedPanel(Panel):
    title = "Where the gradient comes from"
    key = "itemized"
    draws = ("trace", "runs")
    info = (
        "Itemized backpropagation through time for probe sequence 0, exact and untruncated "
        "(as RNNbow, Cashman et al. 2018, which truncates to 5 steps). The loss is a sum of "
        "terms L_j, one per output step j with its mask and normalisation, so ∂L/∂h_t = "
        "Σ_j ∂L_j/∂h_t. Top: a bar per step t, its height ‖∂L/∂h_t‖, split into bands by the "
        "distance d = j − t of the losses it comes from (near dark, far light; grey: from the "
        "other direction of a bidirectional layer below). Band rule: each band's share of the "
        "height is the sum of ‖∂L_j/∂h_t‖ over its losses divided by the sum over all losses "
        "(the vectors partly cancel, so their norms alone would overshoot the height). "
        "Bottom: ‖∂L_j/∂h_t‖ as a heatmap, log colour scale; blank where causality makes it "
        "0. Hover a loss step j: its curve ‖∂L_j/∂h_t‖ is drawn over the bars and the dashed "
        "line marks its horizon, the earliest t it reaches at 1% of ‖∂L_j/∂h_j‖. With a "
        "comparison preset, one column per run."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker("Layer and direction whose gradient is shown")
        self.layer_combo.currentIndexChanged.connect(self._layer_changed)
        self.controls_row.addStretch(1)
        self.note = QLabel()  # part of the figure: why nothing is drawn
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        self.hover_label = self.add_hint(HINT)
        self.font = QFont()
        self.font.setPointSize(theme.FONT_PT)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        # one compact row where it fits: "d = 0", "1", "2–3" … (seven bands at T = 50)
        self.legend = pg.LegendItem(labelTextSize=f"{theme.FONT_PT}pt", horSpacing=8)
        self.view.addItem(self.legend, row=0, col=0, colspan=3)
        self.colorbar = pg.ColorBarItem(
            values=(-6, 0),
            colorMap=theme.cmap(theme.SEQUENTIAL),
            label="log₁₀ ‖∂L<sub>j</sub>/∂h<sub>t</sub>‖",
            interactive=False,
            width=16,
        )
        self.colorbar.axis.setStyle(tickFont=self.font)
        self.columns: list[ItemizedColumn] = []
        self._legend_shown: tuple = ()  # (band names, names shown) in the legend
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self.view.scene().sigMouseMoved.connect(self._hover)

    # -- drawing

    def redraw(self, snapshot: Snapshot) -> None:
        runs = [(r.label, r.trace) for r in snapshot.runs] or [("this run", snapshot.trace)]
        runs = [(label, tr) for label, tr in runs if tr is not None]
        # a run without recurrent layers (the bag-of-words baseline beside an LSTM) has no
        # gradient through time: no column; alone, _why_not says so
        runs = [(label, tr) for label, tr in runs if tr.layers] or runs[:1]
        why = self._why_not(runs)
        self.note.setText(why)
        self.note.setVisible(bool(why))
        self.view.setVisible(not why)
        if why:
            return
        if len(self.columns) != len(runs) and self.colorbar.scene() is not None:
            self.view.removeItem(self.colorbar)  # right of the last column: placed again below
        while len(self.columns) < len(runs):
            self.columns.append(ItemizedColumn(self.view, len(self.columns), self.font))
        for column in self.columns[len(runs) :]:
            for plot in (column.bars_plot, column.matrix_plot):
                self.view.removeItem(plot)
        self.columns = self.columns[: len(runs)]
        key = self.layer_combo.currentData() or runs[0][1].layers[0].key
        levels = self._levels(runs, key)
        self.colorbar.setLevels(levels)
        for column, (label, tr) in zip(self.columns, runs, strict=True):
            column.show(label, tr, key, levels)
        self.colorbar.setImageItem([c.image for c in self.columns])
        if self.colorbar.scene() is None:
            self.view.addItem(self.colorbar, row=2, col=len(self.columns))
        self._fill_legend(runs[0][1].T)

    def _why_not(self, runs: list) -> str:
        if not runs:
            return "No recording yet."
        meta = runs[0][1].meta
        if meta.get("task_shape") == "sequence-to-sequence":
            return SEQ2SEQ
        if not runs[0][1].layers:
            return "This model has no recurrent layers: no gradient flows back through time."
        missing = [tr.meta.get("grad_items", "not recorded") for _, tr in runs
                   if tr.layers[0].grad_items is None]  # fmt: skip
        return f"The itemized gradient was {missing[0]}." if missing else ""

    def _levels(self, runs: list, key: str) -> tuple[float, float]:
        """Colour levels shared by the runs: 6 decades down from the largest item's decade."""
        top = -np.inf
        for _, tr in runs:
            lt = next((lt for lt in tr.layers if lt.key == key), tr.layers[0])
            peak = finite_bounds([np.abs(lt.grad_items)], log=True)[1]  # NaN: none finite
            if math.isfinite(peak):
                top = max(top, peak)
        hi = np.ceil(top) if np.isfinite(top) else 0.0
        return (hi - 6.0, hi)

    def _fill_legend(self, T: int) -> None:
        names = bucket_labels(T)
        shown = {n for c in self.columns for n, band in zip(names, c.bands, strict=True)
                 if band.any()}  # fmt: skip
        if (names, shown) == self._legend_shown:  # most recordings draw the same bands
            return
        self._legend_shown = (names, shown)
        self.legend.clear()
        for name, colour in zip(names, band_colours(len(names) - 1), strict=True):
            if name in shown:
                short = name.removeprefix("d = ") if self.legend.items else name
                self.legend.addItem(
                    pg.BarGraphItem(x=[0], height=[1], width=1, brush=colour), short
                )
        self._wrap_legend()

    def _wrap_legend(self) -> None:
        wrap_legend(self.legend, self.view.ci.layout, 0, self.view.range.width())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._wrap_legend()

    def _layer_changed(self) -> None:
        if self.snapshot is not None:
            self.redraw(self.snapshot)

    def show_time(self, t: int) -> None:
        for column in self.columns:
            for line in column.cursors:
                line.setValue(t)

    # -- interaction

    def _hover(self, pos) -> None:
        words = []
        for column in self.columns:
            plot = column.matrix_plot
            if plot.sceneBoundingRect().contains(pos):
                row = column.row_at(plot.vb.mapSceneToView(pos).y())
                words = [c.trace_back(row) for c in self.columns]
                break
        words = [w for w in words if w]
        self.hover_label.setText("; ".join(words) if words else HINT)

    # -- export

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Per run, at each source step t: ‖∂L/∂h_t‖ and its bands by distance; and the
        matrix ‖∂L_j/∂h_t‖, one column per run and loss step j."""
        if not self.columns or self.note.isVisible():
            return {}
        T = len(self.columns[0].grad)
        bands = {"t": np.arange(T)}
        items = {"t": np.arange(T)}
        names = bucket_labels(T)
        for c in self.columns:
            bands[f"{c.label}: ‖∂L/∂h_t‖"] = c.grad
            for name, band in zip(names, c.bands, strict=True):
                bands[f"{c.label}: band {name}"] = band
            for row, j in enumerate(c.steps):
                items[f"{c.label}: ‖∂L_j/∂h_t‖ j = {j}"] = c.norms[row]
        return {"time": bands, "items": items}
