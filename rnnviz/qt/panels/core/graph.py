"""Unrolled computation graph: x_t → h_t (→ c_t) → y_t for a window of timesteps around t.

Unrolling the recurrence

    h_t = φ(W_hh h_{t-1} + W_xh x_t + b),    y_t = W_hy h_t + b_y

gives a feed-forward graph with one column per timestep, every column sharing W_xh, W_hh and
W_hy. Forward view: nodes coloured by ‖h_t‖ (or one unit h_t[k]). Backward view: nodes and
recurrent edges coloured by log10 ‖∂L/∂h_t‖; backpropagation multiplies by ∂h_t/∂h_{t-1} at
every recurrent edge, so the gradient fades (or explodes) geometrically going back in time.

Only a window of at most 9 timesteps is drawn (fewer when the panel is narrow), so the panel
is as legible and as fast for T = 1000 as for T = 10. Layout in view coordinates: column i at
x = i, row r at y = r, rows bottom-up x, [c, h] per layer and direction, y.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPen
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QGraphicsEllipseItem,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QSpinBox,
    QVBoxLayout,
)

from rnnviz.core.analysis import vector_norms
from rnnviz.core.trace import LayerTrace, Trace
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.tokens import at_t, steps_shown

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

MAX_COLUMNS = 9
COLUMN_PX = 80  # narrowest column that still fits a label like "3.2e-4" at 11 pt
HALF_W, HALF_H = 0.34, 0.3  # node half-width and half-height, in column and row pitches
MAX_HALF_H = 0.4  # in short rows (a deep stack) nodes grow to this to hold their value
VIEWS = ("Forward values", "Backward gradients")
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
EDGE_GREY, NODE_GREY = "#808080", "#EEEEEE"
WEIGHTS = {"x": "W<sub>xh</sub>", "h": "W<sub>hh</sub>", "c": "⊙f", "y": "W<sub>hy</sub>"}
HINT = "Every column shares the same weights. Hover a node for its exact values."


class Row(NamedTuple):
    """One row of nodes: the inputs x, a layer's h or c in one direction, or the outputs y."""

    kind: str  # "x", "h", "c" or "y"
    label: str  # name on the left axis: "h", "c¹ ←", …
    layer: LayerTrace | None = None
    reverse: bool = False  # a backward-direction row: arrows point left


def graph_rows(trace: Trace) -> list[Row]:
    """Bottom-up rows of the unrolled graph of `trace`'s model."""
    rows = [Row("x", "x")]
    for lt in trace.layers:
        tag = str(lt.layer).translate(SUP) if trace.meta["layers"] > 1 else ""
        tag += (" ←" if lt.reverse else " →") if trace.meta["bidirectional"] else ""
        rows += [
            Row(k, k + tag, lt, lt.reverse) for k in ("c", "h") if k == "h" or lt.c is not None
        ]
    return [*rows, Row("y", "ŷ")]


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


def _short(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:.2f}"


@lru_cache(maxsize=1024)
def _pen(rgb: int, width: float, dashed: bool = False) -> QPen:
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


class UnrolledGraphPanel(Panel):
    title = "Unrolled computation graph"
    key = "graph"
    info = (
        "The network unrolled in time around t: x_t → h_t → ŷ_t, with h_{t-1} → h_t carrying "
        "the memory (and the cell state c_{t-1} → c_t, scaled by the forget gate f, in an "
        "LSTM). Every column uses the same W_xh, W_hh, W_hy. Forward: node colour = ‖h_t‖ or "
        "one unit's value. Backward: node and edge colour = log10 ‖∂L/∂h_t‖ — watch it fade "
        "going back in time. Vertical arrows show the flow up the stack; in a bidirectional "
        "model both directions of a layer read the layer below."
    )

    def __init__(self, cursor, parent=None) -> None:
        super().__init__(cursor, parent)
        self.view_combo = QComboBox()
        self.view_combo.addItems(VIEWS)
        self.unit_spin = QSpinBox(minimum=-1, maximum=0, value=-1, prefix="unit ")
        self.unit_spin.setSpecialValueText("norm over units")
        self.unit_spin.setToolTip("Colour by one hidden unit instead of the norm over all units")
        for w in (self.view_combo, self.unit_spin):
            self.controls_row.addWidget(w)
        self.controls_row.addStretch(1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.graphics)
        self.plot = self.graphics.addPlot(0, 0)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        font = QFont()
        font.setPointSize(theme.FONT_PT)
        self.font = QFont(font)  # the node labels' (the axes keep their own)
        for name in ("left", "bottom"):  # row names and timesteps, no axis lines
            ax = self.plot.getAxis(name)
            ax.setStyle(tickFont=font, tickLength=0)
            ax.setPen(pg.mkPen(None))
            ax.setTextPen(pg.mkPen(theme.BLACK))
        self.colorbar = pg.ColorBarItem(
            values=(0, 1), colorMap=theme.cmap(theme.SEQUENTIAL), interactive=False, width=18
        )
        self.colorbar.axis.setStyle(tickFont=font)
        self.colorbar.axis.enableAutoSIPrefix(False)  # no "(x0.001)" beside the label
        self.colorbar.axis.setWidth(None)  # fit the tick labels and the axis label
        self.graphics.addItem(self.colorbar, 0, 1)
        self.hover_label = self.add_hint(HINT)
        self.hover_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)
        self.trace: Trace | None = None
        self.steps = 0  # the steps of sequence 0 drawn: T, or a padded sentence's words
        self.rows: list[Row] = []
        self.columns = 0  # drawn columns; the window is self.window
        self.window: range = range(0)
        self.nodes: dict[tuple[int, int], QGraphicsRectItem] = {}  # (row, column) -> node
        self.labels: dict[tuple[int, int], pg.TextItem] = {}
        self.values: dict[int, np.ndarray] = {}  # row -> (T,) value shown (norm, unit, |grad|)
        self.levels = (0.0, 1.0)  # colour levels (log10 in the backward view)
        # (row, slot, arrow angle: 90 up, 180 right, 0 left, line, arrowhead)
        self.edges: list[tuple[int, int, int, QGraphicsLineItem, pg.ArrowItem]] = []
        self._structure = None
        self._fit_pending = False  # resized since the nodes were laid out
        self.roomy = False  # two-line node labels
        self.half_h = HALF_H  # node half-height, in row pitches
        self.view_combo.currentIndexChanged.connect(self._mode_changed)
        self.unit_spin.valueChanged.connect(self._mode_changed)
        self.graphics.scene().sigMouseMoved.connect(self._hover)

    @property
    def backward(self) -> bool:
        return self.view_combo.currentIndex() == 1

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        self.trace = trace
        self.steps = steps_shown(trace)  # a padded sentence up to its last word
        self.rows = graph_rows(trace)
        self.unit_spin.blockSignals(True)  # a smaller H clamps the unit: recoloured below
        self.unit_spin.setMaximum(trace.layers[0].h.shape[-1] - 1)
        self.unit_spin.blockSignals(False)
        self._compute_values()
        self._build()

    def _compute_values(self) -> None:
        """Per row, the whole sequence's shown value, and colour levels spanning all of it."""
        unit, backward = self.unit_spin.value(), self.backward
        self.values = {}
        for r, row in enumerate(self.rows):
            if row.kind not in ("h", "c"):
                continue
            lt = row.layer
            a = {"h": (lt.h, lt.grad_h), "c": (lt.c, lt.grad_c)}[row.kind][backward]
            a = np.zeros_like(lt.h) if a is None else a
            a = a[0, : self.steps]  # (T, H)
            v = vector_norms(a) if unit < 0 else a[:, unit]  # (T,)
            self.values[r] = np.abs(v) if backward else v
        allv = np.concatenate(list(self.values.values()))
        with_c = "c" if any(row.kind == "c" for row in self.rows) else ""
        if backward:
            pos = allv[allv > 0]
            lo, hi = (np.log10(pos.min()), np.log10(pos.max())) if pos.size else (-1.0, 0.0)
            label = "‖∂L/∂hₜ‖" + (", ‖∂L/∂cₜ‖" if with_c else "") + " (log scale)"
            name = theme.SEQUENTIAL
        elif unit < 0:
            lo, hi = 0.0, float(allv.max())
            name, label = theme.SEQUENTIAL, "‖hₜ‖" + (", ‖cₜ‖" if with_c else "")
        else:
            hi = float(np.abs(allv).max())
            lo, name, label = -hi, theme.DIVERGING, f"unit {unit} value"
        self.levels = (float(lo), float(hi) if hi > lo else float(lo) + 1.0)
        cm = theme.cmap(name)
        self._colours = [
            QColor(*(int(c) for c in rgb)) for rgb in cm.getLookupTable(0.0, 1.0, 256, alpha=False)
        ]
        self.colorbar.setColorMap(cm)
        self.colorbar.setLevels(self.levels)
        self.colorbar.axis.setLabel(label)
        self.colorbar.axis.setTicks(log_ticks(*self.levels) if backward else None)

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """t, then the value each row's nodes show at t (as the view and unit chosen)."""
        if not self.values:
            return {}
        unit, backward = self.unit_spin.value(), self.backward
        table = {"t": np.arange(len(next(iter(self.values.values()))))}
        for r, values in self.values.items():
            row = self.rows[r]
            what = f"{row.kind} unit {unit}" if unit >= 0 else f"‖{row.kind}_t‖"
            if backward:
                what = f"|∂L/∂{what}|" if unit >= 0 else f"‖∂L/∂{row.kind}_t‖"
            table[f"{what} ({row.layer.name})"] = values
        return {"time": table}

    def colour_of(self, value: float) -> QColor:
        """The node colour for a shown value (a norm, unit value or |gradient|)."""
        if self.backward:
            value = np.log10(value) if value > 0 else self.levels[0]
        lo, hi = self.levels
        i = min(255, max(0, int((value - lo) / (hi - lo) * 255)))
        return self._colours[i]

    def _mode_changed(self) -> None:
        if self.trace is not None:
            self._compute_values()
            self.show_time(self.cursor.t)

    # -- drawing

    def _fit(self) -> tuple[int, bool, float]:
        """Columns that fit the width (odd, so t sits in the middle), whether the rows are
        tall enough for two-line labels ("h₅" over the value), and the nodes' half-height:
        HALF_H, or more in rows too short for a line of text in a node that size."""
        n = max(3, min(MAX_COLUMNS, (self.graphics.width() - 140) // COLUMN_PX))
        pitch = max(1.0, (self.graphics.height() - 40) / len(self.rows))  # px per row
        self.font.setPointSize(theme.FONT_PT)  # for the labels made next: larger when presenting
        text = QFontMetricsF(self.font).height()
        half_h = round(min(MAX_HALF_H, max(HALF_H, (text + 4) / (2 * pitch))), 2)
        return min(n - (n + 1) % 2, self.steps), pitch > 52, half_h

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        # One rebuild after a burst of resizes (a layout change sends several), not one each:
        # Qt merges posted layout requests, and export's settle() delivers them before a grab.
        if not self._fit_pending:
            self._fit_pending = True
            QApplication.postEvent(self, QEvent(QEvent.Type.LayoutRequest))

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and self._fit_pending:
            self._fit_pending = False
            if self.trace is not None and self._build():
                self.show_time(self.cursor.t)
        return super().event(event)

    def _build(self) -> bool:
        """(Re)create the node and edge items if the graph's shape changed. True if it did."""
        (n, roomy, hh), R = self._fit(), len(self.rows)
        structure = (tuple(r.label for r in self.rows), n, roomy, hh, theme.FONT_PT)
        if structure == self._structure:
            return False
        self._structure, self.columns, self.roomy, self.half_h = structure, n, roomy, hh
        self.plot.clear()
        self.nodes, self.labels, self.edges, self.weight_labels = {}, {}, [], {}
        self.highlight = QGraphicsRectItem(QRectF(-0.5, -0.5, 1, R))
        self.highlight.setBrush(pg.mkBrush(theme.CURSOR + "2d"))  # a pale tint of the cursor
        self.highlight.setPen(pg.mkPen(None))
        self.plot.addItem(self.highlight)
        node_px = (self.graphics.width() - 140) / (n + 0.4) * 2 * HALF_W
        node_h = 2 * hh * max(1.0, (self.graphics.height() - 40) / R)
        label_font = fitted_font(self.font, node_px, node_h, 2 if roomy else 1)
        for r, row in enumerate(self.rows):
            for c in range(n):
                if r + 1 < R:  # data flows up the column
                    self._edge(r, c, (c, r + hh), (c, r + 1 - hh), 90)
                shape = QGraphicsEllipseItem if row.kind in ("x", "y") else QGraphicsRectItem
                node = shape(QRectF(c - HALF_W, r - hh, 2 * HALF_W, 2 * hh))
                label = pg.TextItem(anchor=(0.5, 0.5))
                label.setTextWidth(node_px if roomy else -1)  # centring two lines needs a width
                self._add(node, 2)
                self._add(label, 3, (c, r))
                label.setFont(label_font)
                self.nodes[r, c], self.labels[r, c] = node, label
            if row.kind in ("h", "c"):  # recurrent edges, one slot more than columns
                for s in range(n + 1):
                    a, b = (s - 1 + HALF_W, r), (s - HALF_W, r)
                    self._edge(r, s, b, a, 0) if row.reverse else self._edge(r, s, a, b, 180)
            # the weights on the edges into the cursor column: on the recurrent edge, beside
            # the vertical one (or, where rows are close, beside the x and ŷ nodes)
            w = pg.TextItem(html=WEIGHTS[row.kind], color=theme.BLACK, fill=(255, 255, 255, 220))
            step = (1 if row.reverse else -1) if row.kind in ("h", "c") else 0
            w.setAnchor((0, 0.5) if step == 0 else (0.5, 0.5))
            if step:
                offset = (step / 2, 0.0)
            else:
                offset = (0.04, 0.5 if row.kind == "x" else -0.5) if roomy else (HALF_W + 0.01, 0)
            self.weight_labels[r] = (self._add(w, 4), offset, step)
        self.plot.setRange(xRange=(-0.7, n - 0.3), yRange=(-0.55, R - 0.45), padding=0)
        self.plot.getAxis("left").setTicks([[(r, row.label) for r, row in enumerate(self.rows)]])
        return True

    def _add(self, item, z: float, pos: tuple | None = None):
        if isinstance(item, pg.TextItem):
            item.setFont(self.font)
        if pos is not None:
            item.setPos(*pos)
        item.setZValue(z)
        self.plot.addItem(item)
        return item

    def _edge(self, r: int, slot: int, a: tuple, b: tuple, angle: float) -> None:
        """A grey line a → b with an arrowhead at b; angle 90 up, 180 right, 0 left."""
        line = self._add(QGraphicsLineItem(*a, *b), 1)
        line.setPen(_pen(QColor(EDGE_GREY).rgb(), 2))
        arrow = pg.ArrowItem(pos=b, angle=angle, headLen=9, tailLen=None, pen=None, brush=EDGE_GREY)
        self.edges.append((r, slot, angle, line, self._add(arrow, 1)))

    def show_time(self, t: int) -> None:
        if self.trace is None:
            return
        T, n, backward = self.steps, self.columns, self.backward
        t = min(t, T - 1)
        start = min(max(0, t - n // 2), T - n)
        self.window = range(start, start + n)
        col = t - start
        self.highlight.setRect(QRectF(col - 0.5, -0.5, 1, len(self.rows)))
        self.plot.getAxis("bottom").setTicks([[(c, f"t={s}") for c, s in enumerate(self.window)]])
        for r, (w, (dx, dy), step) in self.weight_labels.items():
            w.setPos(col + dx, r + dy)
            w.setVisible(0 <= t + step < T)  # a recurrent edge into t exists from t + step
        black, white, grey = QColor(theme.BLACK), QColor("white"), QColor(EDGE_GREY)
        for (r, c), node in self.nodes.items():
            row, s = self.rows[r], start + c
            if r in self.values:
                v = self.values[r][s]
                fill, value = self.colour_of(v), fmt(v, backward)
            else:
                fill, value = QColor(NODE_GREY), self._io_text(row.kind, s)
            node.setBrush(QBrush(fill))
            dashed = row.kind == "y" and not self.trace.loss_mask[0, s]  # no loss at s
            node.setPen(_pen((grey if dashed else black).rgb(), 1.5, dashed))
            label = self.labels[r, c]
            if self.roomy:
                name = row.label[0] + str(s).translate(SUB)
                label.setHtml(f"<div align='center'>{name}<br>{value}</div>")
            else:
                label.setPlainText(value)
            label.setColor(black if fill.lightness() > 120 else white)
        for r, slot, angle, line, arrow in self.edges:
            if angle == 90:  # vertical: always inside the window, always grey
                continue
            head = start + slot - (1 if angle == 0 else 0)  # the node the arrow points into
            visible = 0 <= head < T and 0 <= head + (1 if angle == 0 else -1) < T
            line.setVisible(visible)
            arrow.setVisible(visible)
            if visible:  # in the backward view, the gradient that flows back along the edge
                colour = self.colour_of(self.values[r][head]) if backward else grey
                line.setPen(_pen(colour.rgb(), 4 if backward else 2))
                arrow.setBrush(QBrush(colour))

    def _io_text(self, kind: str, s: int) -> str:
        """Short text for input x_s or output ŷ_s: a symbol or up to two values."""
        tr = self.trace
        if kind == "x":
            vocab, raw = tr.meta.get("input_vocab"), tr.x_raw[0, s]
            return vocab[int(raw)] if vocab else " ".join(map(_short, np.atleast_1d(raw)[:2]))
        vocab, y = tr.meta.get("output_vocab"), tr.y_hat[0, s]
        return vocab[int(np.argmax(y))] if vocab else " ".join(map(_short, y[:2]))

    # -- hover

    def describe(self, r: int, s: int) -> str:
        """Exact values of node (row r, timestep s), for the hover line."""
        row, tr = self.rows[r], self.trace
        # the input row names its token itself
        where = (
            f"{row.label} at {f't={s}' if row.kind == 'x' else at_t(tr, s, compact=True, eq='=')}"
        )
        if row.kind in ("x", "y"):
            vocab = tr.meta.get("input_vocab" if row.kind == "x" else "output_vocab")
            raw = tr.x_raw[0, s] if row.kind == "x" else tr.y_hat[0, s]
            text = f"'{self._io_text(row.kind, s)}'" if vocab else np.array2string(raw, precision=4)
            if row.kind == "x":
                return f"{where}: {text}"
            y = tr.y[0, s]
            target = f"'{vocab[int(y)]}'" if vocab else np.array2string(y, precision=4)
            used = "counts in the loss" if tr.loss_mask[0, s] else "not in the loss"
            return f"{where}: {text}, target {target}, {used}"
        lt, k = row.layer, self.unit_spin.value()
        a, g = (lt.h, lt.grad_h) if row.kind == "h" else (lt.c, lt.grad_c)
        g = np.zeros_like(a) if g is None else g
        text = f"{where}: ‖{row.kind}‖ = {vector_norms(a[0, s]):.4g}"
        if k >= 0:
            text += f", {row.kind}[{k}] = {a[0, s, k]:.4g}"
        return text + f", ‖∂L/∂{row.kind}‖ = {vector_norms(g[0, s]):.3e}"

    def _hover(self, pos) -> None:
        if self.trace is None or not self.plot.sceneBoundingRect().contains(pos):
            return
        p = self.plot.getViewBox().mapSceneToView(pos)
        c, r = round(p.x()), round(p.y())
        inside = abs(p.x() - c) <= HALF_W and abs(p.y() - r) <= self.half_h
        if inside and (r, c) in self.nodes:
            self.hover_label.setText(self.describe(r, self.window[c]))
