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

An encoder-decoder is drawn as two blocks of columns side by side (graph_seq2seq.py): the
encoder's input steps j, then the decoder's steps t with its context vectors and outputs; the
bridge carries the encoder's final state into the decoder's start state, and with attention a
fan of edges, as wide as the weights α_{t,j}, carries the encoder's states into c_t.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF
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
from rnnviz.core.trace import Trace
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.core import graph_seq2seq
from rnnviz.qt.panels.core.graph_rows import Row, blocks, graph_rows
from rnnviz.qt.panels.core.graph_style import (
    EDGE_GREY,
    HALF_H,
    HALF_W,
    MAX_HALF_H,
    NODE_GREY,
    SUB,
    fitted_font,
    fmt,
    log_ticks,
    pen,
    short,
)
from rnnviz.qt.panels.halves import Half

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

MAX_COLUMNS = 9
COLUMN_PX = 80  # narrowest column that still fits a label like "3.2e-4" at 11 pt
VIEWS = ("Forward values", "Backward gradients")
WEIGHTS = {
    "x": "W<sub>xh</sub>",
    "h": "W<sub>hh</sub>",
    "c": "⊙f",
    "y": "W<sub>hy</sub>",
    "ctx": "α",  # c_t = Σ_j α_tj h_j, the scores from s_t
}
HINT = "Every column shares the same weights. Hover a node for its exact values."


class UnrolledGraphPanel(Panel):
    title = "Unrolled computation graph"
    key = "graph"
    needs_layers = True
    info = (
        "The network unrolled in time around t: x_t → h_t → ŷ_t, with h_{t-1} → h_t carrying "
        "the memory (and the cell state c_{t-1} → c_t, scaled by the forget gate f, in an "
        "LSTM). Every column uses the same W_xh, W_hh, W_hy. Forward: node colour = ‖h_t‖ or "
        "one unit's value. Backward: node and edge colour = log10 ‖∂L/∂h_t‖ — watch it fade "
        "going back in time. Vertical arrows show the flow up the stack; in a bidirectional "
        "model both directions of a layer read the layer below. An encoder-decoder: the "
        "encoder's input steps j on the left, the decoder's steps t on the right; the bridge "
        "carries h_{N-1} into the decoder's start state (all it gets without attention: the "
        "bottleneck), and with attention a fan of edges as wide as α_{t,j} carries every h_j "
        "into the context c_t = Σ_j α_{t,j} h_j."
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
        for name in ("left", "bottom", "right"):  # row names and timesteps, no axis lines
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
        # per block, the steps of sequence 0 it draws (T, a padded sentence's words, or an
        # encoder-decoder's input and output steps)
        self.halves: list[Half] = []
        self.rows: list[Row] = []
        self.columns = 0  # drawn columns, all blocks'; the window is self.window
        self.counts: list[int] = []  # per block, its columns
        self.x0: list[int] = []  # per block, the x of its first column
        self.windows: list[range] = []  # per block, the steps drawn
        self.window: range = range(0)  # the last block's: the steps under the time cursor
        self.nodes: dict[tuple[int, int], QGraphicsRectItem] = {}  # (row, x) -> node
        self.labels: dict[tuple[int, int], pg.TextItem] = {}
        self.values: dict[int, np.ndarray] = {}  # row -> (T,) value shown (norm, unit, |grad|)
        self.highlights: list[QGraphicsRectItem] = []  # per block, the column marked
        self.links = None  # an encoder-decoder's bridge and attention (graph_seq2seq.Links)
        self.levels = (0.0, 1.0)  # colour levels (log10 in the backward view)
        self._cmap_name = ""  # the colour map of self._colours and the colour bar
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

    @property
    def highlight(self) -> QGraphicsRectItem:
        """The tint on the column under the time cursor (the decoder's, with two blocks)."""
        return self.highlights[-1]

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        self.trace = trace
        self.halves = blocks(trace)
        self.rows = graph_rows(trace)
        self.unit_spin.blockSignals(True)  # a smaller H clamps the unit: recoloured below
        widths = [row.layer.h.shape[-1] for row in self.rows if row.layer is not None]
        self.unit_spin.setMaximum(min(widths) - 1)  # a unit every row has
        self.unit_spin.blockSignals(False)
        self._compute_values()
        self._build()

    def _arrays(self, row: Row) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The [B, T, H] values and gradients a row's nodes show."""
        lt = row.layer
        if row.kind == "ctx":
            return self.trace.context, self.trace.grad_context
        return (lt.h, lt.grad_h) if row.kind == "h" else (lt.c, lt.grad_c)

    def _compute_values(self) -> None:
        """Per row, the whole sequence's shown value, and colour levels spanning all of it."""
        unit, backward = self.unit_spin.value(), self.backward
        self.values = {}
        for r, row in enumerate(self.rows):
            if row.kind not in ("h", "c", "ctx"):
                continue
            shown = self.halves[row.block]
            a = self._arrays(row)[backward]
            if a is None:  # nothing recorded: NaN, a grey node
                self.values[r] = np.full(shown.steps, np.nan)
                continue
            a = shown.seq(a)  # (T, H)
            v = vector_norms(a) if unit < 0 else a[:, unit]  # (T,)
            self.values[r] = np.abs(v) if backward else v
        allv = np.concatenate(list(self.values.values()))
        allv = allv[np.isfinite(allv)]
        with_c = "c" if any(row.kind == "c" for row in self.rows) else ""
        if backward:
            pos = allv[allv > 0]
            lo, hi = (np.log10(pos.min()), np.log10(pos.max())) if pos.size else (-1.0, 0.0)
            label = "‖∂L/∂hₜ‖" + (", ‖∂L/∂cₜ‖" if with_c else "") + " (log scale)"
            name = theme.SEQUENTIAL
        elif unit < 0:  # (no finite value, a diverged run's: grey nodes on levels 0..1)
            lo, hi = 0.0, float(allv.max()) if allv.size else 0.0
            name, label = theme.SEQUENTIAL, "‖hₜ‖" + (", ‖cₜ‖" if with_c else "")
        else:
            hi = float(np.abs(allv).max()) if allv.size else 0.0
            lo, name, label = -hi, theme.DIVERGING, f"unit {unit} value"
        self.levels = (float(lo), float(hi) if hi > lo else float(lo) + 1.0)
        if name != self._cmap_name:  # a new table and bar only when the colour map changes
            self._cmap_name = name
            cm = theme.cmap(name)
            lut = cm.getLookupTable(0.0, 1.0, 256, alpha=False)
            self._colours = [QColor(*(int(c) for c in rgb)) for rgb in lut]
            self.colorbar.setColorMap(cm)
        self.colorbar.setLevels(self.levels)
        self.colorbar.axis.setLabel(label)
        self.colorbar.axis.setTicks(log_ticks(*self.levels) if backward else None)

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Per block ("time", or "encoder" and "decoder"), its steps, then the value each
        row's nodes show there (as the view and unit chosen)."""
        if not self.values:
            return {}
        unit, backward = self.unit_spin.value(), self.backward
        tables: dict[str, dict[str, np.ndarray]] = {}
        for r, values in self.values.items():
            row, shown = self.rows[r], self.halves[self.rows[r].block]
            table = tables.setdefault(shown.part or "time", {shown.symbol: np.arange(len(values))})
            what = f"{row.kind} unit {unit}" if unit >= 0 else f"‖{row.kind}_t‖"
            if backward:
                what = f"|∂L/∂{what}|" if unit >= 0 else f"‖∂L/∂{row.kind}_t‖"
            table[f"{what} ({row.layer.name if row.layer else 'context'})"] = values
        return tables

    def colour_of(self, value: float) -> QColor:
        """The node colour for a shown value (a norm, unit value or |gradient|)."""
        if not np.isfinite(value):
            return QColor(NODE_GREY)
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

    def _fit(self) -> tuple[list[int], bool, float]:
        """Columns per block that fit the width (odd, so t sits in the middle), whether the
        rows are tall enough for two-line labels ("h₅" over the value), and the nodes'
        half-height: HALF_H, or more in rows too short for a line of text in a node that
        size. Two blocks share the width, a column between them."""
        k = len(self.halves)
        room = (self.graphics.width() - (200 if k > 1 else 140)) // COLUMN_PX - (k - 1)
        n = max(3, min(MAX_COLUMNS, room // k))
        height = 1 + max(row.y for row in self.rows)
        pitch = max(1.0, (self.graphics.height() - 40) / height)  # px per row
        self.font.setPointSize(theme.FONT_PT)  # for the labels made next: larger when presenting
        text = QFontMetricsF(self.font).height()
        half_h = round(min(MAX_HALF_H, max(HALF_H, (text + 4) / (2 * pitch))), 2)
        counts = [min(n - (n + 1) % 2, shown.steps) for shown in self.halves]
        return counts, pitch > 52, half_h

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
        (counts, roomy, hh), R = self._fit(), 1 + max(row.y for row in self.rows)
        labels = tuple((r.label, r.block) for r in self.rows)
        structure = (labels, tuple(counts), roomy, hh, theme.FONT_PT)
        if structure == self._structure:
            return False
        self._structure, self.counts, self.roomy, self.half_h = structure, counts, roomy, hh
        self.x0 = [sum(counts[:b]) + b for b in range(len(counts))]  # a column between blocks
        self.columns = sum(counts) + len(counts) - 1
        self.plot.clear()
        self.nodes, self.labels, self.edges, self.weight_labels = {}, {}, [], {}
        self.highlights = []
        for b in range(len(counts)):
            rows = 1 + max(row.y for row in self.rows if row.block == b)
            tint = QGraphicsRectItem(QRectF(-0.5, -0.5, 1, rows))
            tint.setBrush(pg.mkBrush(theme.CURSOR + "2d"))  # a pale tint of the cursor
            tint.setPen(pg.mkPen(None))
            self.plot.addItem(tint)
            self.highlights.append(tint)
        node_px = (self.graphics.width() - 140) / (self.columns + 0.4) * 2 * HALF_W
        node_h = 2 * hh * max(1.0, (self.graphics.height() - 40) / R)
        label_font = fitted_font(self.font, node_px, node_h, 2 if roomy else 1)
        for r, row in enumerate(self.rows):
            x0, n, y = self.x0[row.block], counts[row.block], row.y
            above = any(o.block == row.block and o.y == y + 1 for o in self.rows)
            for c in range(x0, x0 + n):
                if above:  # data flows up the column
                    self._edge(r, c - x0, (c, y + hh), (c, y + 1 - hh), 90)
                shape = QGraphicsEllipseItem if row.kind in ("x", "y") else QGraphicsRectItem
                node = shape(QRectF(c - HALF_W, y - hh, 2 * HALF_W, 2 * hh))
                label = pg.TextItem(anchor=(0.5, 0.5))
                label.setTextWidth(node_px if roomy else -1)  # centring two lines needs a width
                self._add(node, 2)
                self._add(label, 3, (c, y))
                label.setFont(label_font)
                self.nodes[r, c], self.labels[r, c] = node, label
            if row.kind in ("h", "c"):  # recurrent edges, one slot more than columns
                for s in range(n + 1):
                    a, b = (x0 + s - 1 + HALF_W, y), (x0 + s - HALF_W, y)
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
        self.links = graph_seq2seq.Links(self) if len(counts) > 1 else None
        self.plot.setRange(xRange=(-0.7, self.columns - 0.3), yRange=(-0.55, R - 0.45), padding=0)
        for side, b in (("left", 0), ("right", 1)):  # a decoder's rows named on the right
            ticks = [(row.y, row.label) for row in self.rows if row.block == b]
            self.plot.getAxis(side).setTicks([ticks])
            self.plot.showAxis(side, bool(ticks))
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
        line.setPen(pen(QColor(EDGE_GREY).rgb(), 2))
        arrow = pg.ArrowItem(pos=b, angle=angle, headLen=9, tailLen=None, pen=None, brush=EDGE_GREY)
        self.edges.append((r, slot, angle, line, self._add(arrow, 1)))

    def show_time(self, t: int) -> None:
        if self.trace is None:
            return
        backward, ticks, cols = self.backward, [], []
        self.windows = []
        for b, (shown, n) in enumerate(zip(self.halves, self.counts, strict=True)):
            i = shown.at(t)  # the cursor's step, or the input step decoder step t reads
            start = min(max(0, i - n // 2), shown.steps - n)
            self.windows.append(range(start, start + n))
            cols.append(i - start)
            rows = self.highlights[b].rect().height()
            self.highlights[b].setRect(QRectF(self.x0[b] + i - start - 0.5, -0.5, 1, rows))
            ticks += [
                (self.x0[b] + c, f"{shown.symbol}={s}") for c, s in enumerate(self.windows[b])
            ]
        self.window = self.windows[-1]
        self.plot.getAxis("bottom").setTicks([ticks])
        for r, (w, (dx, dy), step) in self.weight_labels.items():
            row = self.rows[r]
            col, T = cols[row.block], self.halves[row.block].steps
            w.setPos(self.x0[row.block] + col + dx, row.y + dy)
            w.setVisible(0 <= self.windows[row.block][col] + step < T)  # an edge into t exists
        black, white, grey = QColor(theme.BLACK), QColor("white"), QColor(EDGE_GREY)
        for (r, x), node in self.nodes.items():
            row = self.rows[r]
            s = self.windows[row.block][x - self.x0[row.block]]
            if r in self.values:
                v = self.values[r][s]
                fill = self.colour_of(v)
                value = fmt(v, backward) if np.isfinite(v) else "–"
            else:
                fill, value = QColor(NODE_GREY), self._io_text(row, s)
            node.setBrush(QBrush(fill))
            dashed = row.kind == "y" and not self.trace.loss_mask[0, s]  # no loss at s
            node.setPen(pen((grey if dashed else black).rgb(), 1.5, dashed))
            label = self.labels[r, x]
            if self.roomy:
                name = row.symbol + str(s + row.shift).translate(SUB)
                text = f"<div align='center'>{name}<br>{html.escape(value)}</div>"
                if getattr(label, "html", None) != text:  # a text laid out anew costs
                    label.html = text
                    label.setHtml(text)
            else:
                label.html = None
                label.setPlainText(value)
            label.setColor(black if fill.lightness() > 120 else white)
        for r, slot, angle, line, arrow in self.edges:
            if angle == 90:  # vertical: always inside the window, always grey
                continue
            block = self.rows[r].block
            T, start = self.halves[block].steps, self.windows[block].start
            head = start + slot - (1 if angle == 0 else 0)  # the node the arrow points into
            visible = 0 <= head < T and 0 <= head + (1 if angle == 0 else -1) < T
            line.setVisible(visible)
            arrow.setVisible(visible)
            if visible:  # in the backward view, the gradient that flows back along the edge
                colour = self.colour_of(self.values[r][head]) if backward else grey
                line.setPen(pen(colour.rgb(), 4 if backward else 2))
                arrow.setBrush(QBrush(colour))
        if self.links is not None:
            self.links.show(t)

    def _io_text(self, row: Row, s: int) -> str:
        """Short text for input x_s (a decoder's: the previous target) or output ŷ_s: a
        symbol or up to two values."""
        tr = self.trace
        if row.kind == "x" and row.block == 1:
            return graph_seq2seq.decoder_input(tr, s)
        if row.kind == "x":
            vocab, raw = tr.meta.get("input_vocab"), tr.x_raw[0, self.halves[0].start + s]
            return vocab[int(raw)] if vocab else " ".join(map(short, np.atleast_1d(raw)[:2]))
        vocab, y = tr.meta.get("output_vocab"), tr.y_hat[0, s]
        return vocab[int(np.argmax(y))] if vocab else " ".join(map(short, y[:2]))

    # -- hover

    def describe(self, r: int, s: int) -> str:
        """Exact values of node (row r, step s of its block), for the hover line."""
        row, tr = self.rows[r], self.trace
        shown = self.halves[row.block]
        where = f"{row.label} at {shown.where(s, compact=True, eq='=')}"
        if row.kind == "x" and row.block == 0:  # the input row names its token itself
            where = f"{row.label} at {shown.symbol}={s}"
        if row.kind in ("x", "y"):
            vocab = tr.meta.get("input_vocab" if row.kind == "x" else "output_vocab")
            raw = tr.x_raw[0, shown.start + s] if row.kind == "x" else tr.y_hat[0, s]
            text = f"'{self._io_text(row, s)}'" if vocab else np.array2string(raw, precision=4)
            if row.kind == "x":
                return f"{where}: {text}"
            y = tr.y[0, s]
            target = f"'{vocab[int(y)]}'" if vocab else np.array2string(y, precision=4)
            used = "counts in the loss" if tr.loss_mask[0, s] else "not in the loss"
            return f"{where}: {text}, target {target}, {used}"
        k = self.unit_spin.value()
        a, g = (shown.seq(v) if v is not None else None for v in self._arrays(row))
        text = f"{where}: ‖{row.symbol}‖ = {vector_norms(a[s]):.4g}"
        if k >= 0:
            text += f", {row.symbol}[{k}] = {a[s, k]:.4g}"
        if g is None:
            return text + ", its gradient is not recorded"
        return text + f", ‖∂L/∂{row.symbol}‖ = {vector_norms(g[s]):.3e}"

    def _hover(self, pos) -> None:
        if self.trace is None or not self.plot.sceneBoundingRect().contains(pos):
            return
        p = self.plot.getViewBox().mapSceneToView(pos)
        x, y = round(p.x()), round(p.y())
        if abs(p.x() - x) > HALF_W or abs(p.y() - y) > self.half_h:
            return
        for r, row in enumerate(self.rows):
            if row.y == y and (r, x) in self.nodes:
                s = self.windows[row.block][x - self.x0[row.block]]
                self.hover_label.setText(self.describe(r, s))
                return
