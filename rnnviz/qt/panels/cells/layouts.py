"""The cell diagram's layouts, one per kind of cell: the LSTM's conveyor belt (with dashed
peepholes for the peephole LSTM), the GRU's carry path (without the reset gate for the
simplified GRU) and the gateless Elman RNN. The registry entry of a cell chooses its layout.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from rnnviz.core.cells import CELLS
from rnnviz.qt import theme
from rnnviz.qt.panels.cells.drawing import (
    BOTTOM,
    CELL_EDGE,
    CELL_FILL,
    FLOW_MAX,
    GAP,
    GATE_H,
    GATE_W,
    GATE_Y,
    GREY,
    LINE,
    NODE_R,
    TOP,
    X_RANGE,
    Y_RANGE,
    Canvas,
)


class CellLayouts(Canvas):
    """`_build(cell)` draws `cell`'s diagram on the panel's view."""

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
