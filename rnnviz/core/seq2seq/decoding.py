"""Decoding without the targets: each step feeds the decoder the token it chose before.

Beam search (width K) keeps, for every sequence, the K output prefixes with the highest
log-probability log p(y_1 … y_t | x) = sum_t log softmax(y_hat_t)[y_t]. At each step every
prefix is extended by every class, and the K best of the K·O candidates survive; a prefix
that has written <eos> is finished and only extends by <eos> again, at no cost. The answer
is the best prefix after `steps` steps. With K = 1 this is greedy decoding: the most likely
token at every step. `beam_steps` yields every step's beams (seq2seq/steps.py draws the tree
from them); `beam_search` keeps only the prefixes.

Shapes: B batch, K beam width, N encoder steps, O output classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from rnnviz.core.seq2seq.model import Seq2SeqModel


@torch.no_grad()
def greedy(model: Seq2SeqModel, x_raw: Tensor, steps: int) -> Tensor:
    """The most likely token at every step: (B, N) input ids -> (B, steps) output ids."""
    return beam_search(model, x_raw, steps, 1)


@torch.no_grad()
def beam_search(
    model: Seq2SeqModel, x_raw: Tensor, steps: int, width: int, pin: Pin | None = None
) -> Tensor:
    """The best of `width` beams (module docstring): (B, N) input ids -> (B, steps) ids."""
    prefixes = torch.zeros(x_raw.shape[0], width, 0, dtype=torch.int64, device=x_raw.device)
    for step in beam_steps(model, x_raw, steps, width, pin):
        prefixes = torch.cat([_gather(prefixes, step.parent), step.token[..., None]], -1)
    return prefixes[:, 0]


@dataclass(frozen=True)
class Pin:
    """At decoder step `step` every beam attends with `alpha` (B, N) instead of its own
    weights (each row sums to 1, zero on padding): what the decoder writes when it is made
    to look there. The steps before are unchanged; the ones after follow from its choice."""

    step: int
    alpha: Tensor  # (B, N)


@dataclass(frozen=True)
class BeamStep:
    """One step of beam search: what each live beam saw and which K survived."""

    logp: Tensor  # (B, K, O) log softmax of each beam's logits (before <eos> is held)
    alpha: Tensor | None  # (B, K, N) each beam's attention; None without attention
    candidates: Tensor  # (B, K*O) log p of every one-token extension of every beam
    parent: Tensor  # (B, K) the beam each survivor extends
    token: Tensor  # (B, K) the token it adds
    score: Tensor  # (B, K) the survivors' log p, best first
    done: Tensor  # (B, K) whether the survivor has written <eos>


@torch.no_grad()
def beam_steps(
    model: Seq2SeqModel, x_raw: Tensor, steps: int, width: int, pin: Pin | None = None
) -> Iterator[BeamStep]:
    """Beam search of width K (module docstring), one BeamStep per decoder step; `pin`
    forces one step's attention."""
    B, K, O = x_raw.shape[0], width, model.output_size
    h, state, src_mask = model.start(x_raw)
    rows = torch.arange(B, device=x_raw.device).repeat_interleave(K)  # (B*K,)
    h, src_mask, state = h[rows], src_mask[rows], _take(state, rows)
    score = h.new_full((B, K), float("-inf"))  # log p of each prefix
    score[:, 0] = 0.0  # one live prefix, the empty one, at first
    done = torch.zeros(B, K, dtype=torch.bool, device=x_raw.device)
    after_eos = h.new_full((O,), float("-inf"))
    after_eos[model.eos] = 0.0
    tokens = torch.full((B * K,), model.bos, dtype=torch.int64, device=x_raw.device)
    for t in range(steps):
        forced = pin.alpha.to(h)[rows] if pin is not None and pin.step == t else None
        logits, state, alpha = model.step(tokens, state, h, src_mask, forced)
        logp = logits.float().log_softmax(-1).view(B, K, O)
        extended = score[..., None] + torch.where(done[..., None], after_eos, logp)
        candidates = extended.view(B, K * O)
        score, best = candidates.topk(K, dim=-1)  # (B, K)
        parent, token = best // O, best % O  # (B, K)
        done = done.gather(1, parent) | (token == model.eos)
        flat = (torch.arange(B, device=x_raw.device)[:, None] * K + parent).view(-1)
        state, tokens = _take(state, flat), token.view(-1)
        yield BeamStep(
            logp=logp,
            alpha=None if alpha is None else alpha.view(B, K, -1),
            candidates=candidates,
            parent=parent,
            token=token,
            score=score,
            done=done,
        )


def _gather(prefixes: Tensor, parent: Tensor) -> Tensor:
    """The prefixes (B, K, t) that the surviving beams (B, K) extend."""
    return prefixes.gather(1, parent[..., None].expand(-1, -1, prefixes.shape[-1]))


def _take(state, rows: Tensor):
    """The decoder state (L, B, H), or a tuple (h, c) of them, at batch rows `rows`."""
    if isinstance(state, tuple):
        return tuple(s[:, rows] for s in state)
    return state[:, rows]
