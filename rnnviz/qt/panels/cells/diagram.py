"""One recurrent cell drawn in the classic style of Olah's "Understanding LSTM Networks" (2015),
with the live values of one unit at the cursor t.

LSTM: the cell state runs along the top as a conveyor belt from c_{t-1} to c_t, and four
steps act on it,

    forget  f_t ⊙ c_{t-1}            (× on the belt)
    store   i_t ⊙ g_t                (× below the belt, added at "+")
    update  c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    output  h_t = o_t ⊙ tanh(c_t)

with h_{t-1} and x_t entering bottom left and feeding every gate. The belt after the forget ×
is as wide as f_t (what passes), the path into "+" as wide as i_t·|g_t| (what is stored). The
peephole LSTM adds dashed arrows from the cell state into its gates. GRU (torch's form):

    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))

with the carry path h_{t-1} → h_t as wide as z_t. Torch's z keeps the old state: the lecture's
z (Cho et al.) is torch's 1 - z. The simplified GRU drops the reset gate; the Elman RNN has
no gates at all, h_t = tanh(a_t) with a_t = W_hh h_{t-1} + W_xh x_t + b.

Gate boxes are filled by their value: sigmoid gates on a 0..1 map, tanh candidates on -1..1.
View coordinates: x from 0 (inputs) to 16 (outputs), y up, about 10 units tall.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QLinearGradient, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsPathItem,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
)

from rnnviz.core.cells import CELLS
from rnnviz.core.trace import LayerTrace, Trace
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

X_RANGE, Y_RANGE = (-0.2, 16.2), (-1.15, 9.95)
TOP, BOTTOM, GATE_Y = 7.0, 1.2, 3.2  # the belt / carry line, the input line, the gate row
GATE_W, GATE_H = 1.5, 1.1
NODE_R = 0.3  # radius of the × and + nodes
LINE = 0.05  # width of a plain connection, in view units (it scales with the figure)
FLOW_MIN, FLOW_MAX = 0.03, 0.26  # width of a path carrying 0 .. 1 of what flows in
GREY, CELL_FILL, CELL_EDGE = "#707070", "#F3F3F3", "#B0B0B0"
UNIT_PX = 43  # pixels per view unit at which labels of theme.FONT_PT fit the layout
GAP = "&nbsp;" * 6  # between two equations on one line
HINT = "Hover a box, a node or a value for its exact value and equation."


def fmt(v: float) -> str:
    """A value as drawn on the diagram: two decimals and a true minus sign."""
    return f"{v:.2f}".replace("-", "−") if np.isfinite(v) else str(v)


class _Template(string.Formatter):
    """str.format with one more conversion: {name!p} puts a negative number in parentheses,
    so that products read 0.69·(−1.81) rather than 0.69·−1.81."""

    def convert_field(self, value, conversion):
        if conversion == "p":
            return f"({value})" if str(value).startswith("−") else value
        return super().convert_field(value, conversion)


TEMPLATE = _Template()


def flow_width(v: float) -> float:
    """Width of a path that carries a fraction v (0..1) of what flows in."""
    v = float(np.clip(np.nan_to_num(v), 0.0, 1.0))
    return FLOW_MIN + (FLOW_MAX - FLOW_MIN) * v


def text_colour(fill: QColor) -> QColor:
    return QColor(theme.BLACK) if fill.lightness() > 120 else QColor("white")


class Arrow:
    """A polyline through view points with an arrowhead at the last one; its width can change,
    and the head grows with it so a thick flow still ends in a visible point."""

    def __init__(
        self,
        view: pg.ViewBox,
        points,
        colour: str,
        width: float = LINE,
        head: bool = True,
        dashed: bool = False,
        z: float = 1,
    ) -> None:
        self.points = [QPointF(*p) for p in points]
        self.colour, self.has_head, self.dashed = QColor(colour), head, dashed
        self.line = QGraphicsPathItem()
        self.head = QGraphicsPathItem()
        self.head.setPen(QPen(Qt.PenStyle.NoPen))
        self.head.setBrush(QBrush(self.colour))
        for item in (self.line, self.head):
            item.setZValue(z)
            view.addItem(item)
        self.set_width(width)

    def set_width(self, width: float, opacity: float = 1.0) -> None:
        pen = QPen(self.colour, width)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        if self.dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.line.setPen(pen)
        pts = list(self.points)
        if self.has_head:
            tip, before = pts[-1], pts[-2]
            d = tip - before
            d /= max(1e-9, (d.x() ** 2 + d.y() ** 2) ** 0.5)
            n = QPointF(-d.y(), d.x())
            length, half = 0.2 + 0.9 * width, 0.09 + 0.75 * width
            base = tip - d * length
            self.head.setPath(_polygon([tip, base + n * half, base - n * half]))
            pts[-1] = tip - d * (length * 0.6)  # the line stops inside the head
        path = QPainterPath(pts[0])
        for p in pts[1:]:
            path.lineTo(p)
        self.line.setPath(path)
        self.line.setOpacity(opacity)
        self.head.setOpacity(opacity)

    @property
    def width(self) -> float:
        return self.line.pen().widthF()


def _polygon(points) -> QPainterPath:
    path = QPainterPath()
    path.addPolygon(QPolygonF(points))
    path.closeSubpath()
    return path


@dataclass
class Box:
    """A gate or function box: filled by `key`'s value on `scale` ('gate' 0..1, 'signed'
    -1..1, or None for a neutral fill), with its function on top and 'name = value' below."""

    key: str
    shape: QGraphicsPathItem
    function: pg.TextItem
    value: pg.TextItem
    scale: str | None
    name: str  # html before ' = value'


@dataclass(frozen=True)
class Values:
    """What the diagram shows at (sequence 0, t, unit): gates and states of one layer."""

    t: int
    unit: int
    prev: int  # the timestep the state comes from: t-1, or t+1 in a reverse direction
    v: dict  # name -> float: gates, h, h_prev, c, c_prev, tanh_c, a, 1-z, products

    def __getitem__(self, name: str) -> float:
        return self.v[name]


def cell_values(lt: LayerTrace, t: int, unit: int) -> Values:
    """Gates and states of `lt` at (sequence 0, t, unit); the state before t=0 is zero."""
    T = lt.h.shape[1]
    prev = t + 1 if lt.reverse else t - 1
    inside = 0 <= prev < T
    v = {g: float(a[0, t, unit]) for g, a in lt.gates.items()}
    v["h"] = float(lt.h[0, t, unit])
    v["h_prev"] = float(lt.h[0, prev, unit]) if inside else 0.0
    with np.errstate(all="ignore"):  # a diverged run's inf and nan pass through as they are
        if lt.c is not None:
            v["c"] = float(lt.c[0, t, unit])
            v["c_prev"] = float(lt.c[0, prev, unit]) if inside else 0.0
            v["tanh_c"] = float(np.tanh(v["c"]))
            v["keep"] = v["f"] * v["c_prev"]
            v["store"] = v["i"] * v["g"]
            v["stored"] = v["i"] * abs(v["g"])  # how much is written, whatever its sign
        elif "z" in v:
            v["1-z"] = 1.0 - v["z"]
            v["keep"] = v["z"] * v["h_prev"]
            v["store"] = v["1-z"] * v["n"]
            v["written"] = v["1-z"] * abs(v["n"])
        if lt.preact is not None:
            v["a"] = float(lt.preact[0, t, unit])
    return Values(t, unit, prev, v)


def most_active_unit(lt: LayerTrace) -> int:
    """The unit with the largest mean |h_t| over sequence 0."""
    with np.errstate(all="ignore"):
        activity = np.nan_to_num(np.abs(lt.h[0]), posinf=0.0).mean(axis=0)  # (H,)
    return int(np.argmax(activity))


class CellDiagramPanel(Panel):
    title = "Cell diagram"
    key = "cell_diagram"
    draws = ("trace",)
    info = (
        "One cell of the chosen layer, drawn as in Olah's “Understanding LSTM Networks”, with "
        "the live values of one unit at the cursor t (sequence 0). LSTM: the cell state runs "
        "along the top like a conveyor belt; forget: f_t ⊙ c_{t−1}; store: i_t ⊙ g_t; "
        "update: c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t; output: h_t = o_t ⊙ tanh(c_t). The belt "
        "is as wide as f_t (what passes) and the stored path as wide as i_t·|g_t|. GRU "
        "(torch's form): h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}, n_t = tanh(W_in x_t + b_in + "
        "r_t ⊙ (W_hn h_{t−1} + b_hn)); the carry path is as wide as z_t. Torch's z keeps the "
        "old state: the lecture's z is torch's 1 − z. Boxes are filled by their value (sigmoid "
        "gates 0..1, tanh candidates −1..1). The Elman RNN has no gates: "
        "h_t = tanh(W_hh h_{t−1} + W_xh x_t + b)."
    )

    def __init__(self, cursor, parent=None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker("Layer and direction shown")
        self.unit_spin = QSpinBox(minimum=0, maximum=0, prefix="unit ")
        self.unit_spin.setToolTip("Hidden unit shown (at first the most active one)")
        self.controls_row.addWidget(self.unit_spin)
        self.controls_row.addStretch(1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.graphics)
        self.view = self.graphics.addViewBox(lockAspect=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.view.setRange(xRange=X_RANGE, yRange=Y_RANGE, padding=0)
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.hover_label = self.add_hint(HINT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)
        self.trace: Trace | None = None
        self.layer: LayerTrace | None = None
        self.values: Values | None = None
        self.cell = ""  # the cell type the items are built for
        self._kind = None  # (cell, nonlinearity) the items are built for
        self._model = None  # (cell, H, layer names): a new model picks the most active unit
        self.boxes: dict[str, Box] = {}
        self.flows: dict[str, tuple[Arrow, str]] = {}  # key -> (arrow, value key of its width)
        self.texts: dict[str, tuple[pg.TextItem, str]] = {}  # key -> (item, html template)
        self.hotspots: list[tuple[QRectF, str]] = []  # view rectangle -> describe() key
        self.layer_combo.currentIndexChanged.connect(self._selection_changed)
        self.unit_spin.valueChanged.connect(self._selection_changed)
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.view.sigResized.connect(self._fit_text)
        self._labels: list[tuple[pg.TextItem, float, bool]] = []  # item, relative size, bold

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        self.trace = trace
        names = [lt.name for lt in trace.layers]
        H = trace.layers[0].h.shape[-1]
        model = (trace.cell, H, tuple(names))
        for w in (self.layer_combo, self.unit_spin):
            w.blockSignals(True)
        self.layer = trace.layers[self.layer_combo.currentIndex()]
        self.unit_spin.setMaximum(H - 1)
        if model != self._model:  # a new model: start from its most active unit
            self._model = model
            self.unit_spin.setValue(most_active_unit(self.layer))
        for w in (self.layer_combo, self.unit_spin):
            w.blockSignals(False)
        kind = (trace.cell, trace.meta.get("nonlinearity"))
        if kind != self._kind:
            self._build(trace.cell)
            self._kind = kind

    def _selection_changed(self) -> None:
        if self.trace is not None:
            self.layer = self.trace.layers[self.layer_combo.currentIndex()]
            self.show_time(self.cursor.t)

    def show_time(self, t: int) -> None:
        if self.trace is None or self.layer is None:
            return
        lt = self.layer
        t = min(max(0, t), lt.h.shape[1] - 1)
        vals = self.values = cell_values(lt, t, self.unit_spin.value())
        for box in self.boxes.values():
            v = vals[box.key]
            fill = self.colour_of(v, box.scale)
            box.shape.setBrush(QBrush(fill))
            ink = text_colour(fill)
            box.value.setHtml(f"{box.name} = {fmt(v)}" if box.name else fmt(v))
            box.value.setColor(ink)
            box.function.setColor(ink)
        for arrow, key in self.flows.values():
            v = vals[key]
            arrow.set_width(flow_width(v), 0.35 + 0.65 * float(np.clip(np.nan_to_num(v), 0, 1)))
        subs = self._subscripts()
        numbers = {k: fmt(v) for k, v in vals.v.items()}
        for item, template in self.texts.values():
            item.setHtml(TEMPLATE.format(template, **subs, **numbers))

    def _subscripts(self) -> dict[str, str]:
        """Template fields: the previous step's subscript, the title and the input."""
        lt, vals, tr = self.layer, self.values, self.trace
        reverse = " (reverse direction: the state comes from t+1)" if lt.reverse else ""
        return {
            "p": "t+1" if lt.reverse else "t−1",
            "title": (
                f"<b>{CELLS[tr.cell].label}</b> · {lt.name} · unit {vals.unit} · "
                f"t = {vals.t} · sequence 0{reverse}"
            ),
            "x": self._input_text(),
        }

    def _input_text(self) -> str:
        """x_t as a symbol or up to two values; above layer 0 it is the layer below's h_t."""
        lt, tr, t = self.layer, self.trace, self.values.t
        if lt.layer > 0:
            return f"h<sub>t</sub> of layer {lt.layer - 1}"
        vocab, raw = tr.meta.get("input_vocab"), tr.x_raw[0, t]
        if vocab:
            return f"'{vocab[int(raw)]}'"
        return ", ".join(fmt(float(r)) for r in np.atleast_1d(raw)[:2])

    def colour_of(self, v: float, scale: str | None) -> QColor:
        if scale is None:
            return QColor("white")
        if not np.isfinite(v):
            return QColor(CELL_EDGE)
        if scale == "gate":
            x, cmap = v, theme.SEQUENTIAL
        else:
            x, cmap = (v + 1) / 2, theme.DIVERGING
        return _lut(cmap)[int(np.clip(x, 0.0, 1.0) * 255)]

    # -- drawing

    def _build(self, cell: str) -> None:
        self.view.clear()
        self.boxes, self.flows, self.texts, self.hotspots = {}, {}, {}, []
        self.cell = cell
        self._labels = []
        frame = QGraphicsPathItem()
        path = QPainterPath()
        path.addRoundedRect(QRectF(1.7, 0.55, 12.4, 7.85), 0.5, 0.5)
        frame.setPath(path)
        frame.setBrush(QBrush(QColor(CELL_FILL)))
        frame.setPen(QPen(QColor(CELL_EDGE), LINE))
        frame.setZValue(-1)
        self.view.addItem(frame)
        self._text("title", "{title}", (0.0, Y_RANGE[1]), (0, 0))
        spec = CELLS[cell]  # the layout follows from the cell's registry entry
        if spec.cell_state:
            self._build_lstm(peephole=spec.peephole)
        elif spec.gates:
            self._build_gru(reset="r" in spec.gate_names)
        else:
            self._build_rnn()
        self._legend()
        self.view.setRange(xRange=X_RANGE, yRange=Y_RANGE, padding=0)
        self._fit_text()

    def _build_lstm(self, peephole: bool) -> None:
        belt = theme.GATE_COLOURS["c"]
        fx, ix, gx, ox, tx = 4.0, 5.9, 7.7, 9.6, 11.3  # f, i, g, o boxes; tanh(c) and output ×
        sy, oy, hx = 5.3, 4.3, 12.6  # store ×, output ×, the h_t junction
        self._inputs(ox)
        # the belt: c_{t-1} → × f → + → c_t, as wide as what passes
        self._arrow((0.2, TOP), (fx - NODE_R, TOP), colour=belt, width=FLOW_MAX, z=3)
        self._flow("belt", "f", [(fx + NODE_R, TOP), (gx - NODE_R, TOP)], belt)
        self._arrow((gx + NODE_R, TOP), (16.0, TOP), colour=belt, width=FLOW_MAX, z=3)
        self._node("forget", (fx, TOP), "×", "① forget", (fx, TOP + 0.4), (0.5, 1))
        self._node("update", (gx, TOP), "+", "③ update", (gx, TOP + 0.4), (0.5, 1))
        self._node("store", (gx, sy), "×", "② store", (gx + 0.4, sy), (0, 0.5))
        self._node("output", (tx, oy), "×", "④ output", (ox + 0.7, oy + 0.1), (0.5, 1))
        for g, x, fn in (("f", fx, "σ"), ("i", ix, "σ"), ("g", gx, "tanh"), ("o", ox, "σ")):
            self._box(g, (x, GATE_Y), fn, g, "gate" if fn == "σ" else "signed")
        self._box("tanh_c", (tx, 5.75), "tanh", "", "signed", size=(1.5, 1.0), oval=True)
        gate = theme.GATE_COLOURS
        self._arrow((fx, GATE_Y + GATE_H / 2), (fx, TOP - NODE_R), colour=gate["f"])
        self._arrow((ix, GATE_Y + GATE_H / 2), (ix, sy), (gx - NODE_R, sy), colour=gate["i"])
        self._arrow((gx, GATE_Y + GATE_H / 2), (gx, sy - NODE_R), colour=gate["g"])
        self._flow("stored", "stored", [(gx, sy + NODE_R), (gx, TOP - NODE_R)], belt)
        self._arrow((ox, GATE_Y + GATE_H / 2), (ox, oy), (tx - NODE_R, oy), colour=gate["o"])
        self._arrow((tx, TOP), (tx, 5.75 + 0.5), colour=belt, z=2)
        self._arrow((tx, 5.75 - 0.5), (tx, oy + NODE_R), colour=theme.BLACK)
        self._outputs((tx + NODE_R, oy), hx)
        if peephole:  # the gates also read the cell: w_c ⊙ c (c_{t-1} into i, f; c_t into o)
            px, dash = 2.3, dict(colour=GREY, width=0.035, dashed=True, z=0.5)
            self._arrow((px, TOP), (px, GATE_Y), (fx - GATE_W / 2, GATE_Y), **dash)
            self._arrow(
                (px, 4.5),
                (ix - GATE_W / 2 - 0.2, 4.5),
                (ix - GATE_W / 2 - 0.2, GATE_Y + 0.3),
                (ix - GATE_W / 2, GATE_Y + 0.3),
                **dash,
            )
            self._arrow((10.6, TOP), (10.6, GATE_Y), (ox + GATE_W / 2, GATE_Y), **dash)
            self._text(
                "peep", "peepholes<br>w<sub>c</sub> ⊙ c", (px + 0.1, 5.9), (0, 0.5), colour=GREY
            )
        self._ends(
            ("c_prev", "c<sub>{p}</sub> = {c_prev}", (0.2, TOP + 0.3), (0, 1)),
            ("c", "c<sub>t</sub> = {c}", (16.0, TOP + 0.3), (1, 1)),
        )
        self._equation(
            "c<sub>t</sub> = f<sub>t</sub> c<sub>{p}</sub> + i<sub>t</sub> g<sub>t</sub> = "
            "{f}·{c_prev!p} + {i}·{g!p} = <b>{c}</b>" + GAP + "h<sub>t</sub> = o<sub>t</sub> "
            "tanh(c<sub>t</sub>) = {o}·{tanh_c!p} = <b>{h}</b>"
        )

    def _build_gru(self, reset: bool) -> None:
        carry = theme.GATE_COLOURS["c"]
        zx, rx, mx, nx, jx = 6.0, 8.2, 9.65, 11.3, 12.6  # z, r, r ⊙ (…), n; the h_t junction
        sy, oz = 5.3, 8.4  # the store × row; the 1 − z box
        # h_{t-1} runs along the top (the carry) and down to feed the gates
        self._arrow((0.2, TOP), (zx - NODE_R, TOP), colour=carry, width=FLOW_MAX, z=3, head=True)
        self._arrow((1.2, TOP), (1.2, BOTTOM), (nx, BOTTOM), colour=GREY, head=False)
        self._arrow((2.8, 0.0), (2.8, BOTTOM), colour=GREY, head=False)
        self._dot((1.2, TOP))
        self._dot((2.8, BOTTOM))
        self._flow("carry", "z", [(zx + NODE_R, TOP), (nx - NODE_R, TOP)], carry)
        self._arrow((nx + NODE_R, TOP), (16.0, TOP), colour=carry, width=FLOW_MAX, z=3)
        self._node("keep", (zx, TOP), "×", "① keep z ⊙ h", (zx, TOP + 0.4), (0.5, 1))
        self._node("write", (nx, sy), "×", "② write (1 − z) ⊙ n", (nx + 0.4, sy - 0.05), (0, 0.5))
        self._node("mix", (nx, TOP), "+", "③ h<sub>t</sub>", (nx, TOP + 0.4), (0.5, 1))
        self._box("z", (zx, GATE_Y), "σ", "z", "gate")
        self._box("n", (nx, GATE_Y), "tanh", "n", "signed")
        self._box("1-z", (oz, sy), "1 − z", "", "gate", size=(1.3, 0.95))
        gate = theme.GATE_COLOURS
        feeds = [zx, nx]
        if reset:
            self._box("r", (rx, GATE_Y), "σ", "r", "gate")
            self._node("reset", (mx, GATE_Y), "×", "", (0, 0), (0, 0))
            self._arrow((rx + GATE_W / 2, GATE_Y), (mx - NODE_R, GATE_Y), colour=gate["r"])
            self._arrow((mx + NODE_R, GATE_Y), (nx - GATE_W / 2, GATE_Y), colour=theme.BLACK)
            self._text("hn", "W<sub>hn</sub>h", (mx + 0.08, 2.25), (0, 0.5), colour=GREY)
            feeds += [rx]
            self._arrow((mx, BOTTOM), (mx, GATE_Y - NODE_R), colour=GREY)
            self._dot((mx, BOTTOM))
        for x in feeds:
            self._arrow((x, BOTTOM), (x, GATE_Y - GATE_H / 2), colour=GREY)
            if x != nx:
                self._dot((x, BOTTOM))
        self._arrow((zx, GATE_Y + GATE_H / 2), (zx, TOP - NODE_R), colour=gate["z"])
        self._dot((zx, sy))
        self._arrow((zx, sy), (oz - 0.65, sy), colour=gate["z"])
        self._arrow((oz + 0.65, sy), (nx - NODE_R, sy), colour=gate["z"])
        self._arrow((nx, GATE_Y + GATE_H / 2), (nx, sy - NODE_R), colour=gate["n"])
        self._flow("written", "written", [(nx, sy + NODE_R), (nx, TOP - NODE_R)], carry)
        self._arrow((jx, TOP), (jx, 8.85), colour=theme.BLACK, z=2)
        self._dot((jx, TOP))
        self._ends(
            ("h_prev", "h<sub>{p}</sub> = {h_prev}", (0.2, TOP + 0.3), (0, 1)),
            ("h", "h<sub>t</sub> = {h}", (16.0, TOP + 0.3), (1, 1)),
            ("h_up", "h<sub>t</sub>", (jx + 0.15, 8.75), (0, 0.5)),
            ("x", "x<sub>t</sub> = {x}", (2.8, -0.02), (0.5, 0)),
        )
        self._equation(
            "h<sub>t</sub> = (1 − z<sub>t</sub>) n<sub>t</sub> + z<sub>t</sub> h<sub>{p}</sub>"
            " = {1-z}·{n!p} + {z}·{h_prev!p} = <b>{h}</b>"
        )
        self._text(
            "convention",
            "<i>torch's z keeps the old state: the lecture's z is 1 − z</i>",
            (0.0, Y_RANGE[1] - 0.42),
            (0, 0),
            colour=GREY,
        )

    def _build_rnn(self) -> None:
        cx, jx = 9.6, 12.6
        self._arrow((0.2, BOTTOM), (cx, BOTTOM), colour=GREY, head=False)
        self._arrow((2.8, 0.0), (2.8, BOTTOM), colour=GREY, head=False)
        self._dot((2.8, BOTTOM))
        self._arrow((cx, BOTTOM), (cx, GATE_Y - GATE_H / 2), colour=GREY)
        nonlinearity = "ReLU" if self.trace.meta.get("nonlinearity") == "relu" else "tanh"
        self._box(
            "a",
            (cx, GATE_Y),
            "W<sub>hh</sub>h + W<sub>xh</sub>x + b",
            "a",
            None,
            size=(3.6, GATE_H),
        )
        self._box("h", (cx, 5.2), nonlinearity, "h", "signed", size=(2.2, GATE_H))
        self._arrow((cx, GATE_Y + GATE_H / 2), (cx, 5.2 - GATE_H / 2), colour=theme.BLACK)
        self._arrow((cx, 5.2 + GATE_H / 2), (cx, TOP), (16.0, TOP), colour=theme.BLACK)
        self._arrow((jx, TOP), (jx, 8.85), colour=theme.BLACK, z=2)
        self._dot((jx, TOP))
        self._text(
            "no_gates",
            "<b>No gates.</b> Every step rewrites h<br>through W<sub>hh</sub>: nothing "
            "decides<br>what to keep or forget.",
            (2.0, 5.6),
            (0, 0.5),
        )
        self._ends(
            ("h_prev", "h<sub>{p}</sub> = {h_prev}", (0.2, BOTTOM - 0.12), (0, 0)),
            ("h", "h<sub>t</sub> = {h}", (16.0, TOP + 0.3), (1, 1)),
            ("h_up", "h<sub>t</sub>", (jx + 0.15, 8.75), (0, 0.5)),
            ("x", "x<sub>t</sub> = {x}", (2.8, -0.02), (0.5, 0)),
        )
        f = "max(0, a<sub>t</sub>)" if nonlinearity == "ReLU" else "tanh(a<sub>t</sub>)"
        self._equation(
            f"h<sub>t</sub> = {f}, a<sub>t</sub> = W<sub>hh</sub> h<sub>{{p}}</sub> + "
            "W<sub>xh</sub> x<sub>t</sub> + b = {a}   →   h<sub>t</sub> = <b>{h}</b>"
            + GAP
            + "The Elman RNN has no gates."
        )

    def _inputs(self, last_x: float) -> None:
        """LSTM: h_{t-1} along the bottom, joined by x_t, branching up into each gate box."""
        self._arrow((0.2, BOTTOM), (last_x, BOTTOM), colour=GREY, head=False)
        self._arrow((2.8, 0.0), (2.8, BOTTOM), colour=GREY, head=False)
        self._dot((2.8, BOTTOM))
        for x in (4.0, 5.9, 7.7, last_x):
            self._arrow((x, BOTTOM), (x, GATE_Y - GATE_H / 2), colour=GREY)
            if x != last_x:
                self._dot((x, BOTTOM))
        self._ends(
            ("h_prev", "h<sub>{p}</sub> = {h_prev}", (0.2, BOTTOM - 0.12), (0, 0)),
            ("x", "x<sub>t</sub> = {x}", (2.8, -0.02), (0.5, 0)),
        )

    def _outputs(self, start: tuple[float, float], jx: float) -> None:
        """LSTM: h_t leaves right along the bottom and up out of the top."""
        y = start[1]
        self._arrow(start, (jx, y), (jx, BOTTOM), (16.0, BOTTOM), colour=theme.BLACK, z=2)
        self._arrow((jx, y), (jx, 8.85), colour=theme.BLACK, z=2)
        self._dot((jx, y))
        self._ends(
            ("h", "h<sub>t</sub> = {h}", (16.0, BOTTOM + 0.12), (1, 1)),
            ("h_up", "h<sub>t</sub>", (jx + 0.15, 8.75), (0, 0.5)),
        )

    # -- item helpers (view coordinates)

    def _arrow(
        self,
        *points,
        colour: str = GREY,
        width: float = LINE,
        head: bool = True,
        dashed: bool = False,
        z: float = 1,
    ) -> Arrow:
        return Arrow(self.view, points, colour, width, head, dashed, z)

    def _flow(self, key: str, value: str, points, colour: str) -> None:
        """A path whose width and opacity follow `value` (0..1)."""
        self.flows[key] = (Arrow(self.view, points, colour, FLOW_MIN, z=3), value)
        (x0, y0), (x1, y1) = points[0], points[-1]
        r = QRectF(QPointF(min(x0, x1), min(y0, y1)), QPointF(max(x0, x1), max(y0, y1)))
        self.hotspots.append((r.adjusted(-0.15, -0.15, 0.15, 0.15), key))

    def _dot(self, at: tuple[float, float]) -> None:
        dot = QGraphicsEllipseItem(QRectF(at[0] - 0.08, at[1] - 0.08, 0.16, 0.16))
        dot.setBrush(QBrush(QColor(GREY)))
        dot.setPen(QPen(Qt.PenStyle.NoPen))
        dot.setZValue(1.5)
        self.view.addItem(dot)

    def _node(self, key: str, at, symbol: str, caption: str, caption_at, anchor) -> None:
        """A pointwise operation: a white circle with × or +, and a caption naming the step."""
        x, y = at
        circle = QGraphicsEllipseItem(QRectF(x - NODE_R, y - NODE_R, 2 * NODE_R, 2 * NODE_R))
        circle.setBrush(QBrush(QColor("white")))
        circle.setPen(QPen(QColor(theme.BLACK), LINE))
        circle.setZValue(4)
        self.view.addItem(circle)
        self._label(
            (x, y), (0.5, 0.5), theme.BLACK, 5, size=(theme.FONT_PT + 3) / theme.FONT_PT, bold=True
        ).setPlainText(symbol)
        if caption:
            self._text(f"{key} caption", f"<i>{caption}</i>", caption_at, anchor, colour=GREY)
        self.hotspots.append((QRectF(x - NODE_R, y - NODE_R, 2 * NODE_R, 2 * NODE_R), key))

    def _box(
        self,
        key: str,
        at,
        function: str,
        name: str,
        scale: str | None,
        size: tuple[float, float] = (GATE_W, GATE_H),
        oval: bool = False,
    ) -> None:
        """A gate or function box: the function on top, 'name = value' below."""
        (x, y), (w, h) = at, size
        rect = QRectF(x - w / 2, y - h / 2, w, h)
        shape = QGraphicsPathItem()
        path = QPainterPath()
        path.addEllipse(rect) if oval else path.addRoundedRect(rect, 0.12, 0.12)
        shape.setPath(path)
        edge = theme.GATE_COLOURS.get(key, theme.BLACK)
        shape.setPen(QPen(QColor(edge), 0.07))
        shape.setZValue(4)
        self.view.addItem(shape)
        items = [self._label((x, y + dy), (0.5, 0.5), theme.BLACK, 5) for dy in (0.22, -0.22)]
        items[0].setHtml(function)
        label = f"<b>{name}</b>" if name else ""
        self.boxes[key] = Box(key, shape, items[0], items[1], scale, label)
        self.hotspots.append((rect, key))

    def _text(self, key: str, template: str, at, anchor, colour: str = theme.BLACK) -> None:
        item = self._label(at, anchor, colour, 6)
        self.texts[key] = (item, f'<span style="color:{colour}">{template}</span>')

    def _label(
        self, at, anchor, colour: str, z: float, size: float = 1.0, bold: bool = False
    ) -> pg.TextItem:
        """A text item whose font is `size` × theme.FONT_PT, shrunk with a small panel."""
        item = pg.TextItem(anchor=anchor, color=colour)
        item.textItem.document().setDocumentMargin(1)  # labels fit their boxes closely
        item.setPos(*at)
        item.setZValue(z)
        self.view.addItem(item)
        self._labels.append((item, size, bold))
        return item

    def _fit_text(self) -> None:
        """Shrink the text with the drawing when the panel is smaller than the size the layout
        was made for, so that labels keep to their boxes (never larger than theme.FONT_PT)."""
        px = self.view.viewPixelSize()[0]  # view units per pixel
        fit = min(1.0, 1.0 / (px * UNIT_PX)) if px > 0 else 1.0
        for item, size, bold in self._labels:
            font = QFont()
            font.setPointSizeF(max(5.0, theme.FONT_PT * size * fit))
            font.setBold(bold)
            item.setFont(font)

    def _ends(self, *specs) -> None:
        """Values written at the ends of the lines: (key, template, position, anchor)."""
        for key, template, at, anchor in specs:
            self._text(key, template, at, anchor)
            x, y = at  # roughly where the label lies, for hovering
            w, h = 2.2, 0.45
            x0 = x - anchor[0] * w
            y0 = y - (1 - anchor[1]) * h if anchor[1] else y - h
            self.hotspots.append((QRectF(x0, y0, w, h), key))

    def _equation(self, template: str) -> None:
        self._text("equation", template, (8.0, -0.8), (0.5, 0.5))

    def _legend(self) -> None:
        """The two colour scales, bottom right: sigmoid gates 0..1, tanh values -1..1."""
        for row, (name, lo, hi, cmap) in enumerate(
            (("σ", "0", "1", theme.SEQUENTIAL), ("tanh", "−1", "1", theme.DIVERGING))
        ):
            y = 0.28 - 0.42 * row
            rect = QRectF(14.35, y - 0.12, 1.3, 0.24)
            gradient = QLinearGradient(rect.left(), 0, rect.right(), 0)
            lut = _lut(cmap)
            for s in np.linspace(0, 1, 9):
                gradient.setColorAt(s, lut[int(s * 255)])
            bar = QGraphicsPathItem()
            path = QPainterPath()
            path.addRect(rect)
            bar.setPath(path)
            bar.setBrush(QBrush(gradient))
            bar.setPen(QPen(Qt.PenStyle.NoPen))
            self.view.addItem(bar)
            self._text(f"legend {name}", f"{name} {lo}", (14.3, y), (1, 0.5), colour=GREY)
            self._text(f"legend {name} hi", hi, (15.7, y), (0, 0.5), colour=GREY)

    # -- hover

    def describe(self, key: str) -> str:
        """Exact value and equation of one element of the diagram, for the hover line."""
        vals, lt = self.values, self.layer
        v = {k: f"{x:.6g}" for k, x in vals.v.items()}
        p = "t+1" if lt.reverse else "t−1"
        spec = CELLS[self.cell]
        peep = spec.peephole
        pc = f" + w_c{{g}} ⊙ c_{p}" if peep else ""
        lines = {
            "f": f"forget gate f_t = σ(W_if x_t + b_if + W_hf h_{p} + b_hf"
            f"{pc.format(g='f')}) = {v.get('f')}: the fraction of c_{p} kept",
            "i": f"input gate i_t = σ(W_ii x_t + b_ii + W_hi h_{p} + b_hi"
            f"{pc.format(g='i')}) = {v.get('i')}: how much of g_t is stored",
            "g": f"candidate g_t = tanh(W_ig x_t + b_ig + W_hg h_{p} + b_hg) = {v.get('g')}:"
            " the value offered to the cell",
            "o": f"output gate o_t = σ(W_io x_t + b_io + W_ho h_{p} + b_ho"
            f"{' + w_co ⊙ c_t' if peep else ''}) = {v.get('o')}: how much of tanh(c_t) is shown",
            "tanh_c": f"tanh(c_t) = tanh({v.get('c')}) = {v.get('tanh_c')}",
            "forget": f"f_t ⊙ c_{p} = {v.get('f')} × {v.get('c_prev')} = {v.get('keep')}:"
            " what the belt keeps",
            "store": f"i_t ⊙ g_t = {v.get('i')} × {v.get('g')} = {v.get('store')}: what is stored",
            "update": f"c_t = f_t ⊙ c_{p} + i_t ⊙ g_t = {v.get('keep')} + {v.get('store')}"
            f" = {v.get('c')}",
            "output": f"h_t = o_t ⊙ tanh(c_t) = {v.get('o')} × {v.get('tanh_c')} = {v.get('h')}",
            "belt": f"cell state path: a fraction f_t = {v.get('f')} of c_{p} = "
            f"{v.get('c_prev')} passes (width ∝ f_t)",
            "stored": f"stored path: i_t·|g_t| = {v.get('stored')} (width ∝ i_t·|g_t|)",
            "c_prev": f"c_{p} = {v.get('c_prev')}"
            + (" (the initial state)" if self._initial() else ""),
            "c": f"c_t = {v.get('c')}",
            "h_prev": f"h_{p} = {v.get('h_prev')}"
            + (" (the initial state)" if self._initial() else ""),
            "h": f"h_t = {v.get('h')}",
            "h_up": f"h_t = {v.get('h')}, to the output layer or the layer above",
            "x": f"x_t = {self._input_text().replace('<sub>', '_').replace('</sub>', '')}",
            "r": f"reset gate r_t = σ(W_ir x_t + b_ir + W_hr h_{p} + b_hr) = {v.get('r')}:"
            " how much of the past the candidate sees",
            "z": f"update gate z_t = σ(W_iz x_t + b_iz + W_hz h_{p} + b_hz) = {v.get('z')}:"
            " the fraction of h kept (torch's z; the lecture's z is 1 − z)",
            "n": "candidate n_t = tanh(W_in x_t + b_in + "
            + (f"r_t ⊙ (W_hn h_{p} + b_hn)" if "r" in spec.gate_names else f"W_hn h_{p} + b_hn")
            + f") = {v.get('n')}",
            "1-z": f"1 − z_t = {v.get('1-z')}: the fraction of n_t written",
            "reset": f"r_t ⊙ (W_hn h_{p} + b_hn): the reset gate r_t = {v.get('r')} scales "
            "what the past adds to the candidate",
            "keep": f"z_t ⊙ h_{p} = {v.get('z')} × {v.get('h_prev')} = {v.get('keep')}:"
            " what is kept",
            "write": f"(1 − z_t) ⊙ n_t = {v.get('1-z')} × {v.get('n')} = {v.get('store')}:"
            " what is written",
            "mix": f"h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{p} = {v.get('store')} + {v.get('keep')}"
            f" = {v.get('h')}",
            "carry": f"carry path: a fraction z_t = {v.get('z')} of h_{p} = {v.get('h_prev')}"
            " passes (width ∝ z_t)",
            "written": f"written path: (1 − z_t)·|n_t| = {v.get('written')} (width ∝ it)",
            "a": f"pre-activation a_t = W_ih x_t + b_ih + W_hh h_{p} + b_hh = {v.get('a')}",
        }
        if not spec.gates:  # the Elman RNN
            f = "ReLU" if self.trace.meta.get("nonlinearity") == "relu" else "tanh"
            lines["h"] = f"h_t = {f}(a_t) = {f}({v.get('a')}) = {v.get('h')}"
        where = f"unit {vals.unit}, t = {vals.t}: "
        return where + lines[key]

    def _initial(self) -> bool:
        return not 0 <= self.values.prev < self.layer.h.shape[1]

    def _hover(self, pos) -> None:
        if self.values is None:
            return
        p = self.view.mapSceneToView(pos)
        for rect, key in reversed(self.hotspots):  # the last drawn lies on top
            if rect.contains(p):
                self.hover_label.setText(self.describe(key))
                return

    # -- for the flows' and values' colour and width, exposed to tests

    def flow(self, key: str) -> Arrow:
        return self.flows[key][0]


_LUTS: dict[str, list[QColor]] = {}


def _lut(name: str) -> list[QColor]:
    """256 QColors of a theme colour map, cached."""
    if name not in _LUTS:
        table = theme.cmap(name).getLookupTable(0.0, 1.0, 256, alpha=False)
        _LUTS[name] = [QColor(*(int(c) for c in rgb)) for rgb in table]
    return _LUTS[name]
