"""Recurrent cells written as the lecture equations — the file a learner reads.

Each step function takes one timestep's input x_t and the previous state and returns the new
state plus a dict of every intermediate value (gates, pre-activations), so that the recorder
can show them. Parameters are laid out exactly as in `torch.nn.RNN/LSTM/GRU`:

    weight_ih (G*H, I), weight_hh (G*H, H), bias_ih (G*H,), bias_hh (G*H,)

with the gate blocks stacked in torch's order: LSTM (i, f, g, o), GRU (r, z, n). The
peephole LSTM adds diagonal peephole weights weight_ch (3*H,) for (i, f, o); the simplified
GRU keeps only the update gate: blocks (z, n).

Shapes: B batch, I input features, H hidden units.

References: Elman (1990); Hochreiter & Schmidhuber (1997); Gers & Schmidhuber (2000) for
peepholes; Cho et al. (2014) for the GRU; PyTorch `torch/nn/modules/rnn.py` for the layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class CellParams:
    """The parameters of one layer and direction (views of the model's nn.Parameters)."""

    weight_ih: Tensor  # (G*H, I)
    weight_hh: Tensor  # (G*H, H)
    bias_ih: Tensor  # (G*H,)
    bias_hh: Tensor  # (G*H,)
    weight_ch: Tensor | None = None  # (3*H,) peephole LSTM only


def rnn_step(
    x: Tensor, h: Tensor, p: CellParams, nonlinearity: str = "tanh"
) -> tuple[Tensor, dict[str, Tensor]]:
    r"""Elman RNN.

    .. math::
        a_t = W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}
        h_t = f(a_t), \quad f = \tanh \text{ or } \mathrm{ReLU}

    where a_t is the pre-activation. x (B, I), h (B, H) -> h_t (B, H).
    """
    a = x @ p.weight_ih.T + p.bias_ih + h @ p.weight_hh.T + p.bias_hh  # (B, H)
    h_new = torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)
    return h_new, {"a": a}


def lstm_step(
    x: Tensor, state: tuple[Tensor, Tensor], p: CellParams
) -> tuple[tuple[Tensor, Tensor], dict[str, Tensor]]:
    r"""Long short-term memory.

    .. math::
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})      (store / input gate)
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})      (forget gate)
        g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})       (candidate)
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})      (output gate)
        c_t = f_t \odot c_{t-1} + i_t \odot g_t                         (update)
        h_t = o_t \odot \tanh(c_t)                                       (output)

    where c_t is the cell state — the "conveyor belt" the gradient can ride unchanged
    while f_t is near 1. x (B, I), h and c (B, H).
    """
    h, c = state
    gi = x @ p.weight_ih.T + p.bias_ih  # (B, 4H)
    gh = h @ p.weight_hh.T + p.bias_hh  # (B, 4H)
    ai, af, ag, ao = (gi + gh).chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(ai), torch.sigmoid(af), torch.tanh(ag), torch.sigmoid(ao)
    c_new = f * c + i * g
    h_new = o * torch.tanh(c_new)
    return (h_new, c_new), {"i": i, "f": f, "g": g, "o": o}


def peephole_lstm_step(
    x: Tensor, state: tuple[Tensor, Tensor], p: CellParams
) -> tuple[tuple[Tensor, Tensor], dict[str, Tensor]]:
    r"""LSTM with peephole connections (Gers & Schmidhuber 2000): the gates also see the cell.

    .. math::
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi} + w_{ci} \odot c_{t-1})
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf} + w_{cf} \odot c_{t-1})
        g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})
        c_t = f_t \odot c_{t-1} + i_t \odot g_t
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho} + w_{co} \odot c_t)
        h_t = o_t \odot \tanh(c_t)

    where w_ci, w_cf, w_co are diagonal (element-wise) peephole weights, stored as
    weight_ch = [w_ci; w_cf; w_co] (3H,). With weight_ch = 0 this is the plain LSTM.
    """
    h, c = state
    w_ci, w_cf, w_co = p.weight_ch.chunk(3)
    ai, af, ag, ao = (x @ p.weight_ih.T + p.bias_ih + h @ p.weight_hh.T + p.bias_hh).chunk(4, -1)
    i = torch.sigmoid(ai + w_ci * c)
    f = torch.sigmoid(af + w_cf * c)
    g = torch.tanh(ag)
    c_new = f * c + i * g
    o = torch.sigmoid(ao + w_co * c_new)
    h_new = o * torch.tanh(c_new)
    return (h_new, c_new), {"i": i, "f": f, "g": g, "o": o}


def gru_step(x: Tensor, h: Tensor, p: CellParams) -> tuple[Tensor, dict[str, Tensor]]:
    r"""Gated recurrent unit (Cho et al. 2014), in PyTorch's form.

    .. math::
        r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})            (reset gate)
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})            (update gate)
        n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))  (candidate)
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    where z_t near 1 keeps the old state (the gradient passes through with factor z_t)
    and r_t near 0 lets the candidate ignore the past.
    """
    gi = x @ p.weight_ih.T + p.bias_ih  # (B, 3H)
    gh = h @ p.weight_hh.T + p.bias_hh  # (B, 3H)
    ir, iz, i_n = gi.chunk(3, -1)
    hr, hz, hn = gh.chunk(3, -1)
    r = torch.sigmoid(ir + hr)
    z = torch.sigmoid(iz + hz)
    n = torch.tanh(i_n + r * hn)
    h_new = (1 - z) * n + z * h
    return h_new, {"r": r, "z": z, "n": n}


def simple_gru_step(x: Tensor, h: Tensor, p: CellParams) -> tuple[Tensor, dict[str, Tensor]]:
    r"""The simplified GRU that lectures use to introduce gating: an update gate only.

    .. math::
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})   (update gate)
        n_t = \tanh(W_{in} x_t + b_{in} + W_{hn} h_{t-1} + b_{hn})    (candidate)
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Parameter blocks are (z, n): weight_ih (2H, I), weight_hh (2H, H).
    """
    az, an = (x @ p.weight_ih.T + p.bias_ih + h @ p.weight_hh.T + p.bias_hh).chunk(2, -1)
    z = torch.sigmoid(az)
    n = torch.tanh(an)
    h_new = (1 - z) * n + z * h
    return h_new, {"z": z, "n": n}


# Number of stacked gate blocks G in weight_ih / weight_hh, per cell.
GATE_BLOCKS = {"rnn": 1, "lstm": 4, "peephole-lstm": 4, "gru": 3, "simple-gru": 2}
# Cells whose state is (h, c) rather than h alone.
HAS_CELL_STATE = frozenset({"lstm", "peephole-lstm"})


def step(cell: str, nonlinearity: str, x: Tensor, state, p: CellParams):
    """Dispatch one timestep of `cell`; state is h, or (h, c) for the LSTMs."""
    if cell == "rnn":
        return rnn_step(x, state, p, nonlinearity)
    if cell == "lstm":
        return lstm_step(x, state, p)
    if cell == "peephole-lstm":
        return peephole_lstm_step(x, state, p)
    if cell == "gru":
        return gru_step(x, state, p)
    if cell == "simple-gru":
        return simple_gru_step(x, state, p)
    raise ValueError(f"unknown cell {cell!r}")
