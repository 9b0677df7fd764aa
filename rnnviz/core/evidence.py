"""Evidence over time, for a many-to-one task: what the model would answer if the sentence
stopped after word t, for every t.

    evidence[b, t] = softmax(f(x_b[0 .. t]))        (the output at the prefix's last word)

For a forward-only model that is the head applied to h_t, softmax(y_hat_t), which the trace
already holds; a bidirectional model's reverse direction has read the words after t, so its
y_hat_t is not what it would answer at t. Here every prefix is run as a sentence of its own
(one padded batch of B·T prefixes, packed like any batch), so the answer is right for every
model kind: a forward or bidirectional stack, or the bag of words. Watching it over t shows
where the decision turns: "the film was not bad" reads negative at "not" and positive at "bad".

Shapes: B sentences, T time (words), O classes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rnnviz.core.tasks.vocab import PAD_ID


@torch.no_grad()
def evidence_over_time(model: nn.Module, x_raw: torch.Tensor) -> np.ndarray:
    """(B, T, O) class probabilities after each word of the right-padded ids `x_raw` (B, T);
    NaN at padding."""
    B, T = x_raw.shape
    prefixes = x_raw[:, None, :].expand(B, T, T).clone()  # (B, T, T): row t keeps words 0..t
    keep = (
        torch.arange(T, device=x_raw.device)[None, :]
        <= torch.arange(T, device=x_raw.device)[:, None]
    )
    prefixes[:, ~keep] = PAD_ID
    data = x_raw != PAD_ID  # (B, T)
    rows = prefixes[data]  # (N, T): the prefixes that end at a word
    was_training = model.training
    model.eval()
    try:
        logits = model(rows)  # (N, T, O)
    finally:
        model.train(was_training)
    last = (rows != PAD_ID).sum(1) - 1  # (N,) each prefix's last word
    # float64 on the CPU (MPS has no float64)
    p = torch.softmax(logits[torch.arange(len(rows)), last].cpu().double(), -1)  # (N, O)
    out = np.full((B, T, p.shape[-1]), np.nan)
    out[data.cpu().numpy()] = p.cpu().numpy()
    return out
