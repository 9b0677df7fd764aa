"""The explicit recording path, for cells without a fused kernel (peephole LSTM, simplified
GRU): the per-timestep loop of model.run_explicit with zero perturbations added to h_t and
c_t, whose gradients are dL/dh_t and dL/dc_t."""

from __future__ import annotations

import torch
from torch import Tensor

from rnnviz.core.cells import CELLS
from rnnviz.core.model import RecurrentModel, run_explicit
from rnnviz.core.tasks.base import Batch, Task


def record_explicit(model: RecurrentModel, task: Task, batch: Batch, x: Tensor, past):
    """(y_hat, loss, layers) as record_fused gives them, from the explicit loop."""
    cfg, rnn = model.config, model.rnn
    H, D = cfg.hidden, model.directions
    has_c = CELLS[cfg.cell].cell_state
    B, T = x.shape[:2]
    pert = {}
    for k in range(cfg.layers):
        for d in range(D):
            ph = x.new_zeros(B, T, H, requires_grad=True)
            pc = x.new_zeros(B, T, H, requires_grad=True) if has_c else None
            pert[(k, d == 1)] = (ph, pc)
    record: dict = {}
    with torch.enable_grad():
        out, _, _ = run_explicit(rnn, x, perturb=pert, record=record)
        y_hat = model.output(out, past)
        loss = task.loss(y_hat, batch.y, batch.mask)
        grads = torch.autograd.grad(
            loss, [t for pair in pert.values() for t in pair if t is not None]
        )
    it = iter(grads)
    layers = []
    for k, rev in pert:
        rec = {n: torch.stack(v, 1).detach() for n, v in record[(k, rev)].items()}
        lt = {"layer": k, "reverse": rev, **rec, "grad_h": next(it)}
        if has_c:
            # The perturbation of c_t enters after h_t = o_t tanh(c_t) was formed, so its
            # gradient is the part that flows back from step t+1; add the path through h_t.
            w_co = getattr(rnn, f"weight_ch_l{k}{'_reverse' if rev else ''}").detach()[2 * H :]
            o, tc = rec["o"], torch.tanh(rec["c"])
            lt["grad_c"] = next(it) + lt["grad_h"] * (o * (1 - tc**2) + tc * o * (1 - o) * w_co)
        layers.append(lt)
    return y_hat.detach(), loss.detach(), layers
