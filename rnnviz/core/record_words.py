"""Recording the word tasks: sentences of different lengths, and the order-blind baseline.

A padded batch is recorded one sentence length at a time: the sentences of each length,
cut to that length, go through `record.record_trace` with no padding at all, so every
recorded value (states, gates, dL/dh_t, ||dh_final/dh_t|| with the final step at the last
word) is that of the packed model, exactly. A forward-only model needs that only for the
sentences whose ||dh_final/dh_t||, connectivity or itemized gradients are asked for (sequence
0 in the app): the others go through in one group, cut to the longest of them, since a step
reads only the steps before it and padding carries no loss, so their values at the words are
those of the packed model too (one pass instead of one per length: the app's recording of four
sentences took 2-3 fused passes more than it needed). The groups are then laid back into
[B, T]:

    states, gates, outputs and gradients   0 at padded steps (what a packed model outputs)
    jacobian_norm, step_factor             NaN at padded steps
    loss                                   sum_g (m_g / m) L_g, and dL/dh_t scaled by m_g / m

where group g's loss L_g is normalised by its own mask count m_g and the batch's by m, so
that the trace holds the gradients of the batch's one loss. meta["pad_id"] names <pad>, from
which Trace.input_mask ([B, T], 0 at padding) follows: panels draw no value where it is 0.

The bag-of-words baseline (core/bow.py) has no recurrent layers: its trace holds the input,
the outputs at every t (the evidence so far) and the loss, with no layers.

Shapes: B batch, T time (words), H hidden, I embedding.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

import rnnviz
from rnnviz.core.bow import BagOfWordsModel
from rnnviz.core.model import InputReader
from rnnviz.core.record import record_trace
from rnnviz.core.record_decision import with_decision
from rnnviz.core.tasks.base import Batch, Task
from rnnviz.core.tasks.vocab import PAD, PAD_ID, sentence_lengths
from rnnviz.core.trace import LayerTrace, Trace, frozen_array

# LayerTrace arrays whose padded steps are NaN (not computed), not 0
_NAN_AT_PADDING = {"jacobian_norm", "step_factor"}
_GRADIENTS = {"grad_h", "grad_c"}
PAD_META = {"pad_id": PAD_ID, "pad_token": PAD}  # Trace.input_mask reads pad_id


def record_batch(model: InputReader, task: Task, batch: Batch, **kwargs: Any) -> Trace:
    """The trace of `batch` for any model kind that reads a task's input directly (keyword
    arguments as record.record_trace's)."""
    if isinstance(model, BagOfWordsModel):
        trace = record_bag_of_words(model, task, batch, meta=kwargs.get("meta"))
    elif task.spec.padded:
        trace = record_padded(model, task, batch, **kwargs)
    else:
        return record_trace(model, task, batch, **kwargs)
    return with_decision(trace, model, task, batch)  # a sentence's evidence and attribution


def record_padded(
    model: InputReader,
    task: Task,
    batch: Batch,
    *,
    jacobians: bool = True,
    jacobian_sequences: int | None = None,
    connectivity: bool = True,
    grad_items: bool = True,
    meta: dict[str, Any] | None = None,
) -> Trace:
    """record_trace for a right-padded batch, one sentence length at a time (module docs);
    sequence 0's connectivity (core/connectivity.py) from its own group, 0 at padding."""
    n = sentence_lengths(batch.x).cpu()  # (B,)
    B, T = batch.x.shape
    n_jac = 0 if not jacobians else B if jacobian_sequences is None else min(jacobian_sequences, B)
    total = float(batch.mask.sum())
    parts = []  # (rows, L, share of the loss, trace)
    for rows in _groups(n, n_jac, causal=not model.config.bidirectional):
        L = int(n[rows].max())  # ascending rows: the first n_jac come first
        sub = Batch(batch.x[rows, :L], batch.y[rows, :L], batch.mask[rows, :L])
        k = int((rows < n_jac).sum())
        tr = record_trace(
            model,
            task,
            sub,
            jacobians=k > 0,
            jacobian_sequences=k,
            connectivity=connectivity and int(rows[0]) == 0,
            grad_items=grad_items and int(rows[0]) == 0,  # sequence 0's alone
            meta=meta,
        )
        share = float(sub.mask.sum()) / total if total > 0 else 0.0
        parts.append((rows.numpy(), L, share, tr))
    first = next(tr for rows, _, _, tr in parts if rows[0] == 0)  # holds sequence 0
    asked = {tr.meta["jacobian"] for rows, _, _, tr in parts if (rows < n_jac).any()}
    skipped = sorted(r for r in asked if r.startswith("skipped"))
    if not n_jac:
        jacobian = "skipped: not asked for"
    else:
        jacobian = skipped[0] if skipped else f"computed for the first {n_jac} of {B} sequences"

    padding = (torch.arange(T)[None, :] >= n[:, None]).numpy()  # (B, T)

    def lay(values: list[np.ndarray], fill: float, scale: bool = False) -> np.ndarray:
        """The groups' arrays (rows, L, …) back in one (B, T, …) array, `fill` at padding."""
        out = np.full((B, T, *values[0].shape[2:]), fill, dtype=values[0].dtype)
        for (rows, L, share, _), v in zip(parts, values, strict=True):
            out[rows, :L] = v * share if scale else v
        out[padding] = fill  # a group cut to its longest sentence holds its shorter ones' pads
        return frozen_array(out)

    layers = []
    for j, lt in enumerate(first.layers):
        same = [p[3].layers[j] for p in parts]
        fields = {}
        for f in dataclasses.fields(LayerTrace):
            v = getattr(lt, f.name)
            if f.name == "grad_items" and v is not None:  # sequence 0's group's, cut to L0
                share = next(p[2] for p in parts if p[0][0] == 0)
                fields[f.name] = frozen_array(
                    np.pad(v * share, ((0, 0), (0, T - v.shape[1]), (0, 0)))
                )
            elif isinstance(v, np.ndarray):
                fill = np.nan if f.name in _NAN_AT_PADDING else 0.0
                vals = [getattr(s, f.name) for s in same]
                fields[f.name] = lay(vals, fill, scale=f.name in _GRADIENTS)
            elif f.name == "gates":
                fields[f.name] = MappingProxyType(
                    {g: lay([s.gates[g] for s in same], 0.0) for g in v}
                )
            else:
                fields[f.name] = v
        layers.append(LayerTrace(**fields))
    with torch.no_grad():
        x = model.encode(batch.x)  # (B, T, I): <pad> included, as the input it is
    if first.connectivity is not None:
        L0 = first.connectivity.shape[0]
        conn = np.zeros((T, T), dtype=first.connectivity.dtype)
        conn[:L0, :L0] = first.connectivity
    return Trace(
        meta=MappingProxyType({**first.meta, "jacobian": jacobian, **PAD_META}),
        x=frozen_array(x),
        x_raw=frozen_array(batch.x),
        y=frozen_array(batch.y),
        y_hat=lay([p[3].y_hat for p in parts], 0.0),
        loss=sum(share * tr.loss for _, _, share, tr in parts),
        loss_mask=frozen_array(batch.mask),
        layers=tuple(layers),
        params=first.params,
        connectivity=None if first.connectivity is None else frozen_array(conn),
    )


def _groups(n: torch.Tensor, n_jac: int, causal: bool) -> list[torch.Tensor]:
    """The batch's rows (ascending) in groups recorded together, from the sentence lengths
    n (B,): one group per length, except that a `causal` (forward-only) model records every
    sentence that needs no per-length value (not sequence 0, not among the first `n_jac`) in
    one group."""
    rows = torch.arange(len(n))
    exact = rows < max(n_jac, 1) if causal else torch.ones_like(rows, dtype=torch.bool)
    groups = [rows[exact & (n == L)] for L in sorted(set(n[exact].tolist()))]
    return groups + ([rows[~exact]] if (~exact).any() else [])


def record_bag_of_words(
    model: BagOfWordsModel, task: Task, batch: Batch, meta: dict[str, Any] | None = None
) -> Trace:
    """The baseline's trace: input, outputs at every t, loss; no recurrent layers."""
    cfg = model.config
    with torch.no_grad():
        x = model.encode(batch.x)  # (B, T, I)
        y_hat = model(batch.x)  # (B, T, O)
        loss = task.loss(y_hat, batch.y, batch.mask)
    full_meta = {
        "cell": cfg.cell,
        "hidden": model.cell_input_size,  # the mean's width
        "layers": 0,
        "bidirectional": False,
        "encoder": cfg.resolved_encoder,
        "task": task.name,
        "task_shape": task.shape,
        "task_kind": task.kind,
        "loss_definition": task.loss_definition,
        "jacobian": "skipped: the bag of words has no recurrence",
        "input_vocab": list(task.input_vocab) if task.input_vocab else None,
        "output_vocab": list(task.output_vocab) if task.output_vocab else None,
        "seed": cfg.seed,
        "version": rnnviz.__version__,
        **(PAD_META if task.spec.padded else {}),
        **(meta or {}),
    }
    return Trace(
        meta=MappingProxyType(full_meta),
        x=frozen_array(x),
        x_raw=frozen_array(batch.x),
        y=frozen_array(batch.y),
        y_hat=frozen_array(y_hat),
        loss=float(loss),
        loss_mask=frozen_array(batch.mask),
        layers=(),
        params=MappingProxyType({n: frozen_array(p) for n, p in model.named_parameters()}),
    )
