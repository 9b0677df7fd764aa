"""The bottleneck curve: held-out exact match against the input's length.

Without attention the decoder sees the input only through the encoder's final state, one
vector of fixed size, so the longer the input the less of it survives: exact match falls with
the length. With attention every decoder step reads every encoder state and the curve holds.
Runs side by side (with and without attention) draw one curve each.

The held-out sequences are the task's own (tasks.base.HELDOUT_SEED), grouped by the number of
unpadded input symbols; for reverse and sort these lengths are uniform in 1..--seq-len.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnviz.core.heldout import exact_matches
from rnnviz.core.seq2seq.model import Seq2SeqModel
from rnnviz.core.tasks.transduction import Transduction


@dataclass(frozen=True)
class LengthScore:
    length: int  # unpadded input symbols
    exact: float  # fraction of these held-out sequences decoded exactly right
    sequences: int  # how many held-out sequences have this length


def bottleneck_curve(
    model: Seq2SeqModel,
    task: Transduction,
    *,
    chunk: int = 256,
    device: str = "cpu",
    beam: int | None = None,
) -> list[LengthScore]:
    """Exact match of `model` on the task's held-out sequences, one point per input length
    (shortest first), decoded without the targets (beam width `beam`, default config.beam),
    `chunk` sequences per pass."""
    batch = task.heldout()
    lengths = task.input_lengths(batch.x)  # (B,)
    right = exact_matches(model, batch, chunk=chunk, device=device, beam=beam)  # (B,)
    return [
        LengthScore(n, float(right[lengths == n].mean()), int((lengths == n).sum()))
        for n in sorted(set(lengths.tolist()))
    ]
