"""The order-blind baseline, `--cell bow`: the mean of the word embeddings into the same head.

    m_t     = (1 / n_t) sum_{s <= t, x_s not <pad>} e(x_s)      (running mean, (B, T, I))
    y_hat_t = W_head m_t + b_head

where e is the task's input encoder (a learned embedding, or one-hot) and n_t the words read
by t. At the last word m is the mean of the whole sentence: a bag of words, the same for every
order of the same words, which is the point: on the sentiment task's pairs of sentences with
the same words and opposite labels it can be right only once. Its y_hat_t at an earlier t is
what it would answer if the sentence stopped there. It has no recurrence: no gates, no W_hh,
nothing for the Jacobian chain; a model kind (model.MODEL_KINDS), not a cell (cells.CELLS).

Shapes: B batch, T time, I embedding, O outputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnviz.core.config import Config
from rnnviz.core.model import InputReader


class BagOfWordsModel(InputReader):
    def __init__(self, config: Config, input_size: int, output_size: int) -> None:
        super().__init__(config, input_size)
        self.head = nn.Linear(self.cell_input_size, output_size)

    def running_mean(self, x_raw: Tensor) -> Tensor:
        """m_t (B, T, I): the mean of the encoded inputs up to t, padding left out."""
        e = self.encode(x_raw)  # (B, T, I)
        B, T = x_raw.shape[:2]
        n = self.lengths(x_raw)  # (B,) or None: every step is a word
        n = torch.full((B,), T) if n is None else n
        data = (torch.arange(T, device=e.device)[None] < n.to(e.device)[:, None]).to(e.dtype)
        seen = data.cumsum(1).clamp(min=1)[..., None]  # (B, T, 1) words read by t
        return (e * data[..., None]).cumsum(1) / seen

    def forward_with_state(self, x_raw: Tensor, hx=None):
        return self.head(self.running_mean(x_raw)), None
