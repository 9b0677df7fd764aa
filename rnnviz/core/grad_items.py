"""Itemized BPTT (issue 13; after Cashman et al., "RNNbow", 2018, but exact and untruncated):
the gradient dL_j/dh_t of each loss term L_j with respect to every hidden state h_t, for the
probe batch's sequence 0, every layer and direction, every cell.

The loss is a sum of per-step terms (tasks/base.py, masked_loss): L = sum_{b,j} L_{b,j} with
L_{b,j} = m[b,j] l(y_hat[b,j], y[b,j]) / sum m. Sequence 0's terms at its loss steps j (where
m[0,j] != 0) are the items; h_t of sequence 0 reaches no other sequence's terms, so

    sum_j dL_j/dh_t = dL/dh_t                          (the trace's grad_h[0, t])

and by causality dL_j/dh_t = 0 for t > j in a forward direction and t < j in a reverse one
(in the top layer; below a bidirectional layer the other direction carries h_t both ways).

How: L_j depends on h only through y_hat[0, j], so its gradient enters the top layer at step
j alone, as g_j^T d y_hat_j / d out_j with g_j = dL/dy_hat[0, j] (one autograd call through
the head for every j at once). From there it is backpropagated through time exactly as the
whole loss is, and linearly, so every item is carried at once: one backward recursion per
layer and direction carries the (T_loss, H) matrix of the items' dL_j/dh_t (and dL_j/dc_t)
through the one-step Jacobians of the recorded values (jacobian.step_coefficients, whose
parity with autograd the Jacobian norms test). Each step is one product with W_hh of the
items' gate pre-activation gradients dL_j/da_t, and these times W_ih are the items' gradient
at the layer's input, where the recursion of the layer below starts. An item is 0 before it
enters (causality): each step multiplies only the rows already entered. Against the fused
pass of the probe batch this costs about T_loss/2 times its backward products without the
forward (T_loss T for a bidirectional stack's lower layers), computed only where it fits
GRAD_ITEMS_BUDGET; the trace's meta["grad_items"] says why not.

Shapes: T time, H hidden, O outputs, R = T_loss sequence 0's loss steps, G gate blocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnviz.core.connectivity import step_work
from rnnviz.core.jacobian import STEP_COEFFICIENTS, step_coefficients
from rnnviz.core.model import RecurrentModel
from rnnviz.core.tasks.base import Batch, Task

# Multiply-adds of the recurrent layers over all items (grad_items_work). A recording pays for
# them while a panel that draws them is shown (SetGradItems): 6.4e8 took 26 ms of one loaded
# core (LSTM, H = 64, T = 200, charlm), 1.9e9 72 ms (LSTM, H = 128, T = 200): every cell at
# H <= 128, T <= 200 fits, in about a tenth of a second at most.
GRAD_ITEMS_BUDGET = 2e9
GRAD_ITEMS = "computed for sequence 0: grad_items[j, t] = dL_j/dh_t at its loss steps j"


def loss_steps(mask: Tensor) -> Tensor:
    """Sequence 0's loss steps j (where its mask is not 0), ascending: the items' rows."""
    return torch.nonzero(mask[0] != 0).flatten()


def grad_items_work(config: Any, input_size: int, steps: list[int], seq_len: int) -> float:
    """Multiply-adds of the recurrent layers to itemize the loss steps `steps` of one
    sequence of `seq_len` steps whose cell input has `input_size` features."""
    span = len(steps) * seq_len if config.bidirectional else sum(j + 1 for j in steps)
    return span * step_work(config, input_size)


def grad_items_skip_reason(config: Any, input_size: int, steps: list[int], seq_len: int):
    """None when the items fit the recording budget, else why not, for a person (the trace's
    meta["grad_items"])."""
    if not steps:
        return "skipped: sequence 0 has no loss step"
    if config.cell not in STEP_COEFFICIENTS:  # the recursion runs on the one-step Jacobians
        return f"skipped: the cell {config.cell!r} has no one-step Jacobian formula"
    work = grad_items_work(config, input_size, steps, seq_len)
    if work > GRAD_ITEMS_BUDGET:
        return (
            f"skipped: {len(steps)} loss steps, T = {seq_len}, H = {config.hidden} would cost "
            f"{work:.2g} multiply-adds, over the recording budget of {GRAD_ITEMS_BUDGET:.0g} "
            "(about a tenth of a second of one core)"
        )
    return None


def grad_items(
    model: RecurrentModel,
    task: Task,
    batch: Batch,
    y_hat: Tensor,
    layers: list[dict],
    past_0,
) -> list[Tensor]:
    """dL_j/dh_t of sequence 0, one (T_loss, T, H) tensor per layer and direction in the
    recorder's order (layer by layer, forward then reverse): y_hat (B, T, O) the recorded
    outputs, `layers` the recorder's (module docstring); `past_0` what a model that reads its
    past read for sequence 0 (model.Past.select(0); None for any other)."""
    cfg = model.config
    steps = loss_steps(batch.mask).cpu().numpy()  # (R,)
    by_key = {(lt["layer"], lt["reverse"]): lt for lt in layers}
    D = 2 if cfg.bidirectional else 1
    top = [by_key[(cfg.layers - 1, d == 1)] for d in range(D)]
    with torch.enable_grad():
        out = y_hat.detach().clone().requires_grad_(True)
        (g,) = torch.autograd.grad(task.loss(out, batch.y, batch.mask), out)  # (B, T, O)
        h = torch.cat([lt["h"][0] for lt in top], -1).detach().float().requires_grad_(True)
        y_0 = model.output(h, past_0)  # (T, O)
        (e,) = torch.autograd.grad((y_0 * g[0]).sum(), h)  # (T, D*H): dL_j/d out_j
    T, R = h.shape[0], len(steps)
    direct = np.zeros((T, R, e.shape[-1]), dtype=np.float32)  # (T, R, In) dL_j/d(input) at t
    direct[steps, np.arange(R)] = e[steps].detach().cpu().float().numpy()
    items: dict[tuple[int, bool], np.ndarray] = {}
    for k in reversed(range(cfg.layers)):
        below = np.zeros((T, R, D * cfg.hidden), dtype=np.float32) if k else None
        for d in range(D):
            lt = by_key[(k, d == 1)]
            co = {n: v[0] for n, v in step_coefficients(cfg.cell, model, lt, 1).items()}
            suffix = f"_l{k}{'_reverse' if d else ''}"
            w_hh, w_ih = (
                getattr(model.rnn, f"weight_{w}{suffix}").detach().float().cpu().numpy()
                for w in ("hh", "ih")
            )
            H = w_hh.shape[1]
            flip = slice(None, None, -1) if d else slice(None)  # processing order and back
            e_d = np.ascontiguousarray(direct[flip, :, d * H : (d + 1) * H])
            got, into = _backward(co, w_hh, e_d, w_ih if k else None)
            items[(k, d == 1)] = got[flip]
            if below is not None:
                below += into[flip]
        direct = below
    return [torch.from_numpy(np.ascontiguousarray(items[key].transpose(1, 0, 2))) for key in
            ((lt["layer"], lt["reverse"]) for lt in layers)]  # fmt: skip


def _backward(
    co: dict[str, np.ndarray], w_hh: np.ndarray, direct: np.ndarray, w_ih: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Backpropagation through time of R items at once through one direction of one layer, in
    processing order: direct (T, R, H) each item's gradient entering h_t from outside the
    recurrence (head or layer above), co the layer's step coefficients (T, G, H) / (T, H)
    (jacobian.step_coefficients). Returns the items' total dL_j/dh_t (T, R, H) and, with the
    layer's w_ih (G H, In), their gradient at its input (T, R, In).

    The same step as the Jacobian chain's (jacobian.jacobian_norms), on rows that are items:
    K = G_t diag(dh/dc) + Gc_t, dL/da_t = [K diag(c_i) | … | G_t diag(c_o)] (the cell-state
    blocks on K), G_{t-1} = direct_{t-1} + dL/da_t W_hh (+ G_t diag(z_t), the GRU's carry),
    Gc_{t-1} = K diag(e_t)."""
    T, R, H = direct.shape
    c, cin = co["blocks"], co.get("inputs")
    carry, dhdc, e = co.get("carry"), co.get("dhdc"), co.get("e")
    G = c.shape[1]
    on_k = G - 1 if dhdc is not None else 0  # blocks acting through the cell state
    # Rows sorted by the last step at which the item enters: at step t the rows entered are
    # a suffix, and only they are multiplied (the others are exactly 0).
    enters = direct.any(-1)  # (T, R)
    last = np.where(enters.any(0), T - 1 - np.argmax(enters[::-1], 0), -1)
    perm = np.argsort(last, kind="stable")
    first_row = np.searchsorted(last[perm], np.arange(T))  # (T,) rows with last >= t
    direct = direct[:, perm]
    out = np.zeros((T, R, H), dtype=np.float32)
    into = None if w_ih is None else np.zeros((T, R, w_ih.shape[1]), dtype=np.float32)
    C = np.zeros((R, H), dtype=np.float32)  # carried to step t: dL_j/dh_t through a_{t+1}
    Cc = np.zeros((R, H), dtype=np.float32)  # and dL_j/dc_t through c_{t+1}
    K = np.empty((R, H), dtype=np.float32)
    X = np.empty((R, G, H), dtype=np.float32)  # dL_j/da_t
    Xin = np.empty((R, G, H), dtype=np.float32) if cin is not None else X
    for t in range(T - 1, -1, -1):
        a = first_row[t]
        if a == R:
            continue
        Gh, Xa = out[t, a:], X[a:]
        np.add(C[a:], direct[t, a:], out=Gh)
        if dhdc is not None:
            Ka = K[a:]
            np.multiply(Gh, dhdc[t], out=Ka)
            Ka += Cc[a:]
            np.multiply(Ka[:, None, :], c[t, :on_k], out=Xa[:, :on_k])
            np.multiply(Ka, e[t], out=Cc[a:])
        np.multiply(Gh[:, None, :], c[t, on_k:], out=Xa[:, on_k:])
        if t:
            np.matmul(Xa.reshape(-1, G * H), w_hh, out=C[a:])
            if carry is not None:
                C[a:] += Gh * carry[t]
        if into is not None:
            if cin is not None:  # no cell state here (the GRU)
                np.multiply(Gh[:, None, :], cin[t], out=Xin[a:])
            np.matmul(Xin[a:].reshape(-1, G * H), w_ih, out=into[t, a:])
    back = np.argsort(perm)
    return out[:, back], None if into is None else into[:, back]


def with_grad_items(
    model: RecurrentModel,
    task: Task,
    batch: Batch,
    x: Tensor,
    y_hat: Tensor,
    layers: list[dict],
    asked: bool,
    past_0,
) -> tuple[list[dict], str]:
    """The recorder's `layers` with sequence 0's items under "grad_items" where they fit the
    budget, and what the trace's meta["grad_items"] says about them."""
    if not asked:
        return layers, "skipped: not asked for"
    steps = loss_steps(batch.mask).tolist()
    why = grad_items_skip_reason(model.config, x.shape[-1], steps, x.shape[1])
    if why:
        return layers, why
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's inf and NaN
        items = grad_items(model, task, batch, y_hat, layers, past_0)
    return [{**lt, "grad_items": it} for lt, it in zip(layers, items, strict=True)], GRAD_ITEMS
