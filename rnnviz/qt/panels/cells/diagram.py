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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
)

from rnnviz.core.cells import CELLS
from rnnviz.core.trace import LayerTrace, Trace
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.cells.drawing import (
    HINT,
    TEMPLATE,
    X_RANGE,
    Y_RANGE,
    Arrow,
    Box,
    flow_width,
    fmt,
    text_colour,
)
from rnnviz.qt.panels.cells.layouts import CellLayouts

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot


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


def value_names(lt: LayerTrace) -> dict[str, str]:
    """What each of `cell_values`' keys is, in the lecture's symbols (t−1: the step the state
    comes from, t+1 in a reverse direction); the keys in the order a table lists them."""
    p = "t+1" if lt.reverse else "t−1"
    gates = {g: f"{g}_t" for g in lt.gates}
    if lt.c is not None:  # the LSTMs
        states = {"c_prev": f"c_{p}", "c": "c_t", "tanh_c": "tanh(c_t)", "h_prev": f"h_{p}"}
        paths = {"keep": f"f_t ⊙ c_{p}", "store": "i_t ⊙ g_t", "stored": "i_t·|g_t|"}
    else:  # the GRUs and the Elman RNN
        states = {"h_prev": f"h_{p}", "1-z": "1 − z_t"}
        paths = {"keep": f"z_t ⊙ h_{p}", "store": "(1 − z_t) ⊙ n_t", "written": "(1 − z_t)·|n_t|"}
    return {**gates, **states, **paths, "h": "h_t", "a": "a_t"}


def most_active_unit(lt: LayerTrace) -> int:
    """The unit with the largest mean |h_t| over sequence 0."""
    with np.errstate(all="ignore"):
        activity = np.nan_to_num(np.abs(lt.h[0]), posinf=0.0).mean(axis=0)  # (H,)
    return int(np.argmax(activity))


class CellDiagramPanel(CellLayouts, Panel):
    title = "Cell diagram"
    key = "cell_diagram"
    needs_layers = True
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
        self.hover_label.setWordWrap(True)
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

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """The numbers the diagram shows at the cursor: one row, its t, then each gate and
        state of the unit drawn (sequence 0), named with the unit and the layer."""
        vals, lt = self.values, self.layer
        if vals is None or lt is None:
            return {}
        where = f"unit {vals.unit}, {lt.name}"
        table = {"t": np.array([vals.t])}
        for key, name in value_names(lt).items():
            if key in vals.v:
                table[f"{name} ({where})"] = np.array([vals[key]])
        return {"time": table}

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
