"""Generation, one-to-many: feed a prime, then draw each next symbol from the model's
softmax(logits / temperature) and feed it back (Karpathy 2015, char-rnn's sample.lua).

The temperature T divides the logits: T < 1 sharpens the distribution towards the most
likely symbol, T > 1 flattens it towards uniform. Draws come from a CPU torch.Generator, so a
seed fixes the sample whatever the device.

Shapes: P prime length, V output symbols.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from rnnviz.core.devices import device_of


@torch.no_grad()
def sample_ids(
    model: nn.Module,
    prime: torch.Tensor,
    length: int,
    temperature: float,
    *,
    seed: int = 0,
    banned: Sequence[int] = (),
) -> list[int]:
    """`length` ids drawn after `prime` (P,) at `temperature`; `banned` ids are never drawn.
    The model needs forward_with_state(x (1, t), hx) -> (logits (1, t, V), hx); one that
    `reads_past` (the lookback encoder) is also given the ids before x as `before`."""
    device = device_of(model)
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    seen = prime[None].to(device)  # (1, P + drawn), kept only for a model that reads_past
    past = getattr(model, "reads_past", False)
    out: list[int] = []
    try:
        logits, hx = model.forward_with_state(seen)  # (1, P, V)
        for _ in range(length):
            z = logits[0, -1].cpu().double() / temperature  # (V,) (MPS has no float64)
            z[list(banned)] = -torch.inf
            nxt = int(torch.multinomial(torch.softmax(z, -1), 1, generator=gen))
            out.append(nxt)
            x = torch.tensor([[nxt]], device=device)
            if past:
                logits, hx = model.forward_with_state(x, hx, before=seen)
                seen = torch.cat([seen, x], dim=1)
            else:
                logits, hx = model.forward_with_state(x, hx)
    finally:
        model.train(was_training)
    return out


CONTRAST_LENGTH = 48  # symbols in each contrast sample: a piano roll shows them beside the probe


def sample_extras(trainer: Any, temperature: float, length: int = 200) -> dict[str, Any]:
    """What a snapshot of a generating task carries (a Trainer's `sample_text`): a sample of
    `length` at `temperature` and, for a task with contrast temperatures (music), a shorter
    one at each of them, as ((temperature, text), …) in "samples"."""
    extras: dict[str, Any] = {
        "sample": trainer.sample_text(length, temperature),
        "temperature": temperature,
        "sample_step": trainer.step_count,
    }
    contrast = trainer.task.contrast_temperatures
    if contrast:
        extras["samples"] = tuple((t, trainer.sample_text(CONTRAST_LENGTH, t)) for t in contrast)
    return extras
