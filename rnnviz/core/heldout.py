"""The held-out score: how a trained model does on sequences it never trained on, beside the
baseline it has to beat (the task registry says which metric and which baseline).

    adding   MSE at the last step;      baseline: the mean sum 1, MSE 1/6
    copy     accuracy of the recalled symbols;  baseline: chance among the data symbols
    charlm   NLL in nats per character of the held-out end of the text;
             baseline: the unigram NLL of that text
    music    NLL in nats per note of each held-out melody read from its start;
             baseline: a unigram of the training melodies' notes (add-1/2), on those notes
    sine     MSE of the next value;     baseline: repeating the last value
    dates, reverse, sort   exact match: the fraction of sequences whose whole output is
             right up to <eos>, decoded without the targets (greedy, or by beam search of
             width config.beam); baseline: copying the input unchanged

The score is a masked mean over every scored step of every held-out sequence, accumulated in
float64 over slices of `chunk` sequences, so it does not depend on how they are sliced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from rnnviz.core.devices import device_of
from rnnviz.core.tasks.base import Batch, Task, per_step


@dataclass(frozen=True)
class HeldOutScore:
    metric: str  # "mse", "accuracy", "nll" or "exact"
    value: float  # the model's score
    baseline: float  # the baseline's score on the same sequences
    sequences: int  # held-out sequences scored

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@torch.no_grad()
def heldout_score(model: nn.Module, task: Task, *, chunk: int) -> HeldOutScore:
    """Score `model` (raw task input (B, T) or (B, T, I_raw) -> (B, T, O); an encoder-decoder
    for exact match) on the task's held-out sequences, `chunk` sequences per forward pass on
    the model's device."""
    device = device_of(model)
    metric = task.spec.heldout.metric
    batch = task.heldout()
    if metric == "exact":  # one score per sequence
        right = exact_matches(model, batch, chunk=chunk)
        return HeldOutScore(metric, float(right.mean()), task.heldout_baseline(batch), len(batch))
    was_training = model.training
    model.eval()
    total = count = 0.0
    step = max(1, chunk)
    try:
        for start in range(0, len(batch), step):
            part = batch[start : start + step]  # scored in float64 on the CPU (MPS has none)
            y_hat = model(part.to(device).x).cpu().double()
            values = per_step(metric, y_hat, part.y)  # (b, T)
            total += float((values * part.mask).sum())
            count += float(part.mask.sum())
    finally:
        model.train(was_training)
    return HeldOutScore(metric, total / count, task.heldout_baseline(batch), len(batch))


@torch.no_grad()
def exact_matches(
    model: nn.Module, batch: Batch, *, chunk: int, beam: int | None = None
) -> torch.Tensor:
    """(B,) exact_match of what the encoder-decoder `model` writes for each sequence of
    `batch`, decoding without the targets (beam width `beam`, default its config's), `chunk`
    sequences per pass on the model's device, in eval mode."""
    device = device_of(model)
    was_training = model.training
    model.eval()
    try:
        parts = (batch[i : i + chunk].to(device) for i in range(0, len(batch), max(1, chunk)))
        return torch.cat([exact_match(model.decode(p.x, p.y.shape[1], beam), p) for p in parts])
    finally:
        model.train(was_training)


def exact_match(tokens: torch.Tensor, batch: Batch) -> torch.Tensor:
    """1.0 for each sequence whose output ids (B, T) equal the targets wherever the mask is 1,
    else 0.0: (B,)."""
    wrong = (tokens != batch.y) & (batch.mask > 0)  # (B, T)
    return (~wrong.any(dim=1)).cpu().double()  # on the CPU: MPS has no float64
