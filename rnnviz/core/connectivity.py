"""Connectivity (Madsen 2019, "Visualizing memorization in RNNs", Distill): how strongly each
prediction depends on each earlier input.

For the probe batch's sequence 0, with x_s the cell input at step s (the one-hot vector or
the embedding of symbol s) and p_t the model's predicted distribution at step t,

    C[t, s] = ‖∂ ln p_t(y_t) / ∂x_s‖₂

the gradient of the log-probability of the target y_t (what the loss term at t is made of:
L_t = −ln p_t(y_t)) with respect to each input. A unidirectional model gives C[t, s] = 0 for
s > t (causality); a bidirectional one reads the whole sequence.

How: one backward pass per prediction would cost T passes. Instead the sequence is repeated
T times along the batch, copy t keeps only the term ln p_t(y_t), and one batched forward and
backward pass gives every row at once; autograd's gradient with respect to the copies' inputs
is C's rows before the norm. A unidirectional model needs steps 0…t only for row t, so the
copies run in blocks, each block only as far as its last row (about half the work). The
recurrent weights are detached: no weight gradient is computed.

Cost: about T²/2 sequence-steps of forward and backward (T² bidirectional), against B·T for
one pass over the probe batch, so it is computed only where it fits CONNECTIVITY_BUDGET (the
trace's meta["connectivity"] says why not).

Shapes: T time, I cell input, O outputs (symbols).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.func import functional_call

from rnnviz.core.cells import CELLS
from rnnviz.core.config import Config
from rnnviz.core.cudnn import fused_rnns_training

# Multiply-adds of the recurrent layers over all copies (T²/2 steps each G H (I + H), per
# layer and direction): 1.1e9 took 0.19 s, 4.4e9 0.59 s on one core (bench_connectivity.py).
CONNECTIVITY_BUDGET = 2e9
CONNECTIVITY = "computed for sequence 0: C[t, s] = ||d ln p_t(y_t) / dx_s||"  # meta
BLOCKS = 8  # copies run in this many blocks of rows (each only as far as its last row)


def step_work(config: Config, input_size: int) -> float:
    """Multiply-adds of one step of one sequence through the recurrent layers (forward) whose
    cell input has `input_size` features; a baseline without recurrence (the bag of words)
    only adds its input up."""
    if config.cell not in CELLS:
        return float(input_size)
    G, H = len(CELLS[config.cell].blocks), config.hidden
    D = 2 if config.bidirectional else 1
    return float(
        sum(D * G * H * ((input_size if k == 0 else D * H) + H) for k in range(config.layers))
    )


def connectivity_work(config: Config, input_size: int, seq_len: int) -> float:
    """Multiply-adds of the recurrent layers for C of one sequence of `seq_len` steps whose
    cell input has `input_size` features."""
    T = seq_len
    steps = T * T if config.bidirectional else T * (T + 1) / 2
    return 3.0 * steps * step_work(config, input_size)  # forward, and twice that backward


def connectivity_skip_reason(
    config: Config, kind: str, input_size: int, seq_len: int
) -> str | None:
    """None when C is computed for a model of `config` on a task of this kind, else why not,
    for a person (the trace's meta["connectivity"])."""
    if kind != "classification":
        return "skipped: the task predicts no symbols (connectivity needs ln p_t(y_t))"
    work = connectivity_work(config, input_size, seq_len)
    if work > CONNECTIVITY_BUDGET:
        return (
            f"skipped: T = {seq_len}, H = {config.hidden} would cost {work:.2g} multiply-adds, "
            f"over the recording budget of {CONNECTIVITY_BUDGET:.0g} (about 0.3 s of one core)"
        )
    return None


def connectivity_matrix(model, x: Tensor, y: Tensor, past=None) -> Tensor:
    """C[t, s] = ‖∂ ln p_t(y_t) / ∂x_s‖₂ for one sequence: x (T, I) its cell inputs, y (T,)
    its target ids, `past` what a model that reads its past read for it (model.Past of one
    sequence: RecurrentModel.output); returns (T, T) float32 on x's device (module docs).

    `model` is a RecurrentModel (its `rnn` stack with detached weights, and its `output`).
    """
    T = x.shape[0]
    rnn = {n: p.detach() for n, p in model.rnn.named_parameters()}
    out = torch.zeros(T, T, dtype=torch.float32, device=x.device)
    bidirectional = model.config.bidirectional
    bounds = torch.linspace(0, T, min(BLOCKS, T) + 1).round().long().tolist()
    with torch.enable_grad(), fused_rnns_training(model.rnn):  # cuDNN's rule (cudnn.py)
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if hi <= lo:
                continue
            n = T if bidirectional else hi  # a row t < hi needs steps 0…t only
            xs = x[:n].expand(hi - lo, n, x.shape[1]).clone().requires_grad_(True)  # (R, n, I)
            h, _ = functional_call(model.rnn, rnn, (xs,))  # (R, n, D*H)
            rows = torch.arange(lo, hi, device=x.device)  # the prediction each copy keeps
            at = h[rows - lo, rows]  # (R, D*H): copy r's state at its own step t = lo + r
            y_hat = model.output(at, None if past is None else past.select(rows))  # (R, O)
            logp = F.log_softmax(y_hat, -1)
            (grad,) = torch.autograd.grad(logp[rows - lo, y[rows]].sum(), xs)  # (R, n, I)
            out[lo:hi, :n] = grad.norm(dim=-1).float()
    return out
