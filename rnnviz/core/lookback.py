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

from collections.abc import Sequence

import numpy as np

END_ID = 0  # "|": the end of a melody, and the start of the next
# steps back within a melody that the melody cache reads (core/melody_cache.py): a tune
# longer than that votes with its latest CACHE_REACH steps (the bundled ones have <= 72 notes)
CACHE_REACH = 256


def lookback_size(vocab_size: int) -> int:
    """The number of lookback symbols: none, a two-note match per note, a one-note match per
    note (ids 0 … 2V-1; V itself, a one-note match followed by "|", never occurs)."""
    return 2 * vocab_size


def lookback_ids(x: np.ndarray, vocab_size: int) -> np.ndarray:
    """(B, T) lookback ids of the ids x (B, T) (module docs). numpy, so that the window can
    label them without torch (the model moves them to its device: a few dozen microseconds
    for a training batch)."""
    x = np.asarray(x, dtype=np.int64)
    B, T = x.shape
    V = vocab_size
    melody = np.cumsum(x == END_ID, axis=1)  # (B, T): "|" opens the next melody
    after = np.concatenate([x[:, 1:], np.zeros((B, 1), np.int64)], axis=1)  # x[s + 1]
    prev = np.concatenate([np.full((B, 1), END_ID), x[:, :-1]], axis=1)  # x[t - 1]
    note = x != END_ID
    one = _latest_same(x, note, melody)  # (B, T) s, or -1
    two = _latest_same(prev * V + x, note & (prev != END_ID), melody)
    out = np.where(one >= 0, V + np.take_along_axis(after, one.clip(0), 1), 0)
    return np.where(two >= 0, np.take_along_axis(after, two.clip(0), 1), out)


def lookback_labels(ids: np.ndarray, vocab: Sequence[str]) -> list[str]:
    """What the lookback says at each step of one sequence's lookback ids (T,), for people:
    the note after the same two notes ("E4"), after the same note ("(E4)"), or ""."""
    V = len(vocab)
    return ["" if i == 0 else vocab[i] if i < V else f"({vocab[i - V]})" for i in ids.tolist()]


def _latest_same(key: np.ndarray, valid: np.ndarray, melody: np.ndarray) -> np.ndarray:
    """(B, T): for each valid step t the latest valid s < t of the same row and melody with
    key[s] = key[t], else -1. One stable sort of (row, melody, key): equal keys stay in time
    order, so each step's predecessor in the sorted order is that s, O(BT log BT) where
    comparing every pair of steps would be O(B T^2) (T reaches 10 000)."""
    B, T = key.shape
    span = int(key.max()) + 1 if key.size else 1
    group = (np.arange(B)[:, None] * (T + 1) + melody) * span + key  # equal (row, melody, key)
    # an invalid step gets a group of its own (negative: no valid key is)
    group = np.where(valid, group, -1 - np.arange(B * T).reshape(B, T)).reshape(-1)
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    before = np.full(B * T, -1)
    same = sorted_group[1:] == sorted_group[:-1]
    before[1:] = np.where(same, order[:-1], -1)
    latest = np.empty(B * T, np.int64)
    latest[order] = before
    return np.where(latest >= 0, latest % T, -1).reshape(B, T)
