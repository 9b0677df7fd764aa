"""Attention: which input tokens each output step reads (Bahdanau, Cho & Bengio 2015, fig. 3).

The weights α_{t,j} of one probe sequence of an encoder-decoder as a heatmap: a row per
decoder step t, labelled with its target token, a column per input token j; padding and the
steps after <eos> are left out, and every row sums to 1 (rnnviz/core/seq2seq/attention.py).
The row of the decoder step under the time cursor is outlined, and the line below says which
input token it reads most. On `reverse` a trained model's weight sits on the mirrored input
position, an anti-diagonal; on `dates` the year's digits look at the year.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rnnviz.core.tasks.symbols import PAD
from rnnviz.qt.panels.base import Panel, set_choices
from rnnviz.qt.panels.seq2seq.drawing import (
    AttentionHeatmap,
    add_sequence_picker,
    redraw_on_font_change,
)
from rnnviz.qt.panels.seq2seq.tables import attention_table
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

NOT_SEQ2SEQ = (
    "Attention belongs to the encoder-decoder: train the dates, reverse or sort task "
    "with additive or dot attention."
)
NO_ATTENTION = (
    "This model has no attention (--attention none): its decoder reads the input only "
    "through the encoder's final state, the bottleneck."
)


class AttentionPanel(Panel):
    title = "Attention"
    key = "attention"
    info = (
        "The attention weights of one probe sequence: row t is decoder step t (the target "
        "token it is trained to write), column j input token j, and the colour α_t,j = "
        "softmax_j(score(s_t, h_j)), the share of the context vector c_t = Σ_j α_t,j h_j that "
        "encoder state h_j makes up; every row sums to 1. Additive (Bahdanau) attention scores "
        "v·tanh(W_s s_t + W_h h_j), dot (Luong) attention s_t·h_j. The outlined row is the "
        "decoder step under the time cursor. Padding and the steps after <eos> are left out."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.sequence = add_sequence_picker(
            self, "The probe sequence whose attention is shown", self._draw
        )
        self.note = QLabel(NOT_SEQ2SEQ)  # part of the figure: why there is nothing to show
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        self.readout = QLabel(" ")  # part of the figure: what the outlined row reads most
        self.readout.setTextFormat(Qt.TextFormat.PlainText)  # "<eos>" is a token, not a tag
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.heat = AttentionHeatmap(self.view)
        self.heat.plot.setLabel("bottom", "input token j")
        self.heat.plot.setLabel("left", "decoder step t: target token")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.readout)
        self.trace = None
        self.inputs: list[str] = []  # the column labels
        self.outputs: list[str] = []  # the row labels

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        redraw_on_font_change(event, self._draw)  # the tokens, and the rows' room, at the new size

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        if snapshot.trace is None:
            return
        self.trace = snapshot.trace
        set_choices(self.sequence, [str(b) for b in range(self.trace.loss_mask.shape[0])])
        self._draw()

    def _draw(self) -> None:
        trace = self.trace
        if trace is None:
            return
        attn = getattr(trace, "attn", None)
        if attn is None:
            seq2seq = trace.meta.get("model") == "seq2seq"
            self.note.setText(NO_ATTENTION if seq2seq else NOT_SEQ2SEQ)
            self.note.setVisible(True)
            self.inputs, self.outputs = [], []
            self.heat.clear()
            self.heat.plot.setTitle(" ")
            self.show_time(self.cursor.t)
            return
        self.note.setVisible(False)
        b = max(self.sequence.currentIndex(), 0)
        columns = np.flatnonzero(trace.tokens_in[b] != PAD)  # the input, without padding
        rows = int(trace.loss_mask[b].sum())  # the output up to and including <eos>
        self.inputs = [str(s) for s in trace.tokens_in[b][columns]]
        self.outputs = [str(s) for s in trace.tokens_out[b][:rows]]
        self.heat.show(attn[b, :rows][:, columns], self.inputs, self.outputs)  # (rows, cols)
        step = trace.meta.get("step")
        at = "" if step is None else f", step {step}"
        self.heat.plot.setTitle(
            f"Attention α<sub>t,j</sub> of sequence {b}{at}: "
            f"{''.join(self.inputs)} → {''.join(self.outputs[:-1])}"
        )
        self.show_time(self.cursor.t)

    def show_time(self, t: int) -> None:
        weights = self.heat.weights
        if not weights.size:
            self.heat.mark(None)
            self.readout.setText(" ")
            return
        row = min(t, len(weights) - 1)  # the cursor may run over the longer input
        self.heat.mark(row)
        j = int(weights[row].argmax())
        self.readout.setText(
            f"Decoder step {row} (target '{self.outputs[row]}') reads most from input "
            f"token {j} '{self.inputs[j]}': α = {weights[row, j]:.2f}"
        )

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        if not self.heat.weights.size:
            return {}
        b = max(self.sequence.currentIndex(), 0)
        return {f"sequence {b}": attention_table(self.heat.weights, self.inputs, self.outputs)}
