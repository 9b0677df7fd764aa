"""What if: type an input, see at once how the encoder-decoder decodes it with the weights it
has now: the output, the attention of every decoder step over the typed characters, and the
top-5 next tokens at the step under the time cursor.

Beyond Seq2Seq-Vis (Strobelt et al. 2018): click a cell (t, j) to put all of step t's
attention on input character j (Shift+click shares it with more characters), or drag a bar
of the step's weights under the heatmap up or down (the others keep their proportions and
share the rest), and the decoder writes on from there when the drag ends; the steps before
t stay as they were (core/seq2seq/steps.py). The
question goes to the training process as a WhatIf command (the window sends what
`command_requested` carries); the answer comes back in snapshot.extras["whatif"]. A new run
has not heard the question: the panel asks again while the snapshots carry no answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from rnnviz.core.seq2seq.whatif import WhatIf, WhatIfAnswer, reweighted
from rnnviz.core.tasks.symbols import PAD
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.seq2seq.decoding import NOT_SEQ2SEQ, written
from rnnviz.qt.panels.seq2seq.drawing import (
    AttentionHeatmap,
    TopKBars,
    outline,
    redraw_on_font_change,
    shown,
    token_font,
)
from rnnviz.qt.panels.seq2seq.tables import attention_table, decoded_tables
from rnnviz.qt.plotkit import still_plot
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

DECODING = "Decoding…"
NO_ATTENTION = "no attention (--attention none): nothing to pin"
ANSWER_SCALE = 1.3  # the output line against the theme's font
AXIS_PX = 80  # the left axes of the heatmap and of the bars below: one width, columns align


class WhatIfPanel(Panel):
    title = "What if"
    key = "whatif"
    draws = ("trace", "extras")
    info = (
        "Type an input and press Enter: the model decodes it at once with its current weights "
        "(no retraining), with the Beam setting's width. The heatmap is the attention α_t,j "
        "of each output step t (rows) over the typed characters j (columns); the bars the "
        "top-5 next tokens at the step under the time cursor. Click a cell (t, j) to pin step "
        "t's attention on character j (Shift+click shares it with more), or drag a bar of the "
        "weights below it up or down (the others share the rest): the context vector "
        "becomes c_t = Σ_j α_t,j h_j with your weights, and the decoder writes on from there; "
        "the steps before t are unchanged. Clear pin goes back."
    )
    command_requested = Signal(object)  # a WhatIf for the training process

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.input = QLineEdit()
        self.input.setToolTip("An input for the model: a date in any format, a symbol string")
        self.input.setMinimumWidth(260)
        label = QLabel("Input:")
        label.setBuddy(self.input)
        self.decode_button = QPushButton("Decode")
        self.clear_button = QPushButton("Clear pin")
        self.clear_button.setToolTip("Let every step attend on its own again")
        for w in (label, self.input, self.decode_button, self.clear_button):
            self.controls_row.addWidget(w)
        self.controls_row.addStretch(1)
        self.input.returnPressed.connect(self.decode_typed)
        self.decode_button.clicked.connect(self.decode_typed)
        self.clear_button.clicked.connect(self.clear_pin)
        self.answer_label = QLabel(" ")  # part of the figure: the output, or why there is none
        self.answer_label.setTextFormat(Qt.TextFormat.PlainText)  # "<eos>" is a token
        self.answer_label.setWordWrap(True)
        self.answer_label.setFont(token_font(ANSWER_SCALE))
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.heat = AttentionHeatmap(self.view)
        plot = self.heat.plot
        plot.getAxis("left").setWidth(AXIS_PX)  # columns line up with the bars below
        plot.setLabel("bottom", "input character j (click a cell to pin)")
        plot.setLabel("left", "decoder step t: output token")
        self.pin_box = pg.PlotDataItem(pen=theme.pen(theme.ORANGE, 4, Qt.PenStyle.DashLine))
        plot.addItem(self.pin_box, ignoreBounds=True)
        box = RowDragBox(self._dragged)
        self.row_plot = still_plot(self.view.addPlot(row=1, col=0, viewBox=box))
        self.row_plot.setXLink(plot)
        self.row_plot.getAxis("left").setWidth(AXIS_PX)
        self.row_plot.setYRange(0, 1, padding=0.02)
        self.row_plot.setLabel("left", "α<sub>t,j</sub>")
        self.row_plot.getAxis("bottom").setStyle(tickFont=token_font(1.0))
        self.row_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.row_plot.addItem(self.row_bars)
        self.dragged_row: tuple[float, ...] | None = None  # while a bar is dragged
        self.topk = TopKBars(self.view.addPlot(row=0, col=2, rowspan=2))
        self.view.ci.layout.setColumnStretchFactor(0, 4)  # up to 30 characters across
        self.view.ci.layout.setColumnStretchFactor(2, 1)
        self.view.ci.layout.setRowStretchFactor(0, 3)
        self.view.ci.layout.setRowStretchFactor(1, 1)
        self.view.scene().sigMouseClicked.connect(self._clicked)
        hint = self.add_hint(
            "Click a cell to pin that step's attention (Shift+click adds to it), or drag a "
            "bar of its weights below."
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.answer_label)
        layout.addWidget(self.view, 1)
        layout.addWidget(hint)
        self.question: WhatIf | None = None  # the latest question asked
        self.answer: WhatIfAnswer | None = None  # its answer, once it came
        self.task: str | None = None

    # -- asking

    def ask(self, question: WhatIf) -> None:
        """Send `question` to the training process (through the window)."""
        self.question, self.answer = question, None
        self.command_requested.emit(question)
        self._draw()

    def decode_typed(self) -> None:
        self.ask(WhatIf(self.input.text()))

    def clear_pin(self) -> None:
        if self.question is not None and self.question.pin_step is not None:
            self.ask(WhatIf(self.question.text))

    def pin(self, t: int, j: int, add: bool = False) -> None:
        """Put step t's attention on input character j (`add`: share it with the characters
        already pinned at t) and decode again."""
        a = self.answer
        if a is None or a.decoded is None or a.decoded.attn is None:
            return
        q = self.question
        chars = {j}
        if add and q.pin_step == t:
            chars |= {i for i, w in enumerate(q.pin_row) if w > 0}
        row = tuple(1.0 / len(chars) if i in chars else 0.0 for i in range(len(a.read)))
        self.cursor.set(t)
        self.ask(WhatIf(a.read, t, row))

    def _clicked(self, event) -> None:
        vb = self.heat.plot.vb
        if event.button() != Qt.MouseButton.LeftButton or not self.heat.weights.size:
            return
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return  # a click on the bars below
        pos = vb.mapSceneToView(event.scenePos())
        t, j = round(pos.y()), round(pos.x())
        rows, n = self.heat.weights.shape
        if 0 <= t < rows and 0 <= j < n:
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.pin(t, j, add=shift)

    def _dragged(self, j: int, weight: float, finished: bool) -> None:
        """Bar j of the row under the time cursor dragged to `weight`: show the row, and pin
        it and decode again when the drag ends."""
        a, weights = self.answer, self.heat.weights
        if a is None or a.decoded is None or not 0 <= j < weights.shape[1]:
            return
        t = a.decoded.at(self.cursor.t)
        self.dragged_row = reweighted(weights[t], j, weight)
        shown_now = weights.copy()
        shown_now[t] = self.dragged_row
        self.heat.image.setImage(shown_now, levels=(0, 1))
        self._show_row(t)
        if finished:
            row, self.dragged_row = self.dragged_row, None
            self.ask(WhatIf(a.read, t, row))

    # -- drawing

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        redraw_on_font_change(event, self._restyle)

    def _restyle(self) -> None:
        """Presentation mode changed the theme's font: the output line and tokens follow."""
        self.answer_label.setFont(token_font(ANSWER_SCALE))  # its own font: set, not inherited
        self._draw()

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        if trace.meta.get("model") != "seq2seq":
            self.task, self.question, self.answer = None, None, None
            self._draw(NOT_SEQ2SEQ)
            return
        if trace.meta["task"] != self.task:  # a new task: its first probe input to begin with
            self.task = trace.meta["task"]
            self.input.setText("".join(s for s in trace.tokens_in[0] if s != PAD))
            self.decode_typed()
            return
        answer = snapshot.extras.get("whatif")
        if answer is None and self.question is not None:  # a new run: it has not heard it
            self.command_requested.emit(self.question)
        if answer is not None and answer.question == self.question:
            self.answer = answer
        self._draw()

    def _draw(self, note: str | None = None) -> None:
        a = self.answer
        d = None if a is None else a.decoded
        if note is None:
            note = DECODING if a is None else a.message
        if d is None:
            self.answer_label.setText(note)
            self.heat.clear()
            self.heat.plot.setTitle(None)
            self.topk.clear()
            self.show_time(self.cursor.t)
            return
        kind = "greedy" if d.width == 1 else f"beam width {d.width}"
        self.answer_label.setText(
            f"'{a.read}'  →  '{written(d.tokens)}'   ({kind}, weights of training step {a.step})"
        )
        if d.attn is None:
            self.heat.clear()
            self.heat.plot.setTitle(NO_ATTENTION)
        else:
            self.heat.show(d.attn, d.inputs, d.tokens)  # (steps, input characters)
            self.row_plot.getAxis("bottom").setTicks([list(enumerate(map(shown, d.inputs)))])
            pinned = "" if d.pinned is None else f"; step {d.pinned} pinned (dashed)"
            self.heat.plot.setTitle(f"Attention α<sub>t,j</sub> over the typed input{pinned}")
        outline(self.pin_box, d.pinned, self.heat.weights.shape[1])
        self.show_time(self.cursor.t)

    def show_time(self, t: int) -> None:
        d = None if self.answer is None else self.answer.decoded
        if d is None:
            self.heat.mark(None)
            self._show_row(None)
            return
        s = d.at(t)
        self.heat.mark(s)
        self._show_row(s if self.heat.weights.size else None)
        self.topk.show(d.topk[s], d.tokens[s])
        self.topk.plot.setTitle(f"Step t = {s}: next token after '{shown(written(d.tokens[:s]))}'")

    def _show_row(self, t: int | None) -> None:
        """The weights of step t as bars (the dragged row while a drag lasts), orange where
        they are pinned."""
        if t is None:
            self.row_bars.setOpts(x=[], height=[])
            self.row_plot.setTitle(None)
            return
        row = self.heat.weights[t] if self.dragged_row is None else np.array(self.dragged_row)
        d = self.answer.decoded
        pinned = self.dragged_row is not None or d.pinned == t
        colour = theme.ORANGE if pinned else theme.BLUE
        self.row_bars.setOpts(x=np.arange(len(row)), height=row, brush=colour)
        state = "pinned" if pinned else "drag a bar to pin it"
        self.row_plot.setTitle(f"Step t = {t}: its weights α<sub>t,j</sub> ({state})")

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        d = None if self.answer is None else self.answer.decoded
        if d is None:
            return {}
        tables = decoded_tables(d)
        if d.attn is not None:
            tables["attention"] = attention_table(self.heat.weights, d.inputs, d.tokens)
        return tables


class RowDragBox(pg.ViewBox):
    """A still view box that reports a left-button drag as (the column j where it began, the
    y under the mouse now, whether it ended) to `on_drag`."""

    def __init__(self, on_drag) -> None:
        super().__init__(enableMenu=False)
        self.on_drag = on_drag

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        start = self.mapSceneToView(ev.buttonDownScenePos())
        now = self.mapSceneToView(ev.scenePos())
        self.on_drag(round(start.x()), now.y(), ev.isFinish())
