"""The bottleneck curve: held-out exact match against the input's length.

Without attention the decoder sees the input only through the encoder's final state, one
vector of fixed size, so the longer the input the less of it survives: exact match falls with
the length. With attention every decoder step reads every encoder state and the curve holds.
Runs side by side (with and without attention) draw one curve each.

The held-out sequences are the task's own (tasks.base.HELDOUT_SEED), grouped by the number of
unpadded input symbols; for reverse and sort these lengths are uniform in 1..--seq-len.

The curve is measured on demand (protocol.MeasureBottleneck; loop.session measures one run
per step and hands the curves out in a snapshot's extras[EXTRAS_KEY]). This module imports
torch only inside the measuring functions: the window unpickles BottleneckCurves without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rnnviz.core.seq2seq.model import Seq2SeqModel
    from rnnviz.core.tasks.transduction import Transduction

EXTRAS_KEY = "bottleneck"  # Snapshot.extras[EXTRAS_KEY]: the latest BottleneckCurves


@dataclass(frozen=True)
class LengthScore:
    length: int  # unpadded input symbols
    exact: float  # fraction of these held-out sequences decoded exactly right
    sequences: int  # how many held-out sequences have this length


@dataclass(frozen=True)
class RunCurve:
    """One run's curve, as the Bottleneck panel draws it and the presets quote it."""

    label: str  # the run's label ("" for a single run)
    attention: str  # config.attention of the run
    step: int  # the training step of the weights measured
    lengths: tuple[int, ...]  # input lengths, shortest first
    exact: tuple[float, ...]  # held-out exact match at each length
    sequences: tuple[int, ...]  # held-out sequences of each length

    def at(self, length: int) -> float:
        """Exact match at input length `length`."""
        return self.exact[self.lengths.index(length)]


@dataclass(frozen=True)
class BottleneckCurves:
    """What one measurement has found so far: the curves of the runs measured, in the runs'
    order, and how many runs are still to be measured (0 once it is done)."""

    runs: tuple[RunCurve, ...]
    pending: int = 0
    request: int = 0  # the MeasureBottleneck.request it answers

    @property
    def done(self) -> bool:
        return self.pending == 0


def bottleneck_curve(
    model: Seq2SeqModel,
    task: Transduction,
    *,
    chunk: int = 256,
    beam: int | None = None,
) -> list[LengthScore]:
    """Exact match of `model` on the task's held-out sequences, one point per input length
    (shortest first), decoded without the targets (beam width `beam`, default config.beam),
    `chunk` sequences per pass, on the model's device."""
    from rnnviz.core.heldout import exact_matches  # torch

    batch = task.heldout()
    lengths = task.input_lengths(batch.x)  # (B,)
    right = exact_matches(model, batch, chunk=chunk, beam=beam)  # (B,)
    return [
        LengthScore(n, float(right[lengths == n].mean()), int((lengths == n).sum()))
        for n in sorted(set(lengths.tolist()))
    ]


def run_curve(label: str, trainer) -> RunCurve:
    """The curve of a Trainer's (core/train.py) encoder-decoder at its current weights."""
    scores = bottleneck_curve(trainer.model, trainer.task)
    return RunCurve(
        label=label,
        attention=trainer.config.attention,
        step=trainer.step_count,
        lengths=tuple(s.length for s in scores),
        exact=tuple(s.exact for s in scores),
        sequences=tuple(s.sequences for s in scores),
    )


class BottleneckWatch:
    """A training session's measurements of the curve (loop.session): `ask` (the command
    MeasureBottleneck) queues every run, `step` measures the next one and returns the
    snapshot extras with the curves found so far. Runs of other models are never measured."""

    def __init__(self, labelled: Sequence[tuple[str, Any]]) -> None:
        self.labelled = list(labelled)  # (label, Trainer), the panels' run first
        self._todo: list[tuple[str, Any]] = []
        self._found: list[RunCurve] = []
        self._request = 0

    @property
    def busy(self) -> bool:
        return bool(self._todo)

    def ask(self, request: int = 0) -> None:
        if all(t.task.spec.model == "seq2seq" for _, t in self.labelled):
            self._todo, self._found, self._request = list(self.labelled), [], request

    def step(self, extras: Mapping[str, Any]) -> dict[str, Any]:
        label, trainer = self._todo.pop(0)
        self._found.append(run_curve(label, trainer))
        found = BottleneckCurves(tuple(self._found), len(self._todo), self._request)
        return {**extras, EXTRAS_KEY: found}
