"""Training: a Trainer that takes one optimisation step at a time. `session`, the generator
that drives it, yields snapshots and takes commands, is in rnnviz/core/loop.py.

Divergence: a non-finite loss or gradient stops training in the "diverged" state; the update
that caused it is not applied and the weights are the last finite ones. `Reset` recovers.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from types import MappingProxyType

import torch

from rnnviz.core.atomic import write_atomic
from rnnviz.core.config import Config, ConfigError, check_temperature
from rnnviz.core.cudnn import exact_float32
from rnnviz.core.devices import resolve_device
from rnnviz.core.logs import HistoryLog, ProbeLog
from rnnviz.core.model import build_model
from rnnviz.core.protocol import (  # noqa: F401 (re-exported: the session's vocabulary)
    IDLE,
    History,
    Pause,
    Probe,
    ProbeHistory,
    Reset,
    Run,
    RunView,
    SetClipping,
    SetLearningRate,
    SetTemperature,
    Snapshot,
    Step,
)
from rnnviz.core.record_words import record_batch
from rnnviz.core.sampling import sample_ids
from rnnviz.core.seq2seq.record import record_seq2seq
from rnnviz.core.tasks import make_task
from rnnviz.core.tasks.base import Task
from rnnviz.core.trace import Trace

# ---------------------------------------------------------------------------- trainer


class Trainer:
    """Owns the model, task, optimiser and the fixed probe batch of one run."""

    def __init__(self, config: Config) -> None:
        self.config = config.validate()
        self.device = resolve_device(config.device)
        if self.device == "cuda":
            exact_float32()  # no TF32 in cuDNN's RNNs: the numbers shown are float32's (cudnn.py)
        self.task: Task = make_task(config)
        torch.manual_seed(config.seed)
        self.model = build_model(
            config, self.task.input_size, self.task.output_size, parts=self.task.note_parts
        )
        self.model.to(self.device)
        self._initial_state = copy.deepcopy(self.model.state_dict())
        probe_gen = torch.Generator().manual_seed(config.seed + 1_000_003)
        self.probe_batch = self.task.sample(config.probe_batch, probe_gen).to(self.device)
        self.reset()

    # -- state

    def reset(self) -> None:
        """Back to the initial weights, a fresh optimiser and the same data stream."""
        self.model.load_state_dict(self._initial_state)
        self.data_gen = torch.Generator().manual_seed(self.config.seed)
        self.optimizer = _make_optimizer(self.config, self.model)
        self.history = HistoryLog()
        self.probe_log = ProbeLog()
        self.step_count = 0
        self.diverged = False
        self.message = ""
        self.last = {"loss": math.nan, "grad_norm": math.nan, "grad_norm_clipped": math.nan}
        self._backup = [p.detach().clone() for p in self.model.parameters()]

    def set_lr(self, lr: float) -> None:
        self.config = self.config.replace(lr=lr)
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def set_clipping(self, mode: str, threshold: float) -> None:
        self.config = self.config.replace(clip=mode, clip_threshold=threshold)

    # -- training

    def train_step(self) -> bool:
        """One optimisation step on a fresh batch. Returns False if training diverged."""
        if self.diverged:
            return False
        cfg, model = self.config, self.model
        batch = self.task.sample(cfg.batch, self.data_gen).to(self.device)
        model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.task.loss(model(*self.task.model_inputs(batch)), batch.y, batch.mask)
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        norm = _global_norm(grads)
        if cfg.clip == "norm":
            clipped = norm > cfg.clip_threshold
            if clipped:
                scale = cfg.clip_threshold / (norm + 1e-6)  # as torch's clip_grad_norm_
                for g in grads:
                    g.mul_(scale)
        elif cfg.clip == "value":
            clipped = any(bool((g.abs() > cfg.clip_threshold).any()) for g in grads)
            torch.nn.utils.clip_grad_value_(model.parameters(), cfg.clip_threshold)
        else:
            clipped = False
        norm_after = _global_norm(grads) if clipped else norm
        loss_v = loss.detach().item()
        if not (math.isfinite(loss_v) and math.isfinite(norm)):
            self._diverge(loss_v, norm)
            return False
        for b, p in zip(self._backup, model.parameters(), strict=True):
            b.copy_(p.detach())
        self.optimizer.step()
        self.step_count += 1
        self.last = {"loss": loss_v, "grad_norm": norm, "grad_norm_clipped": norm_after}
        self.history.append(step=self.step_count, clipped=clipped, **self.last)
        return True

    def _diverge(self, loss: float, norm: float) -> None:
        self.diverged = True
        params = list(self.model.parameters())
        if not all(bool(torch.isfinite(p).all()) for p in params):
            with torch.no_grad():
                for b, p in zip(self._backup, params, strict=True):
                    p.copy_(b)
        what = "loss" if not math.isfinite(loss) else "gradient norm"
        self.message = (
            f"Training diverged at step {self.step_count + 1}: the {what} became "
            f"{loss if what == 'loss' else norm}. The weights are the last finite ones. "
            "Lower the learning rate or turn on gradient clipping, then reset the run."
        )

    # -- observing

    def record(
        self,
        jacobians: bool = True,
        jacobian_sequences: int | None = None,
        skip_connectivity: str | None = None,
        skip_grad_items: str | None = None,
    ) -> Trace:
        """Record the probe batch with the current weights, and log it in the probe history.

        `jacobian_sequences` limits ||dh_T/dh_t||, the costly part, to the first sequences.
        `skip_connectivity`, when given, leaves the connectivity out (as costly again as the
        rest) and is what meta["connectivity"] says about it; `skip_grad_items` likewise for
        the itemized gradients (meta["grad_items"]).
        """
        trace = self.trace_of(
            self.model,
            self.step_count,
            jacobians=jacobians,
            jacobian_sequences=jacobian_sequences,
            skip_connectivity=skip_connectivity,
            skip_grad_items=skip_grad_items,
        )
        self.probe_log.append(trace)
        return trace

    def trace_of(
        self,
        model: torch.nn.Module,
        step: int,
        *,
        jacobians: bool = True,
        jacobian_sequences: int | None = None,
        skip_connectivity: str | None = None,
        skip_grad_items: str | None = None,
    ) -> Trace:
        """The probe batch's trace through `model`, this run's model or a copy of its weights
        taken at `step` (core/probe_thread.py records one beside training); logs nothing and
        changes nothing of the trainer. Options as `record`'s."""
        model.eval()
        meta = {"step": step, "device": self.device}
        options = {}
        if self.task.spec.model == "seq2seq":  # both halves (core/seq2seq/record.py)
            recorder = record_seq2seq
        else:
            recorder = record_batch
            if skip_connectivity:
                options["connectivity"] = False
                meta["connectivity"] = skip_connectivity
            if skip_grad_items:
                options["grad_items"] = False
                meta["grad_items"] = skip_grad_items
        return recorder(
            model,
            self.task,
            self.probe_batch,
            jacobians=jacobians,
            jacobian_sequences=jacobian_sequences,
            meta=meta,
            **options,
        )

    def snapshot(
        self,
        *,
        state: str,
        trace: Trace | None,
        steps_per_s: float,
        extras: dict | None = None,
        runs: tuple[RunView, ...] = (),
    ) -> Snapshot:
        hist = self.history.view()
        recent = hist.clipped[-100:]
        cfg = self.config
        return Snapshot(
            config=cfg,
            device=self.device,
            state="diverged" if self.diverged else state,
            step=self.step_count,
            clip_rate=float(recent.mean()) if len(recent) else 0.0,
            steps_per_s=steps_per_s,
            lr=cfg.lr,
            clip=cfg.clip,
            clip_threshold=cfg.clip_threshold,
            history=hist,
            trace=trace,
            probes=self.probe_log.view(),
            message=self.message,
            chance_loss=self.task.chance_loss,
            extras=MappingProxyType(dict(extras or {})),
            runs=runs,
            **self.last,
        )

    def sample_text(
        self, length: int = 200, temperature: float = 1.0, prime: str | None = None, seed: int = 0
    ) -> str:
        """Tasks that generate (charlm, music): `length` symbols sampled at `temperature` after
        `prime` (the task's default when None), written as the task writes them."""
        if not self.task.spec.generates:
            raise ConfigError("sampling needs a task that generates (charlm or music)")
        check_temperature(temperature)
        out = sample_ids(
            self.model,
            self.task.prime_ids(prime),
            length,
            temperature,
            seed=seed,
            banned=self.task.unsampled_ids,
        )
        return self.task.decode(out)

    def save_checkpoint(self, path: str | Path) -> None:
        """Config, step and weights to `path`, atomically (a failed write leaves the old file).
        Through a Python file: torch.save's own writer reports a full disk as "enforce fail at
        inline_container.cc … unexpected pos", a file as "No space left on device"."""
        state = {
            "config": self.config.to_dict(),
            "step": self.step_count,
            "model": self.model.state_dict(),
        }
        write_atomic(path, lambda f: torch.save(state, f))


def _global_norm(grads: list[torch.Tensor]) -> float:
    """‖g‖₂ over every parameter's gradient, as one number (the norm clipping compares).
    Public ops only: with the few gradient tensors of a model here, a norm per tensor took
    0.22–0.26 ms a step against 0.20–0.21 ms for torch's private _foreach_norm (default LSTM,
    one thread), under 2% of a training step."""
    if not grads:
        return 0.0
    return float(
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    )


def _make_optimizer(cfg: Config, model: torch.nn.Module) -> torch.optim.Optimizer:
    params, decay = model.parameters(), cfg.weight_decay
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=decay)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, weight_decay=decay)
    if decay:  # decoupled (Loshchilov & Hutter 2019), as Adam's L2 would be scaled per weight
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=decay)
    return torch.optim.Adam(params, lr=cfg.lr)
