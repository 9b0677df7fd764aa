"""Windows onto one long stream of symbol ids, shared by the tasks that read a stream: the
character LM (a text) and the music task (melodies joined by an end-of-melody symbol).

Training reads random windows; the held-out score reads the held-out stream once, in
consecutive windows, so that each symbol after the first is predicted exactly once.

Shapes: B batch, T time, N symbols in the stream.
"""

from __future__ import annotations

import torch

from rnnviz.core.tasks.base import Batch, heldout_sequences


def random_windows(ids: torch.Tensor, batch: int, seq_len: int, gen: torch.Generator) -> Batch:
    """`batch` windows of `seq_len` inputs and their next symbols, anywhere in `ids` (N,)."""
    B, T = batch, seq_len
    starts = torch.randint(0, len(ids) - T, (B, 1), generator=gen)  # (B, 1)
    window = ids[starts + torch.arange(T + 1)].long()  # (B, T+1)
    return Batch(window[:, :-1], window[:, 1:], torch.ones(B, T))


def consecutive_windows(ids: torch.Tensor, seq_len: int) -> Batch:
    """Consecutive windows of `ids` (N,): each symbol after the first predicted once (up to
    heldout_sequences windows; a stream shorter than T gives one shorter window)."""
    W = min(seq_len, len(ids) - 1)  # predictions per window
    n = min(heldout_sequences(W), (len(ids) - 1) // W)
    window = ids[torch.arange(n)[:, None] * W + torch.arange(W + 1)].long()  # (n, W+1)
    return Batch(window[:, :-1], window[:, 1:], torch.ones(n, W))
