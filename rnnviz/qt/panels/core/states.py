"""Cell and hidden states over time, and the path of the hidden state projected on its PCs.

Left: c_t (LSTMs only) and h_t of a few units of one layer and direction for probe sequence 0,
by default the k most active (largest mean |h_t| over t). Right: the hidden-state path
h_0 … h_{T-1} projected on its first two principal components, coloured by time:

    X = H - mean_t H,   XᵀX = V S² Vᵀ,   P = X V[:, :2]   (T, 2)

where H is the (T, H) matrix of hidden states and the share of variance of PC k is
S_k² / Σ S².
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rnnviz.qt import theme
from rnnviz.qt.legend_rows import wrap_legend
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.halves import Half, half
from rnnviz.qt.plotkit import plain_axes, wrap_title
from rnnviz.qt.ranges import Ranger, timesteps
from rnnviz.qt.timeline import TimeCursor
from rnnviz.qt.tokens import set_time_axis

if TYPE_CHECKING:
    from rnnviz.core.train import Snapshot

# Series colours legible on white (the palette's yellow is not); later cycles are dashed.
UNIT_COLOURS = tuple(c for c in theme.SERIES if c != theme.YELLOW)
UNIT_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine)
# Narrower than this (width : height of the plot area), the PCA path goes below the unit
# curves instead of beside them, where it would be a sliver.
STACK_ASPECT = 1.25
PLOT_EM = 5  # a plot's least data height, in font sizes: a short dock draws them smaller


def top_units(h: np.ndarray, k: int) -> np.ndarray:
    """The k units of h (T, H) with the largest mean |h_t|, most active first."""
    activity = np.abs(h).mean(axis=0, dtype=np.float64)  # (H,): float32's sum of 1e38 overflows
    return np.argsort(-activity, kind="stable")[:k]


def parse_units(text: str, n_units: int) -> list[int]:
    """'3, 7 10-12' -> [3, 7, 10, 11, 12]; ValueError with a message for a person."""
    units: list[int] = []
    for token in re.split(r"[,\s]+", text.strip()):
        if not token:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", token)
        if m is None:
            raise ValueError(f"not a unit number or range: {token!r}")
        lo, hi = int(m[1]), int(m[2] or m[1])
        if hi < lo or hi >= n_units:
            raise ValueError(f"units run from 0 to {n_units - 1}; got {token}")
        units.extend(u for u in range(lo, hi + 1) if u not in units)
    return units


def pca_path(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project h (T, H) on its first two principal components: points (T, 2), variance
    shares (2,). Each component's sign makes its largest loading positive, so the picture
    does not flip between recordings. Steps whose state is not finite (a diverged run) are
    left out of the fit, and their points are NaN."""
    h = h.astype(np.float64)  # a diverged run's 1e38 squares to 1e76: inside float64
    points, share = np.full((len(h), 2), np.nan), np.zeros(2)
    rows = np.isfinite(h).all(axis=1)
    if not rows.any():
        return points, share
    x = h[rows] - h[rows].mean(axis=0)  # (T', H)
    # V and S² from the (H, H) Gram matrix XᵀX = V S² Vᵀ: one small eigenproblem, cheaper
    # than the SVD of the (T, H) matrix when T >> H.
    s2, v = np.linalg.eigh(x.T @ x)  # ascending
    s2, v = np.clip(s2[::-1], 0.0, None), v[:, ::-1]
    k = min(2, len(s2))
    v = v[:, :k] * np.sign(v[np.abs(v[:, :k]).argmax(axis=0), np.arange(k)])
    points[rows] = 0.0
    points[rows, :k] = x @ v  # (T', k)
    if s2.sum() > 0:
        share[:k] = s2[:k] / s2.sum()
    return points, share


class StateTrajectoriesPanel(Panel):
    title = "Cell and hidden states"
    key = "states"
    needs_layers = True
    picks_halves = True
    info = (
        "Left: the cell state c_t (LSTMs) and hidden state h_t = o_t ⊙ tanh(c_t) of selected "
        "units over time for probe sequence 0; by default the k units with the largest mean "
        "|h_t|. Right: the path h_0 … h_{T-1} projected on its first two principal components "
        "(PCA of the centred T×H matrix of hidden states), coloured from dark (t = 0) to "
        "light (t = T-1); the large marker is h_t at the time cursor."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker(
            "Layer and direction (encoder or decoder) whose states are shown"
        )
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 32)
        self.k_spin.setValue(6)
        self.k_spin.setToolTip("Show the k units with the largest mean |h_t|")
        self.units_edit = QLineEdit()
        self.units_edit.setPlaceholderText("units, e.g. 0, 5, 9-12 (empty: top k)")
        self.units_edit.setClearButtonEnabled(True)
        self.message = QLabel()
        self.message.setStyleSheet(f"color: {theme.VERMILION}")
        self.hover_label = self.add_hint("Hover a curve or point for exact values")
        for signal in (
            self.layer_combo.currentIndexChanged,
            self.k_spin.valueChanged,
            self.units_edit.editingFinished,
        ):
            signal.connect(self._draw_trace)

        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.legend = pg.LegendItem(labelTextSize=f"{theme.FONT_PT - 1}pt")
        self._legend_shown: tuple = ()  # (units, font size) the legend shows
        self._auto_units = np.zeros(0, dtype=int)  # the top-k units last chosen
        self.legend.layout.setContentsMargins(2, 2, 2, 2)
        self.view.addItem(self.legend, row=0, col=0, colspan=2)
        self.c_plot, self.h_plot, self.pca_plot = (wrap_title(pg.PlotItem()) for _ in range(3))
        plain_axes(self.c_plot, self.h_plot, self.pca_plot)
        for plot in (self.c_plot, self.h_plot, self.pca_plot):  # not a bare axis line
            plot.vb.setMinimumHeight(PLOT_EM * theme.FONT_PT)
        self.has_c = True  # the layer has a cell state (LSTM): show the c plot
        self._placement: tuple[bool, bool] | None = None  # (has c, stacked) as laid out
        self.c_plot.setTitle("cell state c<sub>t</sub>")
        self.h_plot.setTitle("hidden state h<sub>t</sub>")
        for plot in (self.c_plot, self.h_plot):
            plot.setLabel("bottom", "timestep t")
        self.c_plot.setXLink(self.h_plot)
        self.cursor_lines = []
        for plot in (self.c_plot, self.h_plot):
            line = pg.InfiniteLine(angle=90, movable=True, pen=theme.pen(theme.CURSOR, 1.5))
            line.sigDragged.connect(self._line_dragged)
            plot.addItem(line, ignoreBounds=True)
            self.cursor_lines.append(line)
        self.c_ranger, self.h_ranger = Ranger(self.c_plot), Ranger(self.h_plot)
        self.h_curves: list[pg.PlotDataItem] = []
        self.c_curves: list[pg.PlotDataItem] = []

        pp = self.pca_plot
        pp.setTitle("hidden-state path (PCA)")
        self.pca_ranger = Ranger(pp, pad=0.08)  # room for the t labels at the path's ends
        # where the labels fit depends on the pixels: place them again when the view changes
        pp.vb.sigTransformChanged.connect(self._path_view_changed)
        self.pca_line = pp.plot(pen=theme.pen("#9a9a9a", 1.0))
        self.pca_points_item = pg.ScatterPlotItem(size=6, pen=None)
        pp.addItem(self.pca_points_item)
        self.pca_marker = pg.ScatterPlotItem(
            size=18, brush=pg.mkBrush(theme.CURSOR), pen=pg.mkPen("k", width=1.5)
        )
        pp.addItem(self.pca_marker)
        fill = pg.mkBrush(255, 255, 255, 200)
        self.start_label = pg.TextItem("t = 0", color="k", anchor=(0.5, 1.6), fill=fill)
        self.end_label = pg.TextItem("", color="k", anchor=(0.5, 1.6), fill=fill)
        for item in (self.start_label, self.end_label):
            pp.addItem(item, ignoreBounds=True)
        self.view.scene().sigMouseMoved.connect(self._hover)

        k_label = QLabel("Top k:")
        k_label.setBuddy(self.k_spin)
        for widget in (k_label, self.k_spin):
            self.controls_row.addWidget(widget)
        self.controls_row.addWidget(self.units_edit, 1)
        self.controls_row.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)

        self.units = np.zeros(0, dtype=int)  # the units drawn, in curve order
        self.pca_points = np.zeros((0, 2))  # (T, 2) projection of h[0]
        self.pca_share = np.zeros(2)
        self._ends: tuple[int, int] | None = None  # the first and last steps on the path
        self.half: Half | None = None  # the layer shown, its steps and tokens
        self._brushes: list = []  # one per t, cached while T stays the same
        self._place_plots()

    # -- drawing

    def redraw(self, snapshot: Snapshot) -> None:
        if snapshot.trace is self._drawn_trace:
            return
        self._drawn_trace = snapshot.trace
        self._draw_trace()

    def _draw_trace(self) -> None:
        trace = self.snapshot.trace if self.snapshot is not None else None
        index = self.layer_combo.currentIndex()
        if trace is None or index < 0:
            return
        shown = self.half = half(trace, index)
        h, c = self._sequence()  # (T, H), (T, H) or None
        T = len(h)
        self.units = self._choose_units(h)
        self.has_c = shown.layer.c is not None
        self.c_plot.setVisible(self.has_c)
        self._place_plots()
        self._set_curves(self.h_curves, self.h_plot, h)
        self._set_curves(self.c_curves, self.c_plot, c)
        self.h_ranger.fit(ys=[h[:, self.units]], x=timesteps(T))
        if self.has_c:
            self.c_ranger.fit(ys=[c[:, self.units]], x=timesteps(T))
        legend = (tuple(self.units), theme.FONT_PT)
        if legend != self._legend_shown:  # rebuilding it costs more than the curves
            self._legend_shown = legend
            self.legend.clear()
            self.legend.setLabelTextSize(f"{theme.FONT_PT - 1}pt")  # larger when presenting
            for i, (unit, curve) in enumerate(zip(self.units, self.h_curves, strict=True)):
                # compact, "unit 3", "8", "26": one row where "unit" on each would take two
                self.legend.addItem(curve, f"unit {unit}" if i == 0 else str(unit))
            self._fit_legend()

        self.pca_points, self.pca_share = pca_path(h)
        if len(self._brushes) != T:
            colours = theme.cmap(theme.SEQUENTIAL).mapToQColor(np.linspace(0, 1, T))
            self._brushes = [pg.mkBrush(c) for c in colours]
        px, py = self.pca_points[:, 0], self.pca_points[:, 1]
        drawn = np.flatnonzero(np.isfinite(px))  # (pca_path: NaN where h_t is not finite)
        # the line breaks where a step has no point (connect="finite"), bridging nothing
        self.pca_line.setData(*((px, py) if len(drawn) else ([], [])), connect="finite")
        self.pca_points_item.setData(px[drawn], py[drawn], brush=[self._brushes[t] for t in drawn])
        self.pca_ranger.fit(xs=[px], ys=[py])
        left_out = T - len(drawn)
        note = f"; {left_out} steps not finite, not drawn" if left_out else ""
        self.pca_plot.setTitle(f"hidden-state path (PCA{note})")
        self._ends = (int(drawn[0]), int(drawn[-1])) if len(drawn) else None
        for plot in (self.c_plot, self.h_plot):
            set_time_axis(plot.getAxis("bottom"), shown, T)
            plot.setLabel("bottom", shown.axis_label)
        for line in self.cursor_lines:  # an encoder's mark follows the cursor only
            line.setMovable(shown.follows_cursor)
        for label, end in zip((self.start_label, self.end_label), self._ends or (), strict=False):
            label.setText(shown.where(end))
        self._place_path_labels()
        self.pca_plot.setLabel("bottom", f"PC1 ({self.pca_share[0]:.0%} var)")
        self.pca_plot.setLabel("left", f"PC2 ({self.pca_share[1]:.0%} var)")
        self.show_time(self.cursor.t)

    def _place_path_labels(self) -> None:
        """The labels t = 0 and t = T-1 at the path's ends: above or below the point, on the
        side facing the middle of the path (a label at its edge stays in view), clear of the
        cursor's marker. Where that prints a label over the other, over the other end's
        marker (a sine's path ends near where it began) or out of the plot, the first better
        of the other side, right and left of the point."""
        for label in (self.start_label, self.end_label):
            label.setVisible(self._ends is not None)
        if self._ends is None:  # no step's state is finite: no path
            return
        drawn = self.pca_points[np.isfinite(self.pca_points[:, 0])]
        lo, hi = drawn.min(axis=0), drawn.max(axis=0)  # (2,)
        ends = (self.pca_points[list(self._ends)] - lo) / np.where(hi > lo, hi - lo, 1.0)
        vb = self.pca_plot.vb
        box = vb.sceneBoundingRect()
        gap = self.pca_marker.opts["size"] / 2 + 4  # pixels from the point to the label
        options, discs = [], []  # per end: its label's candidate rectangles; its marker
        for point, label, (fx, fy) in (
            (self._ends[0], self.start_label, ends[0]),
            (self._ends[1], self.end_label, ends[1]),
        ):
            at = vb.mapViewToScene(QPointF(*self.pca_points[point]))
            size = label.textItem.boundingRect()
            w, h = size.width(), size.height()
            above, below = (-fx * w, -h - gap), (-fx * w, gap)
            offsets = [above, below] if fy < 0.5 else [below, above]
            offsets += [(gap, -h / 2), (-w - gap, -h / 2)]  # right, left
            options.append([QRectF(at.x() + dx, at.y() + dy, w, h) for dx, dy in offsets])
            r = gap - 2
            discs.append(QRectF(at.x() - r, at.y() - r, 2 * r, 2 * r))

        def outside(rect: QRectF) -> float:  # the share of the label out of the plot
            inside = rect.intersected(box)
            return 1 - inside.width() * inside.height() / (rect.width() * rect.height())

        def faults(start: QRectF, end: QRectF) -> float:
            return (
                2 * start.intersects(end)
                + start.intersects(discs[1])
                + end.intersects(discs[0])
                + outside(start)
                + outside(end)
            )

        pairs = [(a, b) for a in options[0] for b in options[1]]  # the preferred first
        chosen = min(pairs, key=lambda pair: faults(*pair))
        for point, label, rect in (
            (self._ends[0], self.start_label, chosen[0]),
            (self._ends[1], self.end_label, chosen[1]),
        ):
            at = vb.mapViewToScene(QPointF(*self.pca_points[point]))
            # the anchor: where the point is, in fractions of the label's size
            label.setAnchor(
                ((at.x() - rect.x()) / rect.width(), (at.y() - rect.y()) / rect.height())
            )
            label.setPos(*self.pca_points[point])

    def _path_view_changed(self, *_) -> None:
        if len(self.pca_points):
            self._place_path_labels()

    def _place_plots(self) -> None:
        """The unit curves (c above h) with the PCA path beside them; or, stacked in a narrow
        panel, c beside h with the PCA path below. A plot without data leaves the grid: a
        hidden one would keep its row."""
        has_c, stacked = self.has_c, self.view.width() < STACK_ASPECT * self.view.height()
        if (has_c, stacked) == self._placement:
            return
        self._placement = (has_c, stacked)
        for plot in (self.c_plot, self.h_plot, self.pca_plot):
            if plot.scene() is not None:
                self.view.removeItem(plot)
        curves = [self.c_plot, self.h_plot] if has_c else [self.h_plot]
        span = 2 // len(curves)
        for i, plot in enumerate(curves):
            if stacked:
                self.view.addItem(plot, row=1, col=i, colspan=span)
            else:
                self.view.addItem(plot, row=1 + i, col=0, rowspan=span)
        if stacked:
            self.view.addItem(self.pca_plot, row=2, col=0, colspan=2)
        else:
            self.view.addItem(self.pca_plot, row=1, col=1, rowspan=2)
        grid = self.view.ci.layout
        for col, stretch in enumerate((1, 1) if stacked else (3, 2)):
            grid.setColumnStretchFactor(col, stretch)
        self.c_plot.getAxis("bottom").showLabel(stacked)  # else h, below it, names the axis

    def _fit_legend(self) -> None:
        wrap_legend(self.legend, self.view.ci.layout, 0, self.view.range.width())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._place_plots()
        self._fit_legend()

    def _choose_units(self, h: np.ndarray) -> np.ndarray:
        H = h.shape[1]
        self.message.clear()
        try:
            chosen = parse_units(self.units_edit.text(), H)
        except ValueError as e:
            self.message.setText(f"{e}; showing top {self.k_spin.value()}")
            chosen = []
        if chosen:
            return np.asarray(chosen, dtype=int)
        k, prev = self.k_spin.value(), self._auto_units
        # Keep the units shown while they stay among the 2k most active: near-ties must not
        # swap the curves' colours (and rebuild the legend) at every recording.
        if len(prev) == min(k, H) and np.isin(prev, top_units(h, 2 * k)).all():
            return prev
        self._auto_units = top_units(h, k)
        return self._auto_units

    def _sequence(self) -> tuple[np.ndarray, np.ndarray | None]:
        """h and c (None without a cell state) of sequence 0, (T, H), the steps shown."""
        lt = self.half.layer
        return self.half.seq(lt.h), None if lt.c is None else self.half.seq(lt.c)

    def _set_curves(self, curves: list, plot: pg.PlotItem, values: np.ndarray | None) -> None:
        """One curve per chosen unit of values (T, H); items are reused, never re-created
        while the number of units stays the same."""
        n = len(self.units) if values is not None else 0
        while len(curves) > n:
            plot.removeItem(curves.pop())
        while len(curves) < n:
            curves.append(plot.plot())
        T = 0 if values is None else len(values)
        width = theme.curve_width(T)
        x = np.arange(T)
        for i, (unit, curve) in enumerate(zip(self.units, curves, strict=False)):
            colour = UNIT_COLOURS[i % len(UNIT_COLOURS)]
            style = UNIT_STYLES[(i // len(UNIT_COLOURS)) % len(UNIT_STYLES)]
            look = (colour, width, style)
            if getattr(curve, "look", None) != look:  # a new pen makes the curve redo its path
                curve.look = look
                curve.setPen(theme.pen(colour, width, style))
            curve.setData(x, values[:, unit])

    def show_time(self, t: int) -> None:
        if self.half is not None:
            t = self.half.at(t)
        for line in self.cursor_lines:
            line.setValue(t)
        if len(self.pca_points):
            x, y = self.pca_points[min(t, len(self.pca_points) - 1)]
            at = np.isfinite(x)  # a step whose state is not finite has no point
            self.pca_marker.setData([x] if at else [], [y] if at else [])

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """t, the curves drawn ("c unit 3", "h unit 3") and the PCA path's coordinates."""
        if self.half is None:
            return {}
        h, c = self._sequence()
        table = {self.half.symbol: np.arange(len(h))}
        for name, values in (("c", c), ("h", h)):
            if values is not None:
                table.update({f"{name} unit {u}": values[:, u] for u in self.units})
        table["PC1"], table["PC2"] = self.pca_points[:, 0], self.pca_points[:, 1]
        return {"time": table}

    # -- interaction

    def _line_dragged(self, line: pg.InfiniteLine) -> None:
        self.cursor.set(round(line.value()))

    def _hover(self, pos) -> None:
        if self.half is None:
            return
        h, c = self._sequence()
        for plot, name, values in ((self.h_plot, "h", h), (self.c_plot, "c", c)):
            if values is not None and plot.isVisible() and plot.sceneBoundingRect().contains(pos):
                p = plot.vb.mapSceneToView(pos)
                t = int(np.clip(round(p.x()), 0, len(values) - 1))
                row = values[t, self.units]  # (k,)
                unit = self.units[int(np.abs(row - p.y()).argmin())]
                where = self.half.where(t, compact=True)
                self.hover_label.setText(f"unit {unit}, {where}:  {name} = {values[t, unit]:.4f}")
                return
        if self.pca_plot.sceneBoundingRect().contains(pos) and len(self.pca_points):
            # nearest point in screen distance, so both axes count alike whatever their scales
            vb = self.pca_plot.vb
            view, box, p = vb.viewRect(), vb.sceneBoundingRect(), vb.mapSceneToView(pos)
            dx = (self.pca_points[:, 0] - p.x()) * box.width() / max(view.width(), 1e-12)
            dy = (self.pca_points[:, 1] - p.y()) * box.height() / max(view.height(), 1e-12)
            t = int(np.hypot(dx, dy).argmin())
            x, y = self.pca_points[t]
            where = self.half.where(t, compact=True)
            self.hover_label.setText(f"{where}:  PC1 = {x:.4f}, PC2 = {y:.4f}")
