"""Decoding step by step: how an encoder-decoder writes its output without the targets.

Left, the five most likely next tokens at the decoder step under the time cursor, p =
softmax(ŷ_t) after the tokens the decoding chose before; right, the beam search tree of the
probe sequence (Config.beam wide; width 1 is greedy decoding, the tree then shows each
step's choice and its runner-up): every hypothesis with its token and log p, the kept beams
orange, the dropped candidates grey, the best finished hypothesis thick blue. The data come
from the training process (core/seq2seq/steps.py, snapshot.extras["decoding"]).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rnnviz.core.seq2seq.decoded import Decoded
from rnnviz.qt.panels.base import Panel, set_choices
from rnnviz.qt.panels.seq2seq.drawing import (
    BeamTree,
    TopKBars,
    add_sequence_picker,
    redraw_on_font_change,
    shown,
)
from rnnviz.qt.panels.seq2seq.tables import decoded_tables
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

NOT_SEQ2SEQ = (
    "Decoding belongs to the encoder-decoder: train the dates, reverse or sort task to see "
    "it write its output step by step."
)
WAITING = "Waiting for the training process to decode the probe sequences…"


def written(tokens) -> str:
    """An output as text: its tokens up to <eos>."""
    return "".join(t for t in tokens if t != "<eos>")


class DecodingPanel(Panel):
    title = "Decoding step by step"
    key = "decoding"
    draws = ("trace", "extras")
    info = (
        "How the decoder writes its output without the targets. Left: at the decoder step t "
        "under the time cursor, the five most likely next tokens, p = softmax(ŷ_t) given the "
        "input and the tokens chosen before; the chosen one is blue. Right: the beam search "
        "tree (the Beam setting; width 1 is greedy decoding). Each node is a hypothesis "
        "y_1 … y_t with its log p = Σ log p(y_s | y_<s, x); at every step the K best "
        "extensions survive (orange), the next best are dropped (grey), and the best "
        "finished hypothesis is the thick blue path. A hypothesis that has written <eos> is "
        "finished and carries over unchanged."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.sequence = add_sequence_picker(
            self, "The probe sequence whose decoding is shown", self._draw
        )
        self.note = QLabel(WAITING)  # part of the figure: why there is nothing to show
        self.note.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.topk = TopKBars(self.view.addPlot(row=0, col=0))
        self.tree = BeamTree(self.view.addPlot(row=0, col=1))
        self.view.ci.layout.setColumnStretchFactor(0, 1)
        self.view.ci.layout.setColumnStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        self.decodings: tuple[Decoded, ...] = ()
        self.targets: list[str] = []  # each probe sequence's target output
        self.step: int | None = None  # the training step of the weights that decoded

    @property
    def decoded(self) -> Decoded | None:
        b = self.sequence.currentIndex()
        return self.decodings[b] if 0 <= b < len(self.decodings) else None

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        self.decodings = tuple(snapshot.extras.get("decoding", ()))
        self.step = snapshot.extras.get("decoding_step")
        tokens_out = getattr(trace, "tokens_out", None)
        self.targets = [] if tokens_out is None else [written(row) for row in tokens_out]
        set_choices(self.sequence, [str(b) for b in range(len(self.decodings))])
        seq2seq = trace.meta.get("model") == "seq2seq"
        self.note.setText(WAITING if seq2seq else NOT_SEQ2SEQ)
        self._draw()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        redraw_on_font_change(event, self._draw)  # the tree's tokens and discs at the new size

    def _draw(self) -> None:
        d = self.decoded
        self.note.setVisible(d is None)
        if d is None:  # empty axes under the note that says why
            self.tree.clear()
            self.topk.clear()
            self.topk.plot.setTitle(None)
            return
        self.tree.show(d)
        b = self.sequence.currentIndex()
        out = written(d.tokens)
        verdict = ""
        if b < len(self.targets):
            right = out == self.targets[b]
            verdict = " ✓ right" if right else f" ✗ (target '{self.targets[b]}')"
        kind = "greedy decoding" if d.width == 1 else f"beam search, width K = {d.width}"
        at = "" if self.step is None else f", weights of step {self.step}"
        self.tree.plot.setTitle(
            f"Sequence {b}: '{''.join(d.inputs)}' → <b>'{out}'</b>{verdict}<br>"
            f"{kind}{at}; in each node its token, below it log p"
        )
        self.show_time(self.cursor.t)

    def show_time(self, t: int) -> None:
        d = self.decoded
        if d is None:
            return
        s = d.at(t)
        self.tree.mark(s)
        self.topk.show(d.topk[s], d.tokens[s])
        before = shown(written(d.tokens[:s]))
        self.topk.plot.setTitle(f"Step t = {s}: next token after '{before}'")

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        d = self.decoded
        return {} if d is None else decoded_tables(d)
