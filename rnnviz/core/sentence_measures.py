"""What the word presets measure on probe sentence 0, as its panels draw it: the words, the
evidence curve's turns (Evidence over time), and the probability of the right tag at the
word a later word decides (Next-symbol guesses). No torch: numbers from a Trace."""

from __future__ import annotations

import numpy as np

from rnnviz.core.tasks.tagging_words import AMBIGUOUS
from rnnviz.core.trace import Trace


def sentence(trace: Trace) -> list[str]:
    """Sequence 0's words, up to its end (no <pad>)."""
    n = int(np.asarray(trace.input_mask[0]).sum())
    return [str(w) for w in trace.tokens[0, :n]]


def label(trace: Trace) -> str:
    """Sequence 0's class, read after its last word (a many-to-one task)."""
    n = len(sentence(trace))
    return trace.meta["output_vocab"][int(trace.y[0, n - 1])]


def positive_evidence(trace: Trace) -> np.ndarray:
    """(n,) P(positive | the words up to t) of sequence 0: the evidence curve."""
    column = trace.meta["output_vocab"].index("positive")
    return np.asarray(trace.evidence, dtype=np.float64)[: len(sentence(trace)), column]


def largest_turn(p: np.ndarray) -> tuple[float, int]:
    """(how far, at which t ≥ 1) the curve moves most from one word to the next."""
    steps = np.abs(np.diff(p))  # (n - 1,)
    t = int(np.argmax(steps))
    return float(steps[t]), t + 1


def ambiguous_word(trace: Trace) -> int | None:
    """The t of the first word of sequence 0 whose tag the next word decides ('sandy' in
    'sandy taylor' against 'sandy beaches'), or None."""
    return next((t for t, w in enumerate(sentence(trace)) if w in AMBIGUOUS), None)


def tag_probability(trace: Trace, t: int) -> float:
    """softmax(ŷ_t) of sequence 0 at its true tag: the boxed guess under word t."""
    y_hat = np.asarray(trace.y_hat[0, t], dtype=np.float64)
    p = np.exp(y_hat - y_hat.max())
    return float(p[int(trace.y[0, t])] / p.sum())
