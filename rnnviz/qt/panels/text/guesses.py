"""The model's five best guesses for the next symbol under every symbol of the probe sequence,
as in Karpathy, Johnson & Fei-Fei (2015), figure 5.

Top row: the input x_t (sequence 0); for a melody, the lookback the model reads with it
under it (core/lookback.py: "E4" after the same two notes, "(E4)" after the same note).
Under them, the five most likely next symbols p_t = softmax(ŷ_t), most likely first, each on
a ground from white (p = 0) to dark blue (p = 1); the guess that is the true next symbol y_t
is boxed. Steps where no loss counts are pale. For any task whose outputs are symbols with
names (meta["output_vocab"]): the character LM, the copy task, a vocabulary of notes
(rnnviz.core.guesses).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from rnnviz.core.guesses import TOP, Guesses, top_guesses
from rnnviz.core.lookback import lookback_ids, lookback_labels
from rnnviz.core.trace import Trace
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.text.char_units import fixed_font
from rnnviz.qt.panels.text.note_stack import NoteStack
from rnnviz.qt.panels.text.token_grid import TokenGrid, ramp, shade, swatches
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

NEEDS_SYMBOLS = (
    "This panel needs a task whose outputs are named symbols: the character language model, "
    "the copy task, …"
)
ORDINALS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th")


def symbol_task(trace: Trace) -> bool:
    """Whether the trace's outputs are named symbols (the guesses have names to show)."""
    return trace.meta.get("task_kind") == "classification" and bool(trace.meta.get("output_vocab"))


def input_labels(trace: Trace, b: int = 0, steps: int | None = None) -> list[str]:
    """The inputs of sequence b as labels: the vocabulary's, or the step numbers for real
    inputs and where the outputs have another length (`steps`: an encoder-decoder's)."""
    vocab = trace.meta.get("input_vocab")
    T = trace.x_raw.shape[1] if steps is None else steps
    if vocab and trace.x_raw.ndim == 2 and trace.x_raw.shape[1] == T:
        return [vocab[int(i)] for i in trace.x_raw[b]]
    return [str(t) for t in range(T)]


def lookback_row(trace: Trace, T: int) -> list[str]:
    """What the lookback input said at each of sequence 0's first T steps, where the model
    reads one (a melody: core/lookback.py), else []."""
    vocab = trace.meta.get("input_vocab")
    if trace.meta.get("encoder") != "lookback" or not vocab or trace.x_raw.ndim != 2:
        return []
    return lookback_labels(lookback_ids(trace.x_raw[:1], len(vocab))[0, :T], vocab)


def predicts_next(trace: Trace) -> bool:
    """Whether each target is the next input (a language model, melodies), not a label of the
    input at its own step (name tags, a copy): "the next symbol" says true only then."""
    if trace.meta.get("input_vocab") != trace.meta.get("output_vocab") or trace.x_raw.ndim != 2:
        return False
    T = data_steps(trace)
    x, y = np.asarray(trace.x_raw[0, 1:T]), np.asarray(trace.y[0, : T - 1])
    return x.shape == y.shape and len(x) > 0 and bool(np.all(x == y))


def data_steps(trace: Trace) -> int:
    """The steps of sequence 0 to show: up to its end (a right-padded sentence's last word),
    or every output step where the outputs have another length (an encoder-decoder)."""
    T = trace.y_hat.shape[1]
    return T if trace.x_raw.shape[1] != T else int(trace.input_mask[0].sum())


class NextGuessesPanel(Panel):
    title = "Next-symbol guesses"
    key = "guesses"
    info = (
        "Under every input symbol x_t of the probe sequence (top row), the model's five most "
        "likely next symbols, most likely first, from p_t = softmax(ŷ_t), each on a ground "
        "from white (p = 0) to dark blue (p = 1), as in Karpathy, Johnson & Fei-Fei (2015). "
        "The guess that is the true next symbol y_t is boxed; pale columns are steps where no "
        "loss counts. Early in training the guesses are the most frequent symbols everywhere; "
        "later they follow the context."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.controls_row.addStretch(1)
        self.grid = TokenGrid()
        self.grid.setFont(fixed_font())
        self.hover_label = self.add_hint("Hover a column for the probabilities.")
        self.stack = NoteStack(
            self.grid, heading=True, clear_right=self.controls_row.contentsMargins().right()
        )
        self.note = self.stack.note
        self.heading = self.stack.heading  # what, which step, the colour scale
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.hover_label)
        self._ramp = ramp(theme.BLUE)
        self.trace: Trace | None = None
        self.guesses: Guesses | None = None
        self.labels: list[str] = []  # the inputs of sequence 0
        self.lookback: list[str] = []  # and what its lookback said, for a melody
        self.grid.hovered.connect(self._hover)

    def fill_of(self, p: float) -> QColor | None:
        """The ground of a guess of probability p (None where p is not finite)."""
        return shade(self._ramp, p)

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        if not symbol_task(trace):
            self.trace = None
            self.stack.show_note(NEEDS_SYMBOLS)
            return
        self.stack.show_figure()
        self.trace = trace
        vocab = trace.meta["output_vocab"]
        T = data_steps(trace)
        g = self.guesses = top_guesses(trace.y_hat[0, :T], trace.y[0, :T])
        self.labels = input_labels(trace, steps=trace.y_hat.shape[1])[:T]
        self.lookback = lookback_row(trace, T)
        inputs = [self.labels] + ([self.lookback] if self.lookback else [])
        k, n_in = g.ids.shape[1], len(inputs)
        counted = np.asarray(trace.loss_mask[0, :T])  # steps where the loss counts
        texts = [*inputs, *([vocab[int(i)] for i in g.ids[:, r]] for r in range(k))]
        fills = [*[[None] * T] * n_in, *([self.fill_of(p) for p in g.p[:, r]] for r in range(k))]
        boxed = np.zeros((k + n_in, T), dtype=bool)
        boxed[n_in:] = (g.ids == np.asarray(trace.y[0, :T])[:, None]).T  # the true next symbol
        self.grid.set_cells(
            texts,
            fills,
            headers=["input", "lookback"][:n_in] + list(ORDINALS[:k]),
            faded=counted == 0,
            boxed=boxed,
        )
        step = trace.meta.get("step")
        at = "" if step is None else f" at step {step}"
        scale = swatches(self._ramp[:: len(self._ramp) // 10])
        hit = float(np.mean(g.target_rank[counted > 0] < TOP)) if counted.any() else 0.0
        what = "next symbol" if predicts_next(trace) else "output"  # a tag is not a next word
        self.heading.setText(
            f"<b>Top {k} guesses for the {what}</b> under each input of sequence 0{at}; "
            f"boxed: the true {what} (in the top {k} at {hit:.0%} of the steps the loss "
            f"counts). p: 0 {scale} 1"
        )

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Under each input t of sequence 0: the top guesses for the next symbol with their
        probabilities, the true next symbol, its probability and rank (1: the top guess),
        and whether the loss counts there (1) or not (0)."""
        g = self.guesses if self.trace is not None else None
        if g is None:
            return {}
        vocab, T = self.trace.meta["output_vocab"], len(self.labels)
        table = {"t": np.arange(T), "input x_t": np.array(self.labels)}
        if self.lookback:
            table["lookback"] = np.array(self.lookback)
        for r in range(g.ids.shape[1]):
            table[f"{ORDINALS[r]} guess"] = np.array([vocab[int(i)] for i in g.ids[:, r]])
            table[f"p of the {ORDINALS[r]} guess"] = g.p[:, r]
        table["next symbol y_t"] = np.array([vocab[int(i)] for i in self.trace.y[0, :T]])
        table["p of y_t"] = g.target_p
        table["rank of y_t"] = g.target_rank + 1
        table["loss counts"] = np.asarray(self.trace.loss_mask[0, :T]) > 0
        return {"time": table}

    def show_time(self, t: int) -> None:
        if self.trace is not None:
            self.grid.mark(t if 0 <= t < len(self.labels) else -1)

    def _hover(self, t: int) -> None:
        if self.trace is None or self.guesses is None:
            return
        g, vocab = self.guesses, self.trace.meta["output_vocab"]
        best = ",  ".join(
            f"'{vocab[int(i)]}' {p:.2f}" for i, p in zip(g.ids[t], g.p[t], strict=True)
        )
        y = vocab[int(self.trace.y[0, t])]
        back = self.lookback[t] if self.lookback else ""
        back = f" (lookback {back})" if back else ""
        self.hover_label.setText(
            f"t = {t}, after '{self.labels[t]}'{back}: {best}  — next is '{y}' "
            f"(p = {g.target_p[t]:.3f}, rank {int(g.target_rank[t]) + 1})"
        )
