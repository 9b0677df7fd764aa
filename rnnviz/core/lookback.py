"""The lookback input of the music task: with each note, the note that followed the last time
the tune played the same two notes (else the same note), read from the melody's own past.

Nursery and folk tunes repeat their phrases, and a listener who has heard the first phrase
expects its return. A small LSTM trained on 25 tunes does not learn to look that far back
by itself (its held-out NLL on notes that repeat the tune's earlier phrases is no lower than
on the rest: benchmarks/bench_music_ceiling.py), so the model is told, as Magenta's Lookback
RNN is told what it played one and two bars ago (Waite 2016, "Generating long-term
structure in songs and stories"), and as a cache language model keeps the words it has seen
(Kuhn & De Mori 1990; Grave, Joulin & Usunier 2017): the lookback symbol is embedded by a
table of its own and added to the note's embedding (core/model.py, encoder "lookback"); the
network learns when to trust it. It is a function of the notes before, so generation computes
it as it goes, and the x_t every panel shows is that sum.

lookback_ids(x, V) for ids x (B, T) of a vocabulary of V symbols, id 0 the end of a melody
("|", which also opens the next): at step t the id of x[s + 1] for the latest s < t in the
same melody with (x[s-1], x[s]) = (x[t-1], x[t]), in 1 … V-1; else, for the latest s < t with
x[s] = x[t], V + x[s + 1], in V+1 … 2V-1; else 0 (nothing to look back at, and at "|").
x[s + 1] is never "|" here: a melody's last note has no later step in the same melody.
A row is read as far as it goes, so a training window cut mid-tune looks back only within
itself, and a held-out melody read from its start sees its whole past.
"""

from __future__ import annotations

import torch
from torch import Tensor

END_ID = 0  # "|": the end of a melody, and the start of the next


def lookback_size(vocab_size: int) -> int:
    """The number of lookback symbols: none, a two-note match per note, a one-note match per
    note (ids 0 … 2V-1; V itself, a one-note match followed by "|", never occurs)."""
    return 2 * vocab_size


def lookback_ids(x: Tensor, vocab_size: int) -> Tensor:
    """(B, T) lookback ids of the ids x (B, T) (module docs), on x's device."""
    B, T = x.shape
    V = vocab_size
    melody = torch.cumsum(x == END_ID, dim=1)  # (B, T): "|" opens the next melody
    after = torch.cat([x[:, 1:], x.new_zeros(B, 1)], dim=1)  # x[s + 1]
    prev = torch.cat([x.new_full((B, 1), END_ID), x[:, :-1]], dim=1)  # x[t - 1]
    note = x != END_ID
    one = _latest_same(x, note, melody)  # (B, T) s, or -1
    two = _latest_same(prev * V + x, note & (prev != END_ID), melody)
    out = torch.where(one >= 0, V + after.gather(1, one.clamp(min=0)), torch.zeros_like(x))
    return torch.where(two >= 0, after.gather(1, two.clamp(min=0)), out)


def _latest_same(key: Tensor, valid: Tensor, melody: Tensor) -> Tensor:
    """(B, T): for each valid step t the latest valid s < t of the same row and melody with
    key[s] = key[t], else -1. One stable sort of (row, melody, key): equal keys stay in time
    order, so each step's predecessor in the sorted order is that s, O(BT log BT) where
    comparing every pair of steps would be O(B T^2) (T reaches 10 000)."""
    B, T = key.shape
    rows = torch.arange(B, device=key.device)[:, None]
    span = int(key.max()) + 1 if key.numel() else 1
    group = (rows * (T + 1) + melody) * span + key  # (B, T), equal for equal (row, melody, key)
    # an invalid step gets a group of its own (negative: no valid key is)
    group = torch.where(valid, group, -1 - torch.arange(B * T, device=key.device).view(B, T))
    sorted_group, order = torch.sort(group.reshape(-1), stable=True)
    same = torch.zeros_like(sorted_group, dtype=torch.bool)
    same[1:] = sorted_group[1:] == sorted_group[:-1]
    before = torch.full_like(order, -1)
    before[1:] = torch.where(same[1:], order[:-1], -1)
    latest = torch.full((B * T,), -1, dtype=torch.int64, device=key.device)
    latest[order] = before
    return torch.where(latest >= 0, latest % T, -1).view(B, T)
