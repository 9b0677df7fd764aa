"""The melody cache: the music model's output also votes for the notes that followed each
earlier moment of the tune, most for the moments whose last notes are the notes just played.

A tune repeats its phrases and keeps to a few notes. A count model that mixes a trigram with a
cache of the tune's own notes scores 0.69x the unigram baseline on the held-out tunes, against
0.87x for the trigram alone (benchmarks/bench_music_ceiling.py); 25 training tunes do not teach
a small LSTM to do that from its state alone. So, as a neural cache language model does with
the words of its document (Grave, Joulin & Usunier 2017, "Improving neural language models
with a continuous cache"; a pointer sentinel mixture, Merity et al. 2017), the model's output
at step t is one softmax over the vocabulary and over every earlier step s of the same melody:

    p_t(w) ∝ exp(l_t(w)) + Σ_{s < t, same melody, x[s+1] = w} exp(a_{L(t,s)}(h_t))

l_t = W h_t + b the head's logits; L(t, s) in 0 … K the number of notes the melody played up
to t and up to s have in common at their ends (x[t] = x[s], x[t-1] = x[s-1], …; capped at K);
a(h_t) = W_a h_t + b_a (K + 1 scores: the network says how far it trusts a repeat of each
length, from what it has heard). Each earlier step votes for the note that came after it. The
output y_hat_t(w) = log(exp(l_t(w)) + Σ …), so softmax(y_hat_t) is p_t, and y_hat_t = l_t
wherever no earlier step votes for w. Everything is a function of h_t and the notes up to t:
generation computes it as it goes, and every recorder differentiates through it.

melody_cache(whole, T, K) finds, for the last T steps of `whole` (B, N), the earlier steps of
the same melody at offsets d = 1 … W back (W the longest such reach, at most CACHE_REACH), with
the note after each and L: a band (B, T, W), O(K B T W), W bounded by the longest melody and
by CACHE_REACH, not by T (core/budget.py counts its memory).

Shapes: B batch, T scored steps, N = P + T steps read, W offsets, V symbols, K match lengths.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnviz.core.lookback import CACHE_REACH, END_ID

CACHE_K = 4  # longest common ending scored on its own; longer ones score as K
_TINY = torch.finfo(torch.float32).tiny  # the smallest normal float32 (a subnormal
# would slow log down tenfold): no log(0) reaches a gradient


class MelodyCache(NamedTuple):
    """The earlier steps each scored step can vote with, W offsets back: all (..., T, W)."""

    after: Tensor  # int64: the note that followed that step (x[s + 1]); 0 where not allowed
    length: Tensor  # int64: L(t, s) in 0 … K
    allowed: Tensor  # bool: s >= 0 and in the same melody as t

    def select(self, index) -> MelodyCache:
        """The same band for `index` of the leading dimensions (a sequence, some steps)."""
        return MelodyCache(*(f[index] for f in self))


def melody_cache(whole: Tensor, T: int, K: int = CACHE_K) -> MelodyCache:
    """The band of the last T steps of the ids `whole` (B, N) (module docs)."""
    B, N = whole.shape
    dev = whole.device
    pos = torch.arange(N, device=dev)
    # the step that opens each step's melody ("|", or the row's first step)
    opens = torch.where(whole == END_ID, pos, torch.zeros_like(pos)).cummax(dim=1).values
    t = pos[N - T :]  # (T,) the scored steps
    W = min(int((t - opens[:, N - T :]).max()) if T and N else 0, CACHE_REACH)
    if W == 0:
        empty = torch.zeros(B, T, 0, dtype=torch.int64, device=dev)
        return MelodyCache(empty, empty, empty.bool())
    d = torch.arange(1, W + 1, device=dev)  # (W,)
    s = t[:, None] - d[None, :]  # (T, W)
    allowed = (s[None] >= opens[:, N - T :, None]) & (s[None] >= 0)  # (B, T, W)
    sc = s.clamp(min=0)
    after = torch.where(allowed, whole[:, sc + 1], 0)  # s + 1 <= t < N
    length = torch.zeros(B, T, W, dtype=torch.int64, device=dev)
    run = allowed.clone()  # the common ending is still going j steps back
    for j in range(K):
        tj, sj = t - j, s - j  # (T,), (T, W)
        ok = (tj >= 0)[None, :, None] & (sj >= 0)[None]
        here = whole[:, tj.clamp(min=0)][:, :, None]  # (B, T, 1)
        there = whole[:, sj.clamp(min=0)]  # (B, T, W)
        run = run & ok & (here == there) & (here != END_ID)
        length += run
    return MelodyCache(after, length, allowed)


def with_cache(logits: Tensor, scores: Tensor, cache: MelodyCache) -> Tensor:
    """y_hat (..., V): log(exp(logits) + Σ over the allowed earlier steps of exp(score of their
    length)) at the note after each (module docs). logits (..., V), scores (..., K + 1).

    Only the notes some step votes for change, each by softplus(v - l) with v the log of its
    votes' mass, shared among its votes: O(W) per step beside the V logits, where the whole
    mixture in log space would cost several passes over V."""
    if cache.after.shape[-1] == 0:
        return logits
    votes = scores.gather(-1, cache.length).masked_fill(~cache.allowed, float("-inf"))
    top = votes.amax(-1, keepdim=True).detach()  # (..., 1), -inf where nothing votes
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    mass = torch.zeros_like(logits).scatter_add(-1, cache.after, torch.exp(votes - top))
    # log of each voted note's mass (a vote 87 nats below the top one counts as that much)
    voted = mass.gather(-1, cache.after).clamp_min(_TINY).log() + top  # (..., W)
    allowed = cache.allowed.to(logits.dtype)
    votes_for = torch.zeros_like(logits).scatter_add(-1, cache.after, allowed)  # per note
    share = allowed / votes_for.gather(-1, cache.after).clamp_min(1.0)  # adds up to 1 per note
    lift = F.softplus(voted - logits.gather(-1, cache.after)) * share
    return logits.scatter_add(-1, cache.after, lift)
