"""A diverged recording in every panel: each draws what is finite, says so or draws nothing,
and none raises or makes numpy or pyqtgraph warn. The monkey found the gate, states and
itemized panels failing on NaN or 1e38 values, one seed at a time; this sweep then found the
unrolled graph, evidence and factors panels."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pytest

from rnnviz.core.config import Config
from rnnviz.core.protocol import RunView
from rnnviz.core.trace import LayerTrace, Trace
from rnnviz.core.train import Trainer
from rnnviz.qt.panels import (
    LAB_PANELS,
    PANELS,
    AttentionPanel,
    AttributionPanel,
    BottleneckPanel,
    DecodingPanel,
    EmbeddingPanel,
    EvidencePanel,
    NextGuessesPanel,
    PianoRollPanel,
    WhatIfPanel,
)

KEPT = ("x", "x_raw", "y", "loss_mask", "params", "meta", "dec_x")  # what a diverged run has
# bounded by their functions (sigmoids, tanh, softmax): a diverged run's are NaN, never large
BOUNDED = ("gates", "attn", "evidence")


def diverged(value, fill: float):
    """Every recorded float array of a trace (or a part of one) filled with `fill`: the
    inputs, targets and weights kept."""
    if isinstance(value, (Trace, LayerTrace)):
        return dataclasses.replace(value, **{
            f.name: diverged(getattr(value, f.name), np.nan if f.name in BOUNDED else fill)
            for f in dataclasses.fields(value) if f.name not in KEPT
        })  # fmt: skip
    if isinstance(value, tuple) and value and isinstance(value[0], LayerTrace):
        return tuple(diverged(v, fill) for v in value)
    if isinstance(value, Mapping):
        return MappingProxyType({k: diverged(v, fill) for k, v in value.items()})
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return np.full_like(value, fill)
    if isinstance(value, float):
        return fill
    return value


# (cell, task, the panels that draw it): every panel on the two classic tasks; on the
# others the core panels and their own (the rest say why not, as on the first two)
OWN = {
    "reverse": (AttentionPanel, BottleneckPanel, DecodingPanel, WhatIfPanel),
    "sentiment": (EvidencePanel, AttributionPanel, EmbeddingPanel),
    "music": (PianoRollPanel, NextGuessesPanel, EmbeddingPanel),
}
CASES = [
    *[("rnn", "adding", c, fill) for c in PANELS + LAB_PANELS for fill in (np.nan, 3e38)],
    *[("lstm", "charlm", c, np.nan) for c in PANELS + LAB_PANELS],
    *[(cell, task, c, np.nan) for (cell, task) in (("gru", "reverse"), ("lstm", "sentiment"),
      ("gru", "music")) for c in PANELS + OWN[task]],
]  # fmt: skip
_recorded: dict[tuple[str, str], object] = {}


def recorded(cell: str, task: str):
    """A real snapshot after one training step, one per (cell, task), built once."""
    if (cell, task) not in _recorded:
        t = Trainer(Config(task=task, cell=cell, hidden=6, seq_len=24, batch=4, device="cpu"))
        t.train_step()
        _recorded[cell, task] = t.snapshot(state="paused", trace=t.record(), steps_per_s=0.0)
    return _recorded[cell, task]


@pytest.mark.parametrize(
    "cell, task, panel_class, fill", CASES,
    ids=[f"{cell}-{task}-{c.key}-{fill:.0e}" for cell, task, c, fill in CASES],
)  # fmt: skip
def test_every_panel_draws_a_diverged_recording_without_raising_or_warning(
    cell, task, panel_class, fill, show_panel
):
    snap = recorded(cell, task)
    snap = dataclasses.replace(snap, trace=diverged(snap.trace, fill))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        panel = show_panel(panel_class, snap, size=(500, 400))
        for t in (3, snap.trace.T - 1, 0):
            panel.cursor.set(t)
            panel.grab()  # paints
    assert not [f"{w.message} ({w.filename}:{w.lineno})" for w in caught
                if w.category is RuntimeWarning]  # fmt: skip


@pytest.fixture(scope="module")
def beside_a_diverged_run():
    """As the exploding-gradients preset: a healthy run and, beside it, one that diverged
    (a learning rate of 1e6: losses past 1e20 in its history), its recording NaN throughout."""
    trainers = []
    for lr in (0.01, 1e6):
        cfg = Config(task="adding", cell="rnn", hidden=6, seq_len=24, batch=4, device="cpu",
                     lr=lr, optimizer="sgd")  # fmt: skip
        t = Trainer(cfg)
        for _ in range(4):
            t.record()
            t.train_step()
        trainers.append(t)
    assert trainers[1].diverged and not trainers[0].diverged
    assert trainers[1].history.view().loss.max() > 1e20  # the losses it logged on the way
    traces = [trainers[0].record(), diverged(trainers[1].record(), np.nan)]
    runs = tuple(
        RunView(label, t.step_count, t.diverged, t.history.view(), tr, t.probe_log.view())
        for label, t, tr in zip(("clipped", "no clipping"), trainers, traces, strict=True)
    )
    return trainers[0].snapshot(state="paused", trace=traces[0], steps_per_s=0.0, runs=runs)


@pytest.mark.parametrize("panel_class", PANELS + LAB_PANELS, ids=lambda c: c.key)
def test_every_panel_draws_a_run_beside_one_that_diverged(
    panel_class, beside_a_diverged_run, show_panel
):
    snap = beside_a_diverged_run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        panel = show_panel(panel_class, snap, size=(500, 400))
        for t in (3, snap.trace.T - 1, 0):
            panel.cursor.set(t)
            panel.grab()
    assert not [f"{w.message} ({w.filename}:{w.lineno})" for w in caught
                if w.category is RuntimeWarning]  # fmt: skip
