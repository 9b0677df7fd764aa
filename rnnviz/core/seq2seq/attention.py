r"""Attention: at every decoder step a distribution over the encoder's steps, and the context
vector it weighs out of the encoder's states.

For decoder state s_t (the top layer's, H_s) and encoder states h_1 … h_n (H_e each):

.. math::
    e_{t,j} = \mathrm{score}(s_t, h_j)
    \alpha_{t,j} = \frac{\exp e_{t,j}}{\sum_{k} \exp e_{t,k}}      (over unpadded j only)
    c_t = \sum_j \alpha_{t,j} h_j

with the score

    additive (Bahdanau, Cho & Bengio 2015)   e_{t,j} = v^T \tanh(W_s s_t + W_h h_j)
    dot      (Luong, Pham & Manning 2015)    e_{t,j} = s_t^T h_j      (needs H_s = H_e)

where W_s (A, H_s), W_h (A, H_e) and v (A,) are learned, A the attention width. The query is
the decoder's current state s_t, as in Luong et al.'s global attention (Bahdanau et al. query
with s_{t-1} and feed c_t into the cell): so under teacher forcing the decoder runs as one
fused pass and attention follows for every step at once. `none` has no attention: the decoder
sees the input only through the state it starts from, the bottleneck.

Shapes: B batch, T decoder steps, N encoder steps, H_s decoder state, H_e encoder state.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class AdditiveAttention(nn.Module):
    r"""e_{t,j} = v^T tanh(W_s s_t + W_h h_j) (Bahdanau et al. 2015)."""

    def __init__(self, query_size: int, key_size: int, width: int) -> None:
        super().__init__()
        self.query = nn.Linear(query_size, width, bias=False)  # W_s
        self.key = nn.Linear(key_size, width, bias=False)  # W_h
        self.v = nn.Linear(width, 1, bias=False)  # v

    def scores(self, s: Tensor, h: Tensor) -> Tensor:
        """s (B, T, H_s), h (B, N, H_e) -> e (B, T, N)."""
        hidden = torch.tanh(self.query(s)[:, :, None] + self.key(h)[:, None])  # (B, T, N, A)
        return self.v(hidden).squeeze(-1)


class DotAttention(nn.Module):
    r"""e_{t,j} = s_t^T h_j (Luong et al. 2015): no parameters."""

    def scores(self, s: Tensor, h: Tensor) -> Tensor:
        """s (B, T, H), h (B, N, H) -> e (B, T, N)."""
        return s @ h.transpose(1, 2)


def attend(scores: Tensor, h: Tensor, src_mask: Tensor) -> tuple[Tensor, Tensor]:
    """alpha = softmax of the scores over the unpadded encoder steps; c = alpha h.

    scores (B, T, N), h (B, N, H_e), src_mask (B, N) True where the input is real
    -> context c (B, T, H_e), alpha (B, T, N) with every row summing to 1.
    """
    alpha = scores.masked_fill(~src_mask[:, None], float("-inf")).softmax(-1)  # (B, T, N)
    return alpha @ h, alpha


def build_attention(kind: str, query_size: int, key_size: int) -> nn.Module | None:
    """The attention module of `kind` (seq2seq.ATTENTIONS); None for none."""
    if kind == "additive":
        return AdditiveAttention(query_size, key_size, width=query_size)
    if kind == "dot":
        return DotAttention()
    return None
