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
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from rnnviz.core.tasks.symbols import PAD
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel, set_choices
from rnnviz.qt.panels.seq2seq.drawing import shown
from rnnviz.qt.panels.seq2seq.tables import attention_table
from rnnviz.qt.plotkit import plain_axes, wrap_title
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
        self.sequence = QComboBox()
        self.sequence.setToolTip("The probe sequence whose attention is shown")
        label = QLabel("Sequence:")
        label.setBuddy(self.sequence)
        self.controls_row.addWidget(label)
        self.controls_row.addWidget(self.sequence)
        self.controls_row.addStretch(1)
        self.sequence.currentIndexChanged.connect(self._draw)
        self.note = QLabel(NOT_SEQ2SEQ)  # part of the figure: why there is nothing to show
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        self.readout = QLabel(" ")  # part of the figure: what the outlined row reads most
        self.readout.setTextFormat(Qt.TextFormat.PlainText)  # "<eos>" is a token, not a tag
        font = QFont()
        font.setPointSize(theme.FONT_PT)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        plot = self.plot = wrap_title(self.view.addPlot())
        plot.invertY(True)  # decoder step 0 at the top, as the output is read
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plain_axes(plot)
        plot.setLabel("bottom", "input token j")
        plot.setLabel("left", "decoder step t: target token")
        for side in ("left", "bottom"):
            plot.getAxis(side).setStyle(tickFont=font)
        self.image = pg.ImageItem(axisOrder="row-major")  # rows t, columns j
        plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1),  # fixed: a weight's colour means the same at every step
            colorMap=theme.cmap(theme.SEQUENTIAL),
            label="α<sub>t,j</sub>",
            interactive=False,
            width=16,
        )
        self.colorbar.setImageItem(self.image, insert_in=plot)
        self.colorbar.axis.setStyle(tickFont=font)
        self.row_box = pg.PlotDataItem(pen=theme.pen(theme.CURSOR, 3))
        plot.addItem(self.row_box, ignoreBounds=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.readout)
        self.trace = None
        self.weights = np.zeros((0, 0))  # (rows, columns) shown
        self.inputs: list[str] = []  # the column labels
        self.outputs: list[str] = []  # the row labels

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
            self.weights, self.inputs, self.outputs = np.zeros((0, 0)), [], []
            self.image.clear()
            self.plot.setTitle(" ")
            self.show_time(self.cursor.t)
            return
        self.note.setVisible(False)
        b = max(self.sequence.currentIndex(), 0)
        columns = np.flatnonzero(trace.tokens_in[b] != PAD)  # the input, without padding
        rows = int(trace.loss_mask[b].sum())  # the output up to and including <eos>
        self.weights = np.asarray(attn[b, :rows][:, columns], dtype=np.float64)  # (rows, cols)
        self.inputs = [str(s) for s in trace.tokens_in[b][columns]]
        self.outputs = [str(s) for s in trace.tokens_out[b][:rows]]
        n = len(columns)
        self.image.setImage(self.weights, levels=(0, 1))
        self.image.setRect(QRectF(-0.5, -0.5, n, rows))  # cell (t, j) centred on (j, t)
        self.plot.getAxis("bottom").setTicks([list(enumerate(map(shown, self.inputs)))])
        self.plot.getAxis("left").setTicks([list(enumerate(map(shown, self.outputs)))])
        self.plot.setRange(xRange=(-0.5, n - 0.5), yRange=(-0.5, rows - 0.5), padding=0)
        step = trace.meta.get("step")
        at = "" if step is None else f", step {step}"
        self.plot.setTitle(
            f"Attention α<sub>t,j</sub> of sequence {b}{at}: "
            f"{''.join(self.inputs)} → {''.join(self.outputs[:-1])}"
        )
        self.show_time(self.cursor.t)

    def show_time(self, t: int) -> None:
        rows, n = self.weights.shape
        if not rows:
            self.row_box.setData([], [])
            self.readout.setText(" ")
            return
        row = min(t, rows - 1)  # the cursor may run over the longer input
        x0, x1, y0, y1 = -0.5, n - 0.5, row - 0.5, row + 0.5
        self.row_box.setData([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])
        j = int(self.weights[row].argmax())
        self.readout.setText(
            f"Decoder step {row} (target '{self.outputs[row]}') reads most from input "
            f"token {j} '{self.inputs[j]}': α = {self.weights[row, j]:.2f}"
        )

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        if not self.weights.size:
            return {}
        b = max(self.sequence.currentIndex(), 0)
        return {f"sequence {b}": attention_table(self.weights, self.inputs, self.outputs)}
