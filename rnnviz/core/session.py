"""Session files (`.rnnviz`): a run saved whole, to open later and train on from where it was.

One file holds, for each run (a comparison preset has several): the settings, the initial
weights (Reset returns to them) and the current ones, the optimiser's state and the position
of the training-data stream (so training continues exactly as if it had never stopped), the
training and probe histories; and once for the file: the preset and its lesson, the time
cursor and the window's dock layout.

The container is a zip archive: a JSON manifest (`rnnviz-session.json`, format name and
version first) and one `.npy` member per array, read with `allow_pickle=False`. Nothing in a
session file is ever unpickled or executed. Files are written atomically (core/atomic.py):
a save that fails half-way leaves the file that was there.

Reading refuses a file that is not a zip, a zip that is not a session, a newer format, and
anything damaged (truncated, a bad checksum, a missing member, arrays that disagree) with
`SessionError`, one line for a person. No torch here: the window reads and writes sessions;
rnnviz/core/resume.py moves a RunState into and out of a Trainer.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from rnnviz.core.atomic import write_atomic
from rnnviz.core.config import Config, ConfigError

FORMAT = "rnnviz-session"
VERSION = 1  # bump when a reader of this version could not read what is written
SUFFIX = ".rnnviz"
MANIFEST = "rnnviz-session.json"
# Groups of arrays of a run, each a name -> array mapping stored as runs/<i>/<group>/<k>.npy.
ARRAY_GROUPS = ("initial", "current", "optimizer", "history", "probes")
# Histories shrink to about half; weights and moments by 8% at 15x the time (11.7 vs 12.7 MB
# written in 1.9 vs 0.13 s, LSTM hidden 256 x 2 layers): they are stored as they are.
COMPRESSED = ("history", "probes")
NUMERIC = "biuf"  # array kinds a session may hold: booleans, integers, floats


class SessionError(ValueError):
    """A session file that cannot be read or written; the message says which and why."""


@dataclass(frozen=True, eq=False)
class RunState:
    """Everything one Trainer needs to continue exactly where it was. Arrays are numpy."""

    label: str
    config: Config  # including live changes (learning rate, clipping) made while training
    step: int
    diverged: bool
    message: str  # the trainer's message (divergence advice), "" if none
    last: Mapping[str, float]  # the last step's loss, grad_norm, grad_norm_clipped
    initial: Mapping[str, np.ndarray]  # state_dict at step 0: where Reset returns
    current: Mapping[str, np.ndarray]  # state_dict now
    optimizer_groups: list[dict[str, Any]]  # torch's param_groups (plain JSON values)
    # torch's per-parameter state as "<param index>/<key>" -> array, or None where torch
    # holds None (SGD without momentum)
    optimizer: Mapping[str, np.ndarray | None]
    data_stream: np.ndarray  # (S,) uint8: the torch.Generator state of the training batches
    history: Mapping[str, np.ndarray]  # History columns, one row per step
    probes: Mapping[str, np.ndarray]  # ProbeHistory columns, one row per recording


@dataclass(frozen=True, eq=False)
class Session:
    runs: tuple[RunState, ...]  # the run the panels show first, then its companions
    preset: str | None = None  # the preset's key, None for the user's own model
    lesson: Mapping[str, str] = field(default_factory=dict)  # the preset's title, explanation
    cursor: int = 0  # the time cursor t
    layout: bytes = b""  # the window's dock layout (QMainWindow.saveState), opaque here


# ---------------------------------------------------------------------------- writing


def write_session(path: str | Path, session: Session) -> None:
    """Write `session` to `path` atomically; an OSError becomes a SessionError."""
    try:
        write_atomic(path, lambda f: _write_zip(f, session))
    except OSError as e:
        raise SessionError(f"could not write {path}: {e.strerror or e}") from None


def _write_zip(f, session: Session) -> None:
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "preset": session.preset,
        "lesson": dict(session.lesson),
        "cursor": int(session.cursor),
        "layout": base64.b64encode(session.layout).decode("ascii"),
        "runs": [],
    }
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        members = []
        for i, run in enumerate(session.runs):
            groups = {g: _arrays(run, g) for g in ARRAY_GROUPS}
            manifest["runs"].append(
                {
                    "label": run.label,
                    "config": run.config.to_dict(),
                    "step": int(run.step),
                    "diverged": bool(run.diverged),
                    "message": run.message,
                    "last": {k: float(v) for k, v in run.last.items()},
                    "optimizer_groups": run.optimizer_groups,
                    "optimizer_none": [k for k, v in run.optimizer.items() if v is None],
                    "arrays": {g: list(arrays) for g, arrays in groups.items()},
                }
            )
            groups["data_stream"] = {"state": run.data_stream}
            for g, arrays in groups.items():
                for k, a in enumerate(arrays.values()):
                    members.append((f"runs/{i}/{g}/{k}.npy", a, g in COMPRESSED))
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1))  # first: a reader sees it first
        for name, a, compress in members:
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
            method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            zf.writestr(name, buf.getvalue(), compress_type=method)


def _arrays(run: RunState, group: str) -> Mapping[str, np.ndarray]:
    arrays = getattr(run, group)
    return {k: v for k, v in arrays.items() if v is not None}


# ---------------------------------------------------------------------------- reading


def read_session(path: str | Path) -> Session:
    """The session in `path`, or SessionError saying in one line why it cannot be opened."""
    path = Path(path)
    name = path.name
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            f.seek(0)
            try:
                zf = zipfile.ZipFile(f)
            except zipfile.BadZipFile:
                if head == b"PK\x03\x04":  # a zip's start without its end: cut short
                    raise SessionError(f"{name} is damaged: the file is incomplete") from None
                raise SessionError(f"{name} is not an rnnviz session file") from None
            with zf:
                return _read_zip(zf, name)
    except SessionError:
        raise
    except OSError as e:
        raise SessionError(f"could not read {path}: {e.strerror or e}") from None
    except ConfigError as e:
        raise SessionError(f"{name} holds settings that cannot be used here: {e}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, TypeError, ValueError) as e:
        raise SessionError(f"{name} is damaged: {_why(e)}") from None


def _read_zip(zf: zipfile.ZipFile, name: str) -> Session:
    try:
        raw = zf.read(MANIFEST)
    except KeyError:
        raise SessionError(
            f"{name} is not an rnnviz session file (a zip archive without a session manifest)"
        ) from None
    manifest = json.loads(raw)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SessionError(f"{name} is not an rnnviz session file")
    version = manifest.get("version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"format version {version!r}")
    if version > VERSION:
        raise SessionError(
            f"{name} was written by a newer rnnviz (session format {version}; this one reads "
            f"up to {VERSION}): update rnnviz to open it"
        )
    runs = tuple(_read_run(zf, i, r) for i, r in enumerate(manifest["runs"]))
    if not runs:
        raise ValueError("no runs in it")
    return Session(
        runs=runs,
        preset=_typed(manifest["preset"], (str, type(None)), "preset"),
        lesson=MappingProxyType({str(k): str(v) for k, v in manifest["lesson"].items()}),
        cursor=_typed(manifest["cursor"], int, "cursor"),
        layout=base64.b64decode(manifest["layout"], validate=True),
    )


def _read_run(zf: zipfile.ZipFile, i: int, r: dict) -> RunState:
    names = set(zf.namelist())

    def load(group: str, k: int) -> np.ndarray:
        member = f"runs/{i}/{group}/{k}.npy"
        if member not in names:
            raise ValueError(f"its part {member} is missing")
        a = np.load(io.BytesIO(zf.read(member)), allow_pickle=False)
        if a.dtype.kind not in NUMERIC:
            raise ValueError(f"run {i} {group} array {k} holds {a.dtype}, not numbers")
        a.setflags(write=False)
        return a

    groups = {g: {str(n): load(g, k) for k, n in enumerate(r["arrays"][g])} for g in ARRAY_GROUPS}
    optimizer: dict[str, np.ndarray | None] = dict(groups["optimizer"])
    optimizer.update({str(k): None for k in r["optimizer_none"]})
    state = RunState(
        label=_typed(r["label"], str, "label"),
        config=Config.from_dict(r["config"]),
        step=_typed(r["step"], int, "step"),
        diverged=_typed(r["diverged"], bool, "diverged"),
        message=_typed(r["message"], str, "message"),
        last=MappingProxyType({str(k): float(v) for k, v in r["last"].items()}),
        initial=MappingProxyType(groups["initial"]),
        current=MappingProxyType(groups["current"]),
        optimizer_groups=_typed(r["optimizer_groups"], list, "optimizer groups"),
        optimizer=MappingProxyType(optimizer),
        data_stream=load("data_stream", 0),
        history=MappingProxyType(groups["history"]),
        probes=MappingProxyType(groups["probes"]),
    )
    _check(state, i)
    return state


def _check(run: RunState, i: int) -> None:
    """Arrays that must agree with each other do (the trainer checks them against the model)."""
    shapes = {k: a.shape for k, a in run.initial.items()}
    if shapes != {k: a.shape for k, a in run.current.items()}:
        raise ValueError(f"run {i}'s initial and current weights differ in names or shapes")
    for what, table in (("history", run.history), ("probe history", run.probes)):
        if len({len(a) for a in table.values()}) > 1:
            raise ValueError(f"run {i}'s {what} columns differ in length")
    if len(run.history.get("step", ())) != run.step:
        raise ValueError(f"run {i}'s history does not end at its step {run.step}")
    if run.data_stream.dtype != np.uint8 or run.data_stream.ndim != 1:
        raise ValueError(f"run {i}'s data stream is not a generator state")


def _typed(value, types, what: str):
    if not isinstance(value, types) or (types is int and isinstance(value, bool)):
        raise ValueError(f"{what} is {value!r}")
    return value


def _why(e: Exception) -> str:
    if isinstance(e, KeyError):
        return f"its manifest has no {e.args[0]!r}"
    if isinstance(e, json.JSONDecodeError):
        return "its manifest is not JSON"
    if isinstance(e, (zipfile.BadZipFile, zlib.error, EOFError)):
        return f"its contents are corrupt ({e})"
    return str(e) or type(e).__name__
