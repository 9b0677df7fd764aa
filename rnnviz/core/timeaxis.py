"""The recorder's helpers along the time axis: processing order, shifts by one step, and
element-wise scans. Tensors are (B, T, ...) with time on axis 1."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def order(a: Tensor, reverse: bool) -> Tensor:
    """Time in processing order: a reverse direction reads t = T-1 … 0."""
    return torch.flip(a, (1,)) if reverse else a


def prev(h: Tensor) -> Tensor:
    """h_{t-1} in processing order, with h_{-1} = 0.  (B, T, H) -> (B, T, H)."""
    return torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], 1)


def next_step(a: Tensor) -> Tensor:
    """a_{t+1} in processing order, with zero after the last step."""
    return torch.cat([a[:, 1:], torch.zeros_like(a[:, :1])], 1)


def scan(a: Tensor, b: Tensor, backward: bool) -> Tensor:
    """y_t = a_t * y_{t-1} + b_t (or y_t = a_t * y_{t+1} + b_t backward), y = 0 outside.

    An element-wise recurrence along T, run in numpy where a step costs about a microsecond.
    """
    a_np, b_np = a.cpu().numpy(), b.cpu().numpy()
    y = np.empty_like(b_np)
    acc = np.zeros_like(b_np[:, 0])
    with np.errstate(over="ignore", invalid="ignore"):  # as torch: inf/nan propagate silently
        for t in reversed(range(b_np.shape[1])) if backward else range(b_np.shape[1]):
            np.multiply(a_np[:, t], acc, out=acc)
            acc += b_np[:, t]
            y[:, t] = acc
    return torch.from_numpy(y).to(a.device)
