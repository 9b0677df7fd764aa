"""Decoding without the targets: each step feeds the decoder the token it chose before.

Beam search (width K) keeps, for every sequence, the K output prefixes with the highest
log-probability log p(y_1 … y_t | x) = sum_t log softmax(y_hat_t)[y_t]. At each step every
prefix is extended by every class, and the K best of the K·O candidates survive; a prefix
that has written <eos> is finished and only extends by <eos> again, at no cost. The answer
is the best prefix after `steps` steps. With K = 1 this is greedy decoding: the most likely
token at every step.

Shapes: B batch, K beam width, N encoder steps, O output classes.
"""

from __future__ import annotations

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
def beam_search(model: Seq2SeqModel, x_raw: Tensor, steps: int, width: int) -> Tensor:
    """The best of `width` beams (module docstring): (B, N) input ids -> (B, steps) ids."""
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
    prefixes = torch.zeros(B, K, 0, dtype=torch.int64, device=x_raw.device)
    for _ in range(steps):
        logits, state, _ = model.step(tokens, state, h, src_mask)
        logp = logits.float().log_softmax(-1).view(B, K, O)
        logp = torch.where(done[..., None], after_eos, logp)
        score, best = (score[..., None] + logp).view(B, K * O).topk(K, dim=-1)  # (B, K)
        parent, token = best // O, best % O  # (B, K)
        prefixes = torch.cat([_gather(prefixes, parent), token[..., None]], -1)
        done = done.gather(1, parent) | (token == model.eos)
        flat = (torch.arange(B, device=x_raw.device)[:, None] * K + parent).view(-1)
        state, tokens = _take(state, flat), token.view(-1)
    return prefixes[:, 0]


def _gather(prefixes: Tensor, parent: Tensor) -> Tensor:
    """The prefixes (B, K, t) that the surviving beams (B, K) extend."""
    return prefixes.gather(1, parent[..., None].expand(-1, -1, prefixes.shape[-1]))


def _take(state, rows: Tensor):
    """The decoder state (L, B, H), or a tuple (h, c) of them, at batch rows `rows`."""
    if isinstance(state, tuple):
        return tuple(s[:, rows] for s in state)
    return state[:, rows]
