"""Tokens, not indices: what the panels write for timestep t of the probe sequence (0).

A trace of words or notes names its inputs (Trace.tokens), so a time axis says "not" where it
would say 4, and a readout "t = 4: 'not'". A padded sentence is shown up to its last word:
its <pad> steps (Trace.input_mask) are not data and are never drawn. Numeric tasks have no
tokens and no padding: every function here leaves their t as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.trace import Trace

# Tick levels of a token axis, sparsest first: the legibility patch (plotkit) keeps the
# labels of earlier levels where neighbours would print over one another, so a crowded axis
# names every 8th word, then every 4th, … as room allows.
STRIDES = (8, 4, 2, 1)
NUMBER_FILL = [(0, 0.8), (2, 0.6), (4, 0.4), (6, 0.2)]  # pyqtgraph's defaults, for numbers
LONGEST = 12  # characters of a token on an axis ("<unk>", "roosevelt"); longer ones end "…"


def steps_shown(trace: Trace) -> int:
    """Sequence 0's steps up to its end: T, or a right-padded sentence's length."""
    return int(np.asarray(trace.input_mask[0]).sum())


def token(trace: Trace | None, t: int) -> str | None:
    """The input token of sequence 0 at t, or None (real inputs, t outside the sequence)."""
    tokens = None if trace is None else trace.tokens
    if tokens is None or not 0 <= t < tokens.shape[1]:
        return None
    return str(tokens[0, t])


def at_t(
    trace: Trace | None, t: int, compact: bool = False, eq: str = " = ", symbol: str = "t"
) -> str:
    """The t of sequence 0 as a readout says it: "t = 4: 'not'" for a sequence of tokens,
    "t = 4" otherwise; `compact` for hover lines that go on with a value ("t = 4 'not'"),
    `eq` "=" where the panel writes "t=4", `symbol` "j" for an encoder's steps."""
    word = token(trace, t)
    head = f"{symbol}{eq}{t}"
    if word is None:
        return head
    return f"{head} '{word}'" if compact else f"{head}: '{word}'"


def _short(word: str) -> str:
    return word if len(word) <= LONGEST else word[: LONGEST - 1] + "…"


def time_ticks(trace: Trace | None, T: int) -> list[list[tuple[float, str]]] | None:
    """Tick levels for a time axis over 0 … T-1 naming each t by its token ("4" above
    "not"), for AxisItem.setTicks; None (the axis's own numbers) where the trace has no
    tokens."""
    if trace is None or trace.tokens is None or T <= 0:
        return None
    words = trace.tokens[0]
    seen: set[int] = set()
    levels = []
    for stride in STRIDES:
        ts = [t for t in range(0, T, stride) if t not in seen]
        seen.update(ts)
        levels.append([(float(t), f"{t}\n{_short(str(words[t]))}") for t in ts])
    return levels


def set_time_axis(axis: pg.AxisItem, trace: Trace | None, T: int) -> None:
    """Label a time axis over 0 … T-1 with the tokens of sequence 0 (two lines a tick: t,
    then its token), or with the axis's own numbers where there are none."""
    ticks = time_ticks(trace, T)
    axis.setTicks(ticks)
    if ticks is None:
        axis.setStyle(autoExpandTextSpace=True, textFillLimits=NUMBER_FILL, maxTextLevel=2)
        return
    # pyqtgraph sizes a horizontal axis for one line of text: room for the second; and it
    # would stop at the every-other-word level where a fifth of the axis holds text: let
    # every word through that fits (plotkit's patch drops the labels that would overlap)
    line = QFontMetricsF(axis.style["tickFont"] or QFont()).height()
    axis.setStyle(
        autoExpandTextSpace=False,
        tickTextHeight=round(2.2 * line),
        textFillLimits=[(0, 0.9)],
        maxTextLevel=len(STRIDES) - 1,  # pyqtgraph labels three levels at most
    )


def cursor_length(trace: Trace) -> int:
    """The time cursor's T: the steps shown, or an encoder-decoder's decoder steps of sequence
    0 up to and including <eos> (a panel showing the encoder marks the input step that decoder
    step t reads: panels/halves.py)."""
    if hasattr(trace, "dec_layers"):
        return int(np.asarray(trace.loss_mask[0]).sum())
    return steps_shown(trace)
