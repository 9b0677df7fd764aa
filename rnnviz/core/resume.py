"""A Trainer's whole state in and out: `capture` takes a RunState (core/session.py) from a
trainer between two steps, `restore` puts one into a freshly built trainer of the same
settings, which then trains on exactly as the captured one would have.

What "exactly" needs: the weights, the optimiser's moments and step counts, and the state of
the generator that draws the training batches (each step draws a fresh batch from it; the
probe batch and the initial weights follow from the seed alone). Reset still returns to the
saved initial weights and the seed's data stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from rnnviz.core.config import ConfigError
from rnnviz.core.protocol import Column
from rnnviz.core.session import RunState
from rnnviz.core.train import Trainer


def capture(trainer: Trainer, label: str = "") -> RunState:
    """The trainer's state now, as numpy arrays (copies: training on does not change them)."""
    opt = trainer.optimizer.state_dict()
    state: dict[str, np.ndarray | None] = {}
    for index, values in opt["state"].items():
        for key, v in values.items():
            state[f"{index}/{key}"] = _numpy(v) if v is not None else None
    history = trainer.history.view().columns()
    return RunState(
        label=label,
        config=trainer.config,
        step=trainer.step_count,
        diverged=trainer.diverged,
        message=trainer.message,
        last=MappingProxyType(dict(trainer.last)),
        initial=MappingProxyType({k: _numpy(v) for k, v in trainer._initial_state.items()}),
        current=MappingProxyType({k: _numpy(v) for k, v in trainer.model.state_dict().items()}),
        optimizer_groups=[dict(g) for g in opt["param_groups"]],
        optimizer=MappingProxyType(state),
        data_stream=trainer.data_gen.get_state().numpy().copy(),
        history=MappingProxyType({k: v.copy() for k, v in history.items()}),
        probes=MappingProxyType(
            {k: v.copy() for k, v in trainer.probe_log.view().columns().items()}
        ),
    )


def restore(trainer: Trainer, run: RunState) -> None:
    """Put `run` into `trainer`, freshly built with `run.config`. What does not fit is a
    ConfigError: weights (naming the first that does not fit) or history columns, and the
    trainer is untouched; the optimiser's or the data stream's state, and it is reset."""
    model = trainer.model.state_dict()
    for what, weights in (("initial", run.initial), ("current", run.current)):
        _check_fit(what, model, weights)
    if set(run.history) != set(trainer.history.cols):
        raise ConfigError(
            f"the session's training history has columns {', '.join(sorted(run.history))}, "
            f"not {', '.join(trainer.history.cols)}"
        )
    device = trainer.device
    trainer._initial_state = {
        k: torch.from_numpy(np.array(run.initial[k])).to(device, model[k].dtype) for k in model
    }
    trainer.reset()  # a fresh history, optimiser and data stream, to be overwritten below
    trainer.model.load_state_dict(
        {k: torch.from_numpy(np.array(v)) for k, v in run.current.items()}
    )
    try:
        trainer.optimizer.load_state_dict(_optimizer_state(run))
        trainer.data_gen.set_state(torch.from_numpy(np.array(run.data_stream)))
    except (KeyError, ValueError, RuntimeError, TypeError) as e:
        trainer.reset()
        raise ConfigError(f"the session's optimiser or data state does not fit: {e}") from None
    for name, col in trainer.history.cols.items():
        col.extend(np.asarray(run.history[name], dtype=col.view().dtype))
    if run.probes:
        trainer.probe_log.cols = {}
        for name, values in run.probes.items():
            col = trainer.probe_log.cols[name] = Column(values.dtype, values.shape[1:])
            col.extend(values)
    trainer.step_count = run.step
    trainer.diverged = run.diverged
    trainer.message = run.message
    trainer.last = dict(run.last)
    trainer._backup = [p.detach().clone() for p in trainer.model.parameters()]


def _check_fit(what: str, model: dict[str, torch.Tensor], weights) -> None:
    reason = misfit(model, weights)
    if reason:
        raise ConfigError(
            f"the session's {what} weights do not fit its settings: {reason} (saved by another "
            "version of rnnviz, whose model for these settings differed?)"
        )


def misfit(model: Mapping[str, torch.Tensor], weights: Mapping[str, Any]) -> str | None:
    """Why `weights` (name -> array) cannot load into a model whose state is `model`, in a
    few words ("missing lookback.weight", "encoder.weight is (242, 16) in the file, (332,
    16) in the model"); None where they fit."""
    missing = sorted(set(model) - set(weights))
    extra = sorted(set(weights) - set(model))
    if missing or extra:
        return f"{'missing' if missing else 'unexpected'} {', '.join(missing or extra)}"
    for k, t in model.items():
        if tuple(weights[k].shape) != tuple(t.shape):
            return f"{k} is {tuple(weights[k].shape)} in the file, {tuple(t.shape)} in the model"
    return None


def _optimizer_state(run: RunState) -> dict:
    state: dict[int, dict] = {}
    for name, v in run.optimizer.items():
        index, key = name.split("/", 1)
        state.setdefault(int(index), {})[key] = None if v is None else torch.from_numpy(np.array(v))
    return {"state": state, "param_groups": [dict(g) for g in run.optimizer_groups]}


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()
