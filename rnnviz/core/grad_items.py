"""Itemized BPTT (issue 13; after Cashman et al., "RNNbow", 2018, but exact and untruncated):
the gradient dL_j/dh_t of each loss term L_j with respect to every hidden state h_t, for the
probe batch's sequence 0, every layer and direction, every cell.

The loss is a sum of per-step terms (tasks/base.py, masked_loss): L = sum_{b,j} L_{b,j} with
L_{b,j} = m[b,j] l(y_hat[b,j], y[b,j]) / sum m. Sequence 0's terms at its loss steps j (where
m[0,j] != 0) are the items; h_t of sequence 0 reaches no other sequence's terms, so

    sum_j dL_j/dh_t = dL/dh_t                          (the trace's grad_h[0, t])

and by causality dL_j/dh_t = 0 for t > j in a forward direction and t < j in a reverse one
(in the top layer; below a bidirectional layer the other direction carries h_t both ways).

How, in one batched pass instead of T_loss backward passes: L_j depends on h only through
y_hat[0, j], so dL_j/dh_t = g_j^T dy_hat_j/dh_t with g_j = dL/dy_hat[0, j] (from the head,
cheap). Sequence 0 is repeated once per loss step along the batch, and copy j is given the
linear "loss" <g_j, y_hat_j>: a one-hot selector on the output steps. The recorder's own pass
(record_fused for the fused cells, record_explicit for the others) then returns, for every
copy at once, its total dL/dh_t through later steps and higher layers — copy j's is
dL_j/dh_t — so the items are exact by the same method as grad_h. A unidirectional model
needs steps 0..j only for copy j: the copies run in blocks, each only as far as its last loss
step (about half the work for a many-to-many task).

Cost: about sum_j (j+1) sequence-steps of the recording pass (T_loss T, bidirectional),
against B T for the probe batch's: computed only where it fits GRAD_ITEMS_BUDGET; the trace's
meta["grad_items"] says why not.

Shapes: T time, H hidden, O outputs, T_loss sequence 0's loss steps.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnviz.core.cells import CELLS
from rnnviz.core.connectivity import step_work
from rnnviz.core.model import RecurrentModel
from rnnviz.core.record_explicit import record_explicit
from rnnviz.core.record_fused import record_fused
from rnnviz.core.tasks.base import Batch, Task

# Multiply-adds of the recurrent layers over all copies, forward and backward (about 4x the
# forward: the backward, and the recorder rebuilding the gates). 4.1e8 took 0.29 s on one core
# (LSTM, H = 64, T = 100; README's cost table): every recording pays it, so a third of a second
# at most (the character-LM preset, H = 128 and T = 100 at 1.5e9, records without them).
GRAD_ITEMS_BUDGET = 5e8
GRAD_ITEMS = "computed for sequence 0: grad_items[j, t] = dL_j/dh_t at its loss steps j"
ROWS_PER_BLOCK = 32  # copies per pass: bounds the memory (copies x T x the recorder's arrays)


def loss_steps(mask: Tensor) -> Tensor:
    """Sequence 0's loss steps j (where its mask is not 0), ascending: the items' rows."""
    return torch.nonzero(mask[0] != 0).flatten()


def grad_items_work(config: Any, input_size: int, steps: list[int], seq_len: int) -> float:
    """Multiply-adds of the recurrent layers to itemize the loss steps `steps` of one
    sequence of `seq_len` steps whose cell input has `input_size` features."""
    span = len(steps) * seq_len if config.bidirectional else sum(j + 1 for j in steps)
    return 4.0 * span * step_work(config, input_size)


def grad_items_skip_reason(config: Any, input_size: int, steps: list[int], seq_len: int):
    """None when the items fit the recording budget, else why not, for a person (the trace's
    meta["grad_items"])."""
    if not steps:
        return "skipped: sequence 0 has no loss step"
    work = grad_items_work(config, input_size, steps, seq_len)
    if work > GRAD_ITEMS_BUDGET:
        return (
            f"skipped: {len(steps)} loss steps, T = {seq_len}, H = {config.hidden} would cost "
            f"{work:.2g} multiply-adds, over the recording budget of {GRAD_ITEMS_BUDGET:.0g} "
            "(about a third of a second of one core)"
        )
    return None


class _Selector:
    """A task whose loss is copy r's <g_r, y_hat[r, j_r]>: the copies' one-hot loss terms."""

    def __init__(self, weights: Tensor) -> None:
        self.weights = weights  # (R, T, O): g_j at copy r's own loss step, 0 elsewhere

    def loss(self, y_hat: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        return (y_hat * self.weights).sum()


def grad_items(
    model: RecurrentModel, task: Task, batch: Batch, x: Tensor, y_hat: Tensor
) -> list[Tensor]:
    """dL_j/dh_t of sequence 0, one (T_loss, T, H) tensor per layer and direction in the
    recorder's order (layer by layer, forward then reverse): x (B, T, I) the encoded input,
    y_hat (B, T, O) the recorded outputs (module docstring)."""
    cfg = model.config
    T = x.shape[1]
    steps = loss_steps(batch.mask)  # (T_loss,)
    with torch.enable_grad():
        out = y_hat.detach().clone().requires_grad_(True)
        (g,) = torch.autograd.grad(task.loss(out, batch.y, batch.mask), out)  # (B, T, O)
    record = record_fused if CELLS[cfg.cell].fused else record_explicit
    parts: list[list[Tensor]] = []
    for lo in range(0, len(steps), ROWS_PER_BLOCK):
        rows = steps[lo : lo + ROWS_PER_BLOCK]  # (R,)
        R = len(rows)
        n = T if cfg.bidirectional else int(rows[-1]) + 1  # copy j needs steps 0..j only
        weights = g.new_zeros(R, n, g.shape[-1])  # (R, n, O)
        weights[torch.arange(R), rows] = g[0, rows]
        copies = Batch(_repeat(batch.x[0, :n], R), _repeat(batch.y[0, :n], R), g.new_zeros(R, n))
        _, _, layers = record(model, _Selector(weights), copies, _repeat(x[0, :n], R))
        block = []
        for lt in layers:
            gh = lt["grad_h"]  # (R, n, H)
            block.append(torch.cat([gh, gh.new_zeros(R, T - n, gh.shape[-1])], 1))
        parts.append(block)
    return [torch.cat(p, 0) for p in zip(*parts, strict=True)]


def _repeat(a: Tensor, R: int) -> Tensor:
    """R copies of one sequence's array a (T, …) along a new batch axis: (R, T, …)."""
    return a.unsqueeze(0).expand(R, *a.shape).contiguous()


def with_grad_items(
    model: RecurrentModel,
    task: Task,
    batch: Batch,
    x: Tensor,
    y_hat: Tensor,
    layers: list[dict],
    asked: bool = True,
) -> tuple[list[dict], str]:
    """The recorder's `layers` with sequence 0's items under "grad_items" where they fit the
    budget, and what the trace's meta["grad_items"] says about them."""
    if not asked:
        return layers, "skipped: not asked for"
    steps = loss_steps(batch.mask).tolist()
    why = grad_items_skip_reason(model.config, x.shape[-1], steps, x.shape[1])
    if why:
        return layers, why
    items = grad_items(model, task, batch, x, y_hat)
    return [{**lt, "grad_items": it} for lt, it in zip(layers, items, strict=True)], GRAD_ITEMS
