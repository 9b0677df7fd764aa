"""What a many-to-one trace adds for the probe sentence (sequence 0): how its decision forms.

    evidence     [T, O] the class probabilities if the sentence stopped after word t
                 (core/evidence.py), NaN at padding
    attribution  [T] each word's share of the decision by integrated gradients
                 (core/attribution.py), NaN at padding

The evidence of a forward model is its recorded output at each word (what the prefix alone
gives, core/evidence.py); a bidirectional model runs sequence 0's T prefixes (T² word steps).
The attribution runs A quadrature points forward and backward (3 A T word steps), A only as
large as fits. They are skipped where that would not fit the recording budget the
connectivity keeps (core/connectivity.py; the evidence counted as prefixes run, T²/2 word
steps forward), and meta["evidence"] and meta["attribution"] say why;
meta["attribution_target"] holds the class and f(x), f(x') the attributions add up to.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnviz.core.attribution import MAX_STEPS, MIN_STEPS, integrated_gradients
from rnnviz.core.config import Config
from rnnviz.core.connectivity import CONNECTIVITY_BUDGET, step_work
from rnnviz.core.evidence import evidence_over_time
from rnnviz.core.tasks.base import Batch, Task
from rnnviz.core.trace import Trace, frozen_array

EVIDENCE = "computed for sequence 0: the class probabilities after each word, the prefix alone"


def decision_work(config: Config, input_size: int, seq_len: int) -> tuple[float, float]:
    """Multiply-adds of the evidence and of one quadrature point of the attribution for one
    sentence of `seq_len` words."""
    T, per_step = seq_len, step_work(config, input_size)
    prefixes = T * T if config.bidirectional else T * (T + 1) / 2
    return prefixes * per_step, 3.0 * T * per_step


def attribution_steps(config: Config, input_size: int, seq_len: int) -> int:
    """The most quadrature points that fit the recording budget (a power of 2, at most
    MAX_STEPS; below MIN_STEPS the attribution is skipped)."""
    fit = CONNECTIVITY_BUDGET / decision_work(config, input_size, seq_len)[1]
    return int(min(MAX_STEPS, 2 ** np.floor(np.log2(max(fit, 1.0)))))


def decision_skip_reasons(
    config: Config, task: Task, input_size: int, seq_len: int
) -> tuple[str | None, str | None]:
    """(evidence, attribution): None where it is computed, else why not, for a person."""
    if task.shape != "many-to-one" or task.kind != "classification" or not task.spec.padded:
        why = "skipped: only a many-to-one task of sentences has one decision to explain"
        return why, why
    evidence, point = decision_work(config, input_size, seq_len)
    work = (evidence, MIN_STEPS * point)
    return tuple(
        f"skipped: T = {seq_len} would cost {w:.2g} multiply-adds, over the recording budget "
        f"of {CONNECTIVITY_BUDGET:.0g}"
        if w > CONNECTIVITY_BUDGET
        else None
        for w in work
    )


def with_decision(trace: Trace, model: nn.Module, task: Task, batch: Batch) -> Trace:
    """`trace` with sequence 0's evidence and attribution where they apply (module docs)."""
    T = batch.x.shape[1]
    n = int(trace.input_mask[0].sum())  # sequence 0's words
    cfg = model.config
    ev_why, at_why = decision_skip_reasons(cfg, task, trace.x.shape[-1], n)
    meta: dict[str, Any] = {"evidence": ev_why or EVIDENCE}
    evidence = attribution = None
    if ev_why is None and getattr(cfg, "bidirectional", False):  # its reverse read what follows
        evidence = evidence_over_time(model, batch.x[:1])[0]  # (T, O)
    elif ev_why is None:  # a forward model's output at t is its answer to the prefix: recorded
        z = np.asarray(trace.y_hat[0], np.float64)  # (T, O)
        p = np.exp(z - z.max(-1, keepdims=True))
        evidence = np.where(trace.input_mask[0][:, None] > 0, p / p.sum(-1, keepdims=True), np.nan)
    if at_why is None:
        with torch.no_grad():
            x = model.encode(batch.x[0, :n])  # (n, I)
        ig = integrated_gradients(model, x, max_steps=attribution_steps(cfg, trace.x.shape[-1], n))
        attribution = np.full(T, np.nan)
        attribution[:n] = ig.values
        meta["attribution_target"] = {
            "class": ig.target,
            "f_input": ig.f_input,
            "f_baseline": ig.f_baseline,
            "steps": ig.steps,
        }
    meta["attribution"] = at_why or ig.describe()
    return dataclasses.replace(
        trace,
        meta=MappingProxyType({**trace.meta, **meta}),
        evidence=None if evidence is None else frozen_array(evidence),
        attribution=None if attribution is None else frozen_array(attribution),
    )
