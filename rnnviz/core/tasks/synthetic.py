"""Synthetic tasks: a sine wave, the adding problem and the copy-memory task (see the registry
in rnnviz/core/tasks/__init__.py for their references). Each generates batches from a
torch.Generator and knows its held-out baseline.

Shapes: B batch, T time.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from rnnviz.core.config import ConfigError
from rnnviz.core.tasks.base import Batch, Task, masked_loss, numpy


class SineTask(Task):
    """x_t = sin(w t + phi) with w ~ U[0.1, 0.4] rad/step and phi ~ U[0, 2 pi); y_t = x_{t+1}.

    Periods run from 16 to 63 steps, so a default sequence (T = 50) shows about one to three of
    them: enough for the network to read the frequency off the first few steps.
    """

    name = "sine"
    input_size = output_size = 1
    chance_loss = 0.5  # the constant 0; over a uniform phase E[sin^2] = 1/2 at every step
    mask_rule = "at every step"
    omega_range = (0.1, 0.4)

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        B, T = batch, self.seq_len
        lo, hi = self.omega_range
        omega = lo + (hi - lo) * torch.rand(B, 1, generator=gen)  # (B, 1)
        phase = 2 * math.pi * torch.rand(B, 1, generator=gen)  # (B, 1)
        t = torch.arange(T + 1, dtype=torch.float32)  # (T+1,)
        wave = torch.sin(omega * t + phase)  # (B, T+1)
        return Batch(wave[:, :-1, None], wave[:, 1:, None], torch.ones(B, T))

    def heldout_baseline(self, batch: Batch) -> float:
        """The MSE of repeating the last value, y_hat_t = x_t: what a network that only
        copies its input scores."""
        return float(masked_loss(self.kind, batch.x.double(), batch.y.double(), batch.mask))


class AddingTask(Task):
    """x_t = (v_t, m_t): v_t ~ U[0, 1], m_t a marker with one 1 in each half; y = sum of the
    two marked v, scored only at the last step, when the network has seen both."""

    name = "adding"
    input_size, output_size = 2, 1
    # The sum of two U[0, 1] has mean 1 and variance 2/12, so the constant 1 scores MSE 1/6.
    chance_loss = 1 / 6
    mask_rule = "only at the last step t = T-1"

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        B, T = batch, self.seq_len
        rows = torch.arange(B)
        values = torch.rand(B, T, generator=gen)  # (B, T)
        first = torch.randint(0, T // 2, (B,), generator=gen)  # (B,) in the first half
        second = torch.randint(T // 2, T, (B,), generator=gen)  # (B,) in the second half
        markers = torch.zeros(B, T)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        total = values[rows, first] + values[rows, second]  # (B,)
        x = torch.stack([values, markers], dim=-1)  # (B, T, 2)
        y = total[:, None, None].expand(B, T, 1).contiguous()  # (B, T, 1)
        mask = torch.zeros(B, T)
        mask[:, -1] = 1.0
        return Batch(x, y, mask)

    def heldout_baseline(self, batch: Batch) -> float:
        return self.chance_loss  # the constant 1; exact, where the batch's MSE would be noisy

    def describe_input(self, x_raw_bt: Any) -> str:
        value, marker = numpy(x_raw_bt).reshape(-1)
        return f"{value:.2f}, marker {int(marker)}"


class CopyTask(Task):
    """Input: n_copy data symbols, `delay` blanks, the delimiter ':', n_copy blanks. Output:
    blanks, then the n_copy data symbols during the last n_copy steps, where alone mask = 1.

    n_copy = min(5, (T-1) // 2) and delay = T - 2 n_copy - 1, so every T >= 4 fits. Output
    class ids equal input symbol ids (A..H = 0..7, blank = 8); the delimiter is never a target.
    """

    name = "copy"
    input_vocab = (*"ABCDEFGH", "_", ":")
    output_vocab = input_vocab[:9]
    input_size, output_size = len(input_vocab), len(output_vocab)
    # Guessing among the 8 data symbols; a constant predictor can push p(blank) to 0 only
    # in the limit, so ln 8 is the infimum.
    chance_loss = math.log(8)
    n_data, blank, delimiter = 8, 8, 9

    def __init__(self, seq_len: int) -> None:
        super().__init__(seq_len)
        if seq_len < self.spec.min_seq_len:
            raise ConfigError(
                f"the copy task needs a sequence length of at least {self.spec.min_seq_len}"
            )
        self.n_copy = min(5, (seq_len - 1) // 2)
        self.delay = seq_len - 2 * self.n_copy - 1
        self.mask_rule = f"only at the last {self.n_copy} steps, where the symbols are recalled"

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        B, T, n = batch, self.seq_len, self.n_copy
        data = torch.randint(0, self.n_data, (B, n), generator=gen)  # (B, n)
        x = torch.full((B, T), self.blank, dtype=torch.int64)  # (B, T)
        x[:, :n] = data
        x[:, T - n - 1] = self.delimiter
        y = torch.full((B, T), self.blank, dtype=torch.int64)  # (B, T)
        y[:, T - n :] = data
        mask = torch.zeros(B, T)
        mask[:, T - n :] = 1.0
        return Batch(x, y, mask)

    # The held-out sequences come from a stream of their own but are not a set disjoint from
    # training's: of the 8^n_copy possible ones (32768 at n_copy = 5) a long run meets some,
    # yet no network here can memorise them all, so the score measures recall.
    def heldout_baseline(self, batch: Batch) -> float:
        return 1 / self.n_data  # guessing among the data symbols
