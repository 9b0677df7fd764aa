"""What crosses between a training session and the people watching it: commands in, snapshots
out, and the typed messages of the pipe between the training process and the window
(`core/worker.py` and `qt/runner.py`); core/stream.py carries snapshots over it compactly.

Nothing here imports torch: the window unpickles snapshots and builds commands without it.

Snapshots are immutable: numbers, read-only views of append-only history buffers (rows already
written never change) and a Trace.
"""

from __future__ import annotations

import copyreg
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import numpy as np

from rnnviz.core.config import Config
from rnnviz.core.session import RunState
from rnnviz.core.trace import Trace


def _read_only_mapping(d: dict) -> MappingProxyType:
    return MappingProxyType(d)


# Traces and snapshots hold read-only mappings; let them cross a process boundary.
copyreg.pickle(MappingProxyType, lambda m: (_read_only_mapping, (dict(m),)))

_keys = itertools.count(1)


def new_key() -> int:
    """A number naming one history buffer (a reset starts a new one)."""
    return next(_keys)


class Column:
    """An append-only numpy buffer; `view()` is a read-only view of the rows written so far."""

    def __init__(self, dtype, shape: tuple[int, ...] = ()) -> None:
        self._buf = np.zeros((1024, *shape), dtype=dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, value) -> None:
        if self._n == len(self._buf):  # grow by doubling; old views keep the old buffer alive
            self._buf = np.concatenate([self._buf, np.zeros_like(self._buf)])
        self._buf[self._n] = value
        self._n += 1

    def extend(self, values: np.ndarray) -> None:
        need = self._n + len(values)
        if need > len(self._buf):
            size = max(need, 2 * len(self._buf))
            grown = np.zeros((size, *self._buf.shape[1:]), dtype=self._buf.dtype)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n : need] = values
        self._n = need

    def view(self) -> np.ndarray:
        v = self._buf[: self._n]
        v.setflags(write=False)
        return v


# ---------------------------------------------------------------------------- histories


@dataclass(frozen=True, eq=False)
class History:
    """One row per training step since the last reset. Arrays are read-only, length N."""

    step: np.ndarray  # (N,) int, step number (1-based)
    loss: np.ndarray  # (N,) training loss of the step's batch
    grad_norm: np.ndarray  # (N,) global L2 norm of the gradient before clipping
    grad_norm_clipped: np.ndarray  # (N,) after clipping
    clipped: np.ndarray  # (N,) bool, whether clipping changed the gradient
    key: int = 0  # names the buffer the rows come from: a reset starts a new one

    def __len__(self) -> int:
        return len(self.step)

    def columns(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "key"}

    @classmethod
    def from_columns(cls, key: int, cols: Mapping[str, np.ndarray]) -> History:
        return cls(key=key, **cols)


@dataclass(frozen=True, eq=False)
class ProbeHistory:
    """One row per recording of the probe batch (sequence 0): how the per-timestep gradient
    and the W_hh spectra evolve over training. Arrays are read-only, N rows."""

    step: np.ndarray  # (N,) training step of each recording
    grad_norms: Mapping[str, np.ndarray]  # layer key 'l0', 'l1_reverse' -> (N, T) ||dL/dh_t||
    radii: Mapping[str, np.ndarray]  # 'l0 f' (layer key, gate block) -> (N,) spectral radius
    key: int = 0
    # layer key -> (N, T) distance profile of the itemized gradients (core/memory_reach.py)
    profiles: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.step)

    def columns(self) -> dict[str, np.ndarray]:
        return {
            "step": self.step,
            **{f"g {k}": v for k, v in self.grad_norms.items()},
            **{f"r {k}": v for k, v in self.radii.items()},
            **{f"m {k}": v for k, v in self.profiles.items()},
        }

    @classmethod
    def from_columns(cls, key: int, cols: Mapping[str, np.ndarray]) -> ProbeHistory:
        return cls(
            step=cols.get("step", np.zeros(0, np.int64)),
            grad_norms=MappingProxyType({k[2:]: v for k, v in cols.items() if k[:2] == "g "}),
            radii=MappingProxyType({k[2:]: v for k, v in cols.items() if k[:2] == "r "}),
            key=key,
            profiles=MappingProxyType({k[2:]: v for k, v in cols.items() if k[:2] == "m "}),
        )


# ---------------------------------------------------------------------------- snapshot


@dataclass(frozen=True, eq=False)
class RunView:
    """One of several runs trained side by side (a comparison preset)."""

    label: str
    step: int
    diverged: bool
    history: History
    trace: Trace
    probes: ProbeHistory | None = None  # its recordings (the memory reach over training)


@dataclass(frozen=True, eq=False)
class Snapshot:
    config: Config
    device: str
    state: str  # "paused", "running" or "diverged"
    step: int
    loss: float  # last step's loss (nan before the first step)
    grad_norm: float  # last step's gradient norm before clipping
    grad_norm_clipped: float
    clip_rate: float  # fraction of the last 100 steps that were clipped
    steps_per_s: float
    lr: float
    clip: str
    clip_threshold: float
    history: History
    trace: Trace | None  # the latest recording of the probe batch
    probes: ProbeHistory | None = None  # every recording's gradient norms and W_hh radii
    message: str = ""  # what happened, in words (divergence advice, …)
    chance_loss: float | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)  # e.g. the char-LM "sample"
    runs: tuple[RunView, ...] = ()  # every run of a comparison, this one first; else empty


# ---------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Run:
    """Train continuously."""


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Step:
    """Take `n` training steps, then stay paused."""

    n: int = 1


@dataclass(frozen=True)
class SetLearningRate:
    lr: float


@dataclass(frozen=True)
class SetClipping:
    mode: str
    threshold: float


@dataclass(frozen=True)
class Reset:
    """Back to the same initial weights (and the same data stream)."""


@dataclass(frozen=True)
class Probe:
    """Record the probe batch now."""


@dataclass(frozen=True)
class SetTemperature:
    """Character LM: the sampling temperature of the text shown in snapshots."""

    temperature: float


@dataclass(frozen=True)
class SetConnectivity:
    """Record the connectivity (core/connectivity.py) with each probe, or not: as costly as
    the rest of a recording, so the window asks for it only while its panel is shown. Turned
    on, the probe is recorded again at once."""

    record: bool


@dataclass(frozen=True)
class MeasureBottleneck:
    """Encoder-decoder: measure every run's held-out exact match by input length now
    (core/seq2seq/bottleneck.py), one run per step of the session; the snapshots that follow
    carry the curves found so far in extras["bottleneck"], `request` among them (so the asker
    knows its answer). Ignored for other models."""

    request: int = 0


@dataclass(frozen=True)
class SetGradItems:
    """Record sequence 0's itemized gradients dL_j/dh_t (core/grad_items.py) with each
    probe, or not: up to about as costly as the rest of a recording, so the window asks for
    them only while the itemized or the memory-reach panel is shown. Turned on, the probe is
    recorded again at once."""

    record: bool


# meta["connectivity"] of a trace recorded while no one watched the connectivity
CONNECTIVITY_UNWATCHED = "skipped: not recorded while the panel is hidden"
# meta["grad_items"] of a trace recorded while no panel showed the itemized gradients
GRAD_ITEMS_UNWATCHED = "skipped: not recorded while their panels are hidden"

Command = (
    Run
    | Pause
    | Step
    | SetLearningRate
    | SetClipping
    | Reset
    | Probe
    | SetTemperature
    | SetConnectivity
    | SetGradItems
    | MeasureBottleneck
)

IDLE = "idle"  # yielded when there is nothing to do until the next command


# ---------------------------------------------------------------------------- the pipe
# `run` numbers the runs, so the window drops what a replaced run still had in the pipe.


@dataclass(frozen=True)
class StartRun:
    """window -> worker: replace any session with a new run (paused unless `running`);
    `companions` are (label, config) runs trained beside it. `resume`, when given, holds the
    saved state of each (this run first) to continue from, instead of new weights."""

    run: int
    config: Config
    running: bool = False
    label: str = ""
    companions: tuple[tuple[str, Config], ...] = ()
    resume: tuple[RunState, ...] = ()


@dataclass(frozen=True)
class ForRun:
    """window -> worker: a command for run `run` (dropped when that run has ended)."""

    run: int
    command: Command


@dataclass(frozen=True)
class Capture:
    """window -> worker: send run `run`'s whole state back (Captured), e.g. to save it."""

    run: int


@dataclass(frozen=True)
class StopWorker:
    """window -> worker: end the process."""


@dataclass(frozen=True)
class Devices:
    """worker -> window, once torch is loaded: the devices this machine can train on."""

    names: list[str]


@dataclass(frozen=True)
class RunStarted:
    """worker -> window: the trainers of run `run` are built; snapshots follow."""

    run: int
    config: Config


@dataclass(frozen=True)
class SnapshotPayload:
    """worker -> window: a core/stream.py payload; decode them in the order they came."""

    run: int
    payload: dict


@dataclass(frozen=True)
class RunEnded:
    """worker -> window: run `run` has ended; `message` says why, for a person."""

    run: int
    message: str


@dataclass(frozen=True)
class Captured:
    """worker -> window: the state of every trainer of run `run`, taken between two steps."""

    run: int
    runs: tuple[RunState, ...]


ToWorker = StartRun | ForRun | Capture | StopWorker
FromWorker = Devices | RunStarted | SnapshotPayload | RunEnded | Captured


__all__ = [
    "CONNECTIVITY_UNWATCHED",
    "GRAD_ITEMS_UNWATCHED",
    "IDLE",
    "Capture",
    "Captured",
    "Column",
    "Command",
    "Devices",
    "ForRun",
    "FromWorker",
    "History",
    "MeasureBottleneck",
    "Pause",
    "Probe",
    "ProbeHistory",
    "Reset",
    "Run",
    "RunEnded",
    "RunStarted",
    "RunView",
    "SetClipping",
    "SetConnectivity",
    "SetGradItems",
    "SetLearningRate",
    "SetTemperature",
    "Snapshot",
    "SnapshotPayload",
    "StartRun",
    "Step",
    "StopWorker",
    "ToWorker",
]
