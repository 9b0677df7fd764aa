"""The recorder's helpers along the time axis: processing order, shifts by one step, and
element-wise scans. Tensors are (B, T, ...) with time on axis 1."""

from __future__ import annotations

import torch
from torch import Tensor


def order(a: Tensor, reverse: bool) -> Tensor:
    """Time in processing order: a reverse direction reads t = T-1 … 0."""
    return torch.flip(a, (1,)) if reverse else a


def prev(h: Tensor, first: Tensor | None = None) -> Tensor:
    """h_{t-1} in processing order, with h_{-1} = `first` (B, H), or 0.  (B, T, H) -> (B, T, H)."""
    start = torch.zeros_like(h[:, :1]) if first is None else first[:, None].to(h.dtype)
    return torch.cat([start, h[:, :-1]], 1)


def next_step(a: Tensor) -> Tensor:
    """a_{t+1} in processing order, with zero after the last step."""
    return torch.cat([a[:, 1:], torch.zeros_like(a[:, :1])], 1)


def scan(a: Tensor, b: Tensor, backward: bool) -> Tensor:
    """y_t = a_t * y_{t-1} + b_t (or y_t = a_t * y_{t+1} + b_t backward), y = 0 outside.

    A linear recurrence along T, as a Hillis-Steele scan: after the pass with offset d, y_t
    holds the recurrence started d steps back and A_t the product of those d factors, so
    ceil(log2 T) passes of whole-tensor operations replace T steps of a loop (at T = 1000,
    2 ms instead of 10). The products are the loop's, associated differently; a factor 0
    resets y exactly, and inf/nan propagate as they would in the loop.
    """
    if backward:
        return torch.flip(scan(torch.flip(a, (1,)), torch.flip(b, (1,)), False), (1,))
    y, A = b.clone(), a.clone()
    T, d = y.shape[1], 1
    while d < T:
        y[:, d:] = torch.addcmul(y[:, d:], A[:, d:], y[:, :-d])
        if 2 * d < T:  # the last pass needs no products
            A[:, d:] = A[:, d:] * A[:, :-d]
        d *= 2
    return y
