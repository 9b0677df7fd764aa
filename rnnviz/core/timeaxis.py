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
    numpy, on the tensors' memory: an operation there costs about 1 µs against torch's
    4-8 µs. One LSTM scan at B = 1, H = 128 measured 0.05 ms in numpy against 0.2 ms in
    torch at T = 50, 0.2 against 0.5 ms at T = 200, 1.2 against 1.4 ms at T = 1000 (its two
    scans were 12% of a recording at T = 50). The products are the loop's, associated
    differently; a factor 0 resets y exactly, and inf/nan propagate as they would in the loop.
    """
    if b.device.type != "cpu":
        return _scan_torch(a, b, backward)
    y = b.detach().numpy().copy()
    with np.errstate(over="ignore", invalid="ignore"):  # inf * 0 is NaN here as in the loop
        _hillis_steele(y, a.detach().numpy()[:, 1:].copy(), backward)
    return torch.from_numpy(y)


def _scan_torch(a: Tensor, b: Tensor, backward: bool) -> Tensor:
    """scan on any device, in torch."""
    y = b.clone()
    _hillis_steele(y, a[:, 1:].clone(), backward)
    return y


def _hillis_steele(y, links, backward: bool) -> None:
    """scan in place on y (B, T, ...), a numpy array or a tensor, with links = a_1 … a_{T-1}
    (B, T-1, ...), overwritten: links[k] is the factor between steps k and k+1.

    After the pass with offset d, y_t holds the recurrence started d steps back (forward) or
    ahead (backward), and links[k] a product of d consecutive factors: those that carry
    y_{t-d} to y_t at k = t-1 (forward), y_{t+d} to y_t at k = t (backward) -- where 2d < T:
    the last pass needs no products. Both directions slice forwards: a backward scan on
    reversed numpy views took twice as long as a forward one (2.2 against 1.1 ms at B = 1,
    H = 128, T = 1000), and torch would have flipped copies. The right-hand sides are whole
    temporaries, so overlapping slices are read before they are written."""
    T, d = y.shape[1], 1
    while d < T:
        n = T - d
        if backward:
            y[:, :n] += links[:, :n] * y[:, d:]
            if 2 * d < T:
                links[:, : n - 1] = links[:, : n - 1] * links[:, d:]
        else:
            y[:, d:] += links[:, d - 1 :] * y[:, :n]
            if 2 * d < T:
                links[:, d:] = links[:, d:] * links[:, : n - 1]
        d *= 2
