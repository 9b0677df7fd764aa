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

l_t the head's logits (core/note_layers.py); L(t, s) in 0 … K the number of notes the melody
played up to t and up to s have in common at their ends (x[t] = x[s], x[t-1] = x[s-1], …;
capped at K); a(h_t) = W_a h_t + b_a (the network says how far it trusts a repeat of each
length, from what it has heard). Each earlier step votes for the note that came after it.

A tune also repeats its phrases at another pitch (a sequence: C D E, then D E F#). So each
earlier step s also casts a transposed vote, for the note at the interval x[s] -> x[s+1] from
x[t], with x[s+1]'s length (a rest after s: that rest), scored b_{L'(t,s)}(h_t), where L' counts
the steps back from t and from s whose intervals from the step before and whose lengths agree
(the same phrase, moved). At the second E of "| C4 D4 E4 D4 E4" the step after C4 votes F#4,
a note no earlier step was followed by. A step at a rest, or whose moved note is not in the
vocabulary, casts none. Both kinds of vote go into the one sum above, with 2 (K + 1) scores
in all (CACHE_SCORES).

The output y_hat_t(w) = log(exp(l_t(w)) + Σ …), so softmax(y_hat_t) is p_t, and y_hat_t = l_t
wherever no earlier step votes for w. Everything is a function of h_t and the notes up to t:
generation computes it as it goes, and every recorder differentiates through it.

melody_cache(whole, T, parts) finds, for the last T steps of `whole` (B, N), the earlier steps
of the same melody at offsets d = 1 … W back (W the longest such reach, at most CACHE_REACH),
with the note each votes for and L: a band (B, T, 2W), the exact votes then the transposed ones
(their L offset by K + 1, so one gather picks every vote's score); O(K B T W), W bounded by the
longest melody and by CACHE_REACH, not by T (core/budget.py counts its memory).

Shapes: B batch, T scored steps, N = P + T steps read, W offsets, V symbols, K match lengths.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnviz.core.lookback import CACHE_REACH, END_ID
from rnnviz.core.note_parts import NoteParts

CACHE_K = 4  # longest common ending scored on its own; longer ones score as K
_TINY = torch.finfo(torch.float32).tiny  # the smallest normal float32 (a subnormal
# would slow log down tenfold): no log(0) reaches a gradient
CACHE_SCORES = 2 * (CACHE_K + 1)  # a_0 … a_K of the exact votes, then b_0 … b_K transposed
_INTERVALS = 40  # semitones; a larger leap between two steps counts as this one


class MelodyCache(NamedTuple):
    """The earlier steps each scored step can vote with, W offsets back: all (..., T, W)."""

    after: Tensor  # int64: the note that followed that step (x[s + 1]); 0 where not allowed
    length: Tensor  # int64: L(t, s) in 0 … K
    allowed: Tensor  # bool: s >= 0 and in the same melody as t

    def select(self, index) -> MelodyCache:
        """The same band for `index` of the leading dimensions (a sequence, some steps)."""
        return MelodyCache(*(f[index] for f in self))


def melody_cache(
    whole: Tensor, T: int, parts: NoteParts | None = None, K: int = CACHE_K
) -> MelodyCache:
    """The band of the last T steps of the ids `whole` (B, N) (module docs): the exact votes,
    and with the notes' `parts` the transposed ones beside them (lengths K + 1 … 2K + 1)."""
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
    after = whole[:, sc + 1]  # (B, T, W): s + 1 <= t < N
    notes = torch.where(whole == END_ID, -1, whole)
    exact = MelodyCache(
        torch.where(allowed, after, 0), _common_ending(notes, T, d, allowed, K), allowed
    )
    if parts is None:
        return exact
    midi = parts.midi.to(dev)[whole]  # (B, N) each step's pitch, -1 for a rest and "|"
    moved = _moved(after, midi, t, sc, parts)  # (B, T, W)
    ok = allowed & (moved >= 0)
    shapes = _shapes(whole, midi, parts)
    transposed = MelodyCache(
        torch.where(ok, moved, 0), _common_ending(shapes, T, d, ok, K) + K + 1, ok
    )
    return MelodyCache(*(torch.cat(pair, -1) for pair in zip(exact, transposed, strict=True)))


def _common_ending(keys: Tensor, T: int, d: Tensor, allowed: Tensor, K: int) -> Tensor:
    """(B, T, W) int64: for each allowed pair of a scored step t (the last T of keys' N) and
    s = t - d, how many of keys[t], keys[t-1], … equal keys[s], keys[s-1], … in a row, capped
    at K; keys (B, N), -1 never matches. The pairs (t - j, s - j) keep the offset d, so one
    band of equalities over the steps t - K + 1 … t answers every j by a slice."""
    B, N = keys.shape
    u = torch.arange(N - T - K + 1, N, device=keys.device)  # (T + K - 1,) every t - j
    v = u[:, None] - d[None, :]  # (T + K - 1, W)
    here = keys[:, u.clamp(min=0)][:, :, None]  # (B, T + K - 1, 1)
    same = (here == keys[:, v.clamp(min=0)]) & (here >= 0) & ((u[:, None] >= 0) & (v >= 0))
    length = torch.zeros(allowed.shape, dtype=torch.int64, device=keys.device)
    run = allowed.clone()  # the common ending is still going j steps back
    for j in range(K):
        run &= same[:, K - 1 - j : K - 1 - j + T]
        length += run
    return length


def _shapes(whole: Tensor, midi: Tensor, parts: NoteParts) -> Tensor:
    """(B, N) what a transposed repeat keeps of each step: its interval from the step before
    (when both are notes; else whether it is a rest) and its length; -1 at "|". midi (B, N):
    each step's pitch."""
    before = torch.cat([torch.full_like(midi[:, :1], -1), midi[:, :-1]], 1)
    step = (midi - before).clamp(-_INTERVALS, _INTERVALS) + _INTERVALS  # 0 … 2 I
    kind = torch.where(midi >= 0, 2 * _INTERVALS + 2, 2 * _INTERVALS + 1)  # no interval
    step = torch.where((midi >= 0) & (before >= 0), step, kind)
    key = step * parts.length_ids + parts.length_id.to(whole.device)[whole]
    return torch.where(whole == END_ID, -1, key)


def _moved(after: Tensor, midi: Tensor, t: Tensor, sc: Tensor, parts: NoteParts) -> Tensor:
    """(B, T, W) the transposed vote of each earlier step s = sc for step t: the note at the
    interval x[s] -> x[s+1] from x[t], with x[s+1]'s length (a rest: that rest); -1 where
    there is none (x[s] or x[t] a rest, or no such note in the vocabulary). after (B, T, W):
    x[s+1]; midi (B, N): each step's pitch."""
    here = midi[:, t][:, :, None]  # (B, T, 1)
    there, next_ = midi[:, sc], midi[:, sc + 1]  # (B, T, W)
    moved = parts.symbol(here + next_ - there, parts.length.to(after.device)[after])
    moved = torch.where((here >= 0) & (there >= 0) & (next_ >= 0), moved, -1)
    return torch.where(parts.rest.to(after.device)[after], after, moved)


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
