"""The recorder's helpers along the time axis: processing order, shifts by one step, and
element-wise scans. Tensors are (B, T, ...) with time on axis 1."""

from __future__ import annotations

import numpy as np
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
    """y_t = a_t * y_{t-1} + b_t, or backward y_t = a_{t+1} * y_{t+1} + b_t; y = 0 outside.

    a_t is step t's own factor in both directions, as in BPTT: the LSTM's cell state runs
    forward as c_t = f_t c_{t-1} + …, its gradient back as dL/dc_t = f_{t+1} dL/dc_{t+1} + ….
    A linear recurrence along T, as a Hillis-Steele scan (_hillis_steele): ceil(log2 T)
    passes of whole-array operations replace T steps of a loop. On the CPU the passes run in
    numpy, on views of the tensors' memory: an operation there costs about 1 µs against
    torch's 4-8 µs, and a reversed view is free where torch.flip copies. One LSTM scan at
    B = 1, H = 128 measured 0.05 ms in numpy against 0.2 ms in torch at T = 50, 0.2 against
    0.5 ms at T = 200, 1.2 against 1.4 ms at T = 1000 (its two scans were 12% of a recording
    at T = 50). The products are the loop's, associated differently; a factor 0 resets y
    exactly, and inf/nan propagate as they would in the loop.
    """
    if b.device.type != "cpu":
        return _scan_torch(a, b, backward)
    y = b.detach().numpy().copy()
    a_np = a.detach().numpy()
    with np.errstate(over="ignore", invalid="ignore"):  # inf * 0 is NaN here as in the loop
        if backward:  # the forward scan on reversed views of y and of a_1 … a_{T-1}
            _hillis_steele(y[:, ::-1], a_np[:, :0:-1].copy())
        else:
            _hillis_steele(y, a_np[:, 1:].copy())
    return torch.from_numpy(y)


def _scan_torch(a: Tensor, b: Tensor, backward: bool) -> Tensor:
    """scan on any device, in torch (a reversed direction through flipped copies)."""
    y = torch.flip(b, (1,)) if backward else b.clone()
    links = torch.flip(a[:, 1:], (1,)) if backward else a[:, 1:].clone()
    _hillis_steele(y, links)
    return torch.flip(y, (1,)) if backward else y


def _hillis_steele(y, links) -> None:
    """y_t += links_{t-1} * y_{t-1} for t = 1 … T-1 in order, in place on y (B, T, ...), a
    numpy array or a tensor; `links` (B, T-1, ...) is overwritten.

    After the pass with offset d, y_t holds the recurrence started d steps back and links_{t-1}
    the product of the d factors that carry y_{t-d} to y_t (where 2d < T: the last pass needs
    no products). The right-hand sides are whole temporaries, so the overlapping slices of y
    and links are read before they are written."""
    T, d = y.shape[1], 1
    while d < T:
        y[:, d:] += links[:, d - 1 :] * y[:, :-d]
        if 2 * d < T:
            links[:, d:] = links[:, d:] * links[:, :-d]
        d *= 2
