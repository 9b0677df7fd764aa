"""What if: the window asks the training process to decode an input a person typed, with the
weights as they are now (no retraining), optionally with one decoder step's attention
pinned; the answer rides back in the next snapshot's extras["whatif"].

    window -> worker   ForRun(run, WhatIf(text, pin_step, pin_row))   (core/protocol.py)
    worker -> window   snapshot.extras["whatif"] = WhatIfAnswer(...)   (loop.session)

No torch here: the window builds the question and reads the answer. seq2seq/live.py answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rnnviz.core.seq2seq.decoded import Decoded

ROW_SUM_TOLERANCE = 1e-6  # a pinned row is a distribution: its weights sum to 1


@dataclass(frozen=True)
class WhatIf:
    """Decode `text`; with `pin_step` set, decoder step `pin_step` attends with `pin_row`
    (one weight per character of the input as read, summing to 1) instead of its own
    weights, and the decoding goes on from there."""

    text: str
    pin_step: int | None = None
    pin_row: tuple[float, ...] = ()


@dataclass(frozen=True)
class WhatIfAnswer:
    """The answer to `question`: its decoding, or `message` saying why there is none."""

    question: WhatIf
    read: str  # the input as the model reads it (e.g. lower-cased for dates); "" if refused
    message: str  # one line for a person; "" when `decoded` is there
    decoded: Decoded | None
    step: int  # the training step of the weights that decoded it


def read_input(text: str, vocab: Sequence[str], limit: int) -> tuple[str, str]:
    """(the input as the model reads it, "") or ("", why not) for a typed `text`, given the
    model's input symbols `vocab` (single characters; <pad> and other reserved names are
    not typable) and its longest input `limit`. Text in the wrong case is read in the
    other one when that is all known symbols (dates are lower case, symbol strings upper)."""
    known = {s for s in vocab if len(s) == 1}
    if not text:
        return "", "Type an input to decode."
    read = next((t for t in (text, text.lower(), text.upper()) if set(t) <= known), None)
    if read is None:
        unknown = [c for c in dict.fromkeys(text) if not {c, c.lower(), c.upper()} & known]
        unknown = unknown or [c for c in dict.fromkeys(text) if c not in known]
        shown = ", ".join(repr(c) for c in unknown)
        alphabet = "".join(sorted(known))
        plural = "s" if len(unknown) > 1 else ""
        return "", f"Unknown character{plural} {shown}: this model reads only {alphabet!r}."
    if len(read) > limit:
        return "", (
            f"The input has {len(read)} characters; this model reads at most {limit} "
            f"(--seq-len and the task set it)."
        )
    return read, ""


def check_pin(question: WhatIf, read: str, steps: int) -> str:
    """Why the question's pinned row cannot be used ("" when it can, or when none)."""
    if question.pin_step is None:
        return ""
    row = question.pin_row
    if not 0 <= question.pin_step < steps:
        return f"The pinned step {question.pin_step} is not a decoder step (0 … {steps - 1})."
    if len(row) != len(read):
        return f"The pinned row has {len(row)} weights for an input of {len(read)}."
    if min(row) < 0 or abs(sum(row) - 1.0) > ROW_SUM_TOLERANCE:
        return "The pinned row's weights must be ≥ 0 and sum to 1."
    return ""


def reweighted(row: Sequence[float], j: int, weight: float) -> tuple[float, ...]:
    """`row` with weight j set to `weight` (clipped to 0 … 1) and the others scaled to share
    the rest in their old proportions (equally where they were all 0): a person drags one
    weight and the row stays a distribution."""
    w = min(max(float(weight), 0.0), 1.0)
    if len(row) == 1:
        return (1.0,)
    row = [float(v) for v in row]  # plain floats: the question crosses the pipe
    rest = sum(v for i, v in enumerate(row) if i != j)
    share = [(1.0 - w) * v / rest if rest > 0 else (1.0 - w) / (len(row) - 1) for v in row]
    return tuple(w if i == j else s for i, s in enumerate(share))
