"""Record every internal value of one batch: states, gates, outputs, loss, dL/dh_t, ||dh_T/dh_t||.

Why not just run the per-timestep loop of `cells.py` with autograd? On the CPU that costs
5–15x one fused forward+backward, and the panels ask for a recording several times a
second. For the cells PyTorch fuses (RNN, LSTM, GRU) we instead recover everything from
one fused pass (record_fused.py):

1. Each layer runs through the fused kernel with its input widened by zeros u_t (B, T, G*H)
   and its W_ih widened by an identity block, so u_t is added to the gate pre-activations.
   Autograd's gradient w.r.t. u_t is then dL/da_t, the *total* gradient of every gate
   pre-activation — through all later timesteps and higher layers — at no extra BPTT cost.
2. Gates follow from h_{t-1} and x_t in one batched product; the LSTM cell state from the
   element-wise recurrence c_t = f_t c_{t-1} + i_t g_t.
3. The total dL/dh_t is the direct gradient e_t (from the head or the layer above) plus what
   flows back through a_{t+1} = W_hh h_t + …, i.e. e_t + W_hh^T dL/da_{t+1}, one batched
   product. The GRU's z_t h_{t-1} path and the LSTM's cell path are element-wise backward
   recurrences (cheap numpy scans).

The peephole LSTM and simplified GRU have no fused kernel: they are recorded with the explicit
loop (record_explicit.py), adding zero perturbations to h_t and c_t whose gradients are
dL/dh_t and dL/dc_t.

||dh_T/dh_t|| is the spectral norm (largest singular value) of the Jacobian of the
direction's final hidden state (t = T-1 forward, t = 0 for a reverse direction) with respect
to h_t, holding the cell state c_t fixed. It is a product of one-step Jacobians, built with
rescaled float32 matrix products (one per step, on the rank the product keeps), its norms by
Lanczos warm-started from step to step (spectral_norm.py, exact to 1e-4), and costs up to
O(T H^3) against the fused pass's O(T H^2): the app computes it for sequence 0 only
(`jacobian_sequences=1`), `jacobians=False` skips it, and it is skipped where it would not
fit the recording budget (core/budget.py; meta["jacobian"]). The chain is in jacobian.py.

The itemized gradients dL_j/dh_t of sequence 0 (one per loss term L_j) are backpropagated
through the recorded values, every item at once (grad_items.py; meta["grad_items"]).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import numpy as np
import torch

import rnnviz
from rnnviz.core import budget
from rnnviz.core.cells import CELLS
from rnnviz.core.connectivity import CONNECTIVITY, connectivity_matrix, connectivity_skip_reason
from rnnviz.core.grad_items import with_grad_items
from rnnviz.core.jacobian import STEP_COEFFICIENTS, jacobian_norms, rnn_step_factors
from rnnviz.core.model import RecurrentModel
from rnnviz.core.note_layers import NoteEmbedding
from rnnviz.core.record_explicit import record_explicit
from rnnviz.core.record_fused import record_fused
from rnnviz.core.tasks.base import Batch, Task
from rnnviz.core.trace import LayerTrace, Trace, frozen_array

__all__ = ["STEP_COEFFICIENTS", "record_explicit", "record_fused", "record_trace"]


def record_trace(
    model: RecurrentModel,
    task: Task,
    batch: Batch,
    *,
    jacobians: bool = True,
    jacobian_sequences: int | None = None,
    connectivity: bool = True,
    grad_items: bool = True,
    meta: dict[str, Any] | None = None,
) -> Trace:
    """Run `batch` through `model` and return every recorded value as a read-only Trace.

    `jacobians=False` skips ||dh_final/dh_t|| (NaN); `jacobian_sequences=n` computes it for
    the first n sequences only (the panels show sequence 0), the rest NaN.
    `connectivity=False` skips sequence 0's ||d ln p_t(y_t) / dx_s|| (core/connectivity.py),
    which is also skipped where it would not fit the recording budget (meta["connectivity"]).
    `grad_items=False` skips sequence 0's itemized dL_j/dh_t (grad_items.py; meta["grad_items"]).
    """
    cfg = model.config
    x_raw = batch.x
    past = model.past_of(x_raw)  # a melody's lookback and cache, read once; else None
    with torch.no_grad():
        x = model.encode(x_raw, past=past)  # (B, T, I)
    spec = CELLS[cfg.cell]
    if spec.fused:
        y_hat, loss, layers = record_fused(model, task, batch, x, past)
    else:
        y_hat, loss, layers = record_explicit(model, task, batch, x, past)
    B, T = x_raw.shape[:2]
    past_0 = None if past is None else past.select(0)  # sequence 0's
    layers, items = with_grad_items(model, task, batch, x, y_hat, layers, grad_items, past_0)
    n_jac = 0 if not jacobians else B if jacobian_sequences is None else min(jacobian_sequences, B)
    paths = cfg.layers * (2 if cfg.bidirectional else 1)
    # O(T H^3): the one part of a recording that could take minutes, so only where it fits
    jacobian = budget.jacobian_skip_reason(cfg.hidden, T, paths, n_jac) if n_jac else None
    if n_jac and not jacobian and cfg.cell not in STEP_COEFFICIENTS:
        jacobian = f"skipped: the recorder has no one-step Jacobian for the {spec.label} cell"
    if n_jac and not jacobian:
        jacobian = f"computed for the first {n_jac} of {B} sequences"
    else:
        jacobian, n_jac = jacobian or "skipped: not asked for", 0
    layers = [{**lt, "jacobian_norm": jacobian_norms(cfg.cell, model, lt, n_jac)} for lt in layers]
    if not spec.gates:  # the Elman RNN: the one-step factor has a closed form
        layers = [{**lt, "step_factor": rnn_step_factors(model, lt, n_jac)} for lt in layers]
    conn = "skipped: not asked for"
    if connectivity:
        conn = connectivity_skip_reason(cfg, task.kind, x.shape[-1], T) or CONNECTIVITY
    conn_matrix = None
    if conn == CONNECTIVITY:
        conn_matrix = connectivity_matrix(model, x[0], batch.y[0], past_0)
    full_meta = {
        "cell": cfg.cell,
        "nonlinearity": cfg.nonlinearity if spec.nonlinearities else None,
        "hidden": cfg.hidden,
        "layers": cfg.layers,
        "bidirectional": cfg.bidirectional,
        "encoder": cfg.resolved_encoder,
        "task": task.name,
        "task_shape": task.shape,
        "task_kind": task.kind,
        "loss_definition": task.loss_definition,
        "jacobian_norm": "spectral norm of d h_final / d h_t (final = T-1 forward, 0 reverse)",
        "jacobian": jacobian,  # "skipped: …" says why jacobian_norm is NaN
        "connectivity": conn,  # "skipped: …" says why the trace has no connectivity
        "grad_items": items,  # "skipped: …" says why the layers have no grad_items
        "input_vocab": list(task.input_vocab) if task.input_vocab else None,
        "output_vocab": list(task.output_vocab) if task.output_vocab else None,
        "seed": cfg.seed,
        "version": rnnviz.__version__,
        **(meta or {}),
    }
    return Trace(
        meta=MappingProxyType(full_meta),
        x=frozen_array(x),
        x_raw=frozen_array(x_raw),
        y=frozen_array(batch.y),
        y_hat=frozen_array(y_hat),
        loss=float(loss),
        loss_mask=frozen_array(batch.mask),
        layers=tuple(
            LayerTrace(
                layer=lt["layer"],
                reverse=lt["reverse"],
                h=frozen_array(lt["h"]),
                grad_h=frozen_array(lt["grad_h"]),
                jacobian_norm=frozen_array(lt["jacobian_norm"]),
                gates=MappingProxyType({g: frozen_array(lt[g]) for g in spec.gate_names}),
                preact=frozen_array(lt["a"]) if "a" in lt else None,
                c=frozen_array(lt["c"]) if "c" in lt else None,
                step_factor=frozen_array(lt["step_factor"]) if "step_factor" in lt else None,
                grad_c=frozen_array(lt["grad_c"]) if "grad_c" in lt else None,
                grad_items=frozen_array(lt["grad_items"]) if "grad_items" in lt else None,
            )
            for lt in layers
        ),
        params=MappingProxyType(recorded_params(model)),
        connectivity=None if conn_matrix is None else frozen_array(conn_matrix),
    )


def recorded_params(model: RecurrentModel) -> dict[str, np.ndarray]:
    """Every weight under its PyTorch name (the stack's without "rnn."), and for a melody
    model `encoder.notes`, each note's input vector (core/note_layers.py: not a weight of
    its own but the sum of three, what the embedding map projects)."""
    out = {n.removeprefix("rnn."): frozen_array(p) for n, p in model.named_parameters()}
    if isinstance(model.encoder, NoteEmbedding):
        with torch.no_grad():
            out["encoder.notes"] = frozen_array(model.encoder.table())
    return out
