"""Recurrent cells written as the lecture equations — the file a learner reads.

Each step function takes one timestep's input x_t and the previous state and returns the new
state plus a dict of every intermediate value (gates, pre-activations), so that the recorder
can show them. Parameters are laid out exactly as in `torch.nn.RNN/LSTM/GRU`:

    weight_ih (G*H, I), weight_hh (G*H, H), bias_ih (G*H,), bias_hh (G*H,)

with the gate blocks stacked in torch's order: LSTM (i, f, g, o), GRU (r, z, n). The
peephole LSTM adds diagonal peephole weights weight_ch (3*H,) for (i, f, o); the simplified
GRU keeps only the update gate: blocks (z, n).

Shapes: B batch, I input features, H hidden units.

`CELLS` at the end is the registry: one `CellSpec` per cell states its gates, its state, its
step function and its fused torch class once, and everything else (config's choices, the
trace, the recorder, the analysis, the panels) reads it there. A new cell is a step function
here, one `CellSpec` (and, for the window, a diagram layout).

This module does not import torch (the step functions use tensor methods: `a.sigmoid()` for
sigma(a)), so the configuration, `rnnviz --help` and the window can read the registry without
the seconds torch takes to load.

References: Elman (1990); Hochreiter & Schmidhuber (1997); Gers & Schmidhuber (2000) for
peepholes; Cho et al. (2014) for the GRU; PyTorch `torch/nn/modules/rnn.py` for the layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    h_new = a.tanh() if nonlinearity == "tanh" else a.relu()
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
    i, f, g, o = ai.sigmoid(), af.sigmoid(), ag.tanh(), ao.sigmoid()
    c_new = f * c + i * g
    h_new = o * c_new.tanh()
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
    i = (ai + w_ci * c).sigmoid()
    f = (af + w_cf * c).sigmoid()
    g = ag.tanh()
    c_new = f * c + i * g
    o = (ao + w_co * c_new).sigmoid()
    h_new = o * c_new.tanh()
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
    r = (ir + hr).sigmoid()
    z = (iz + hz).sigmoid()
    n = (i_n + r * hn).tanh()
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
    z = az.sigmoid()
    n = an.tanh()
    h_new = (1 - z) * n + z * h
    return h_new, {"z": z, "n": n}


# ------------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Gate:
    """One gate; a letter names the same gate in every cell (z is the update gate of both GRUs)."""

    name: str  # "f"
    word: str  # what the lessons call it: "forget gate"
    sigmoid: bool  # squashed into [0, 1] by a sigmoid; else a tanh candidate in [-1, 1]


@dataclass(frozen=True)
class Carry:
    """The gate on a cell's direct path from t-1 to t: along that path the backward factor is
    the gate itself (the LSTM's constant error carousel, the GRU's carry)."""

    gate: str  # "f" or "z"
    word: str  # what the factor is called there: "forget gate", "carry"
    path: str  # "cell path" (c_{t-1} -> c_t) or "carry path" (h_{t-1} -> h_t)
    lecture: str = ""  # the lecture's name for the same factor where it differs: "1 − z"


@dataclass(frozen=True)
class CellSpec:
    """Everything rnnviz needs to know about one cell, stated once."""

    name: str  # the Config value: "peephole-lstm"
    label: str  # for people: "Peephole LSTM"
    gates: tuple[Gate, ...]  # recorded gates, in torch's block order; () for the Elman RNN
    cell_state: bool  # the state is (h, c) rather than h
    step: Callable  # one timestep: (x, state, CellParams[, nonlinearity]) -> (state, values)
    fused: str | None = None  # the torch.nn class that runs it fused ("LSTM"); None: step by step
    carry: Carry | None = None  # the gate on the direct path, if any
    nonlinearities: tuple[str, ...] = ()  # activations a user may choose (passed to `step`)
    peephole: bool = False  # the gates also read c through diagonal weights weight_ch (3H,)

    @property
    def gate_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.gates)

    @property
    def blocks(self) -> tuple[str, ...]:
        """The blocks stacked in weight_ih and weight_hh (G of them), in torch's order: the
        gates, or "h" for the Elman RNN's single block (its W_hh)."""
        return self.gate_names or ("h",)


# Every gate of every cell, by the letter that names it in torch's documentation.
GATES: dict[str, Gate] = {
    g.name: g
    for g in (
        Gate("i", "input gate", sigmoid=True),
        Gate("f", "forget gate", sigmoid=True),
        Gate("g", "candidate", sigmoid=False),
        Gate("o", "output gate", sigmoid=True),
        Gate("r", "reset gate", sigmoid=True),
        Gate("z", "update gate", sigmoid=True),
        Gate("n", "candidate", sigmoid=False),
    )
}
CELL_PATH = Carry("f", "forget gate", "cell path")
# Torch's z keeps the old state, h_t = (1 - z_t) n_t + z_t h_{t-1}; Cho et al. swap z and 1 - z.
CARRY_PATH = Carry("z", "carry", "carry path", lecture="1 − z")


def _gates(letters: str) -> tuple[Gate, ...]:
    return tuple(GATES[c] for c in letters)


CELLS: dict[str, CellSpec] = {
    spec.name: spec
    for spec in (
        CellSpec(
            "rnn",
            "Elman RNN",
            gates=(),
            cell_state=False,
            step=rnn_step,
            fused="RNN",
            nonlinearities=("tanh", "relu"),
        ),
        CellSpec(
            "lstm",
            "LSTM",
            gates=_gates("ifgo"),
            cell_state=True,
            step=lstm_step,
            fused="LSTM",
            carry=CELL_PATH,
        ),
        CellSpec(
            "peephole-lstm",
            "Peephole LSTM",
            gates=_gates("ifgo"),
            cell_state=True,
            step=peephole_lstm_step,
            carry=CELL_PATH,
            peephole=True,
        ),
        CellSpec(
            "gru",
            "GRU",
            gates=_gates("rzn"),
            cell_state=False,
            step=gru_step,
            fused="GRU",
            carry=CARRY_PATH,
        ),
        CellSpec(
            "simple-gru",
            "Simplified GRU",
            gates=_gates("zn"),
            cell_state=False,
            step=simple_gru_step,
            carry=CARRY_PATH,
        ),
    )
}


def step(cell: str, nonlinearity: str, x: Tensor, state, p: CellParams):
    """One timestep of `cell`; state is h, or (h, c) for cells with a cell state."""
    spec = CELLS[cell]
    if spec.nonlinearities:
        return spec.step(x, state, p, nonlinearity)
    return spec.step(x, state, p)
