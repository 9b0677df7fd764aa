"""Record a user's own model (core/foreign.py) on the user's own input: `rnnviz trace --model`.

Input: numbers from .npy, [B, T, I] or [T, I] (one sequence), or CSV with one timestep a row
(I columns; a first row of names is skipped). Its width must be the model's input width. A
token model reads text with a vocabulary instead (core/foreign_tokens.py): ids [B, T].

An opened model has no head and no targets, so there is no loss; the gradients the panels
show, dL/dh_t, are of a stated scalar L of the top layer's final state h_n (t = T-1 forward,
t = 0 for a reverse direction: torch's h_n), summed over the sequences so that each
sequence's gradient is its own:

    state      L = ½‖h_n‖²            (the default: how strongly every h_t steers the end)
    unit:K     L = h_n[K]             (one unit of the forward direction)

The scalar is named in the trace's meta ("objective", and "loss_definition" in words) and on
the gradient panels' titles.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from rnnviz.core.foreign import ForeignModel, ForeignModelError
from rnnviz.core.record import record_trace
from rnnviz.core.tasks.base import Batch
from rnnviz.core.trace import Trace

TASK_NAME = "own model"  # meta["task"] of an opened model: no built-in task
OBJECTIVE_HELP = "state (½‖h_n‖², the default) or unit:K (h_n[K], forward direction)"


def read_input(path: str | Path, input_size: int) -> np.ndarray:
    """The sequences in `path` as float32 [B, T, I]; ForeignModelError if they do not fit."""
    path = Path(path)
    if not path.is_file():
        raise ForeignModelError(f"{path}: no such file")
    if path.suffix == ".npy":
        try:
            x = np.load(path, allow_pickle=False)  # an object array would be a pickle: refused
        except (ValueError, OSError, EOFError) as e:
            raise ForeignModelError(f"{path.name}: not a numpy array file ({e})") from None
    elif path.suffix == ".csv":
        x = _read_csv(path)
    else:
        raise ForeignModelError(f"{path.name}: give the input as .npy or .csv")
    if x.ndim == 2:
        x = x[None]  # one sequence
    if x.ndim != 3 or 0 in x.shape:
        raise ForeignModelError(
            f"{path.name} has shape {x.shape}: give [B, T, I] or [T, I] (one sequence)"
        )
    if x.shape[-1] != input_size:
        raise ForeignModelError(
            f"{path.name} has {x.shape[-1]} values per timestep (shape {x.shape}); "
            f"the model's input is {input_size} wide"
        )
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ForeignModelError(f"{path.name} holds {x.dtype}, not real numbers")
    if not np.isfinite(x).all():
        raise ForeignModelError(f"{path.name} holds NaN or infinite values")
    return np.ascontiguousarray(x, dtype=np.float32)


def _read_csv(path: Path) -> np.ndarray:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as e:
        raise ForeignModelError(f"{path.name}: cannot read it ({e})") from None
    if rows and not _numbers(rows[0]):
        rows = rows[1:]  # column names
    for i, row in enumerate(rows):
        if not _numbers(row):
            raise ForeignModelError(f"{path.name}: row {i + 1} is not all numbers: {row}")
        if len(row) != len(rows[0]):
            raise ForeignModelError(
                f"{path.name}: row {i + 1} has {len(row)} values, the first {len(rows[0])}"
            )
    return np.array([[float(c) for c in r] for r in rows], dtype=np.float64).reshape(len(rows), -1)


def _numbers(row: list[str]) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Objective:
    """The scalar whose gradients an opened model shows, in the shape of a Task for
    record_trace (which reads name, shape, kind, loss_definition, vocabularies and loss)."""

    unit: int | None  # None: ½‖h_n‖²; else h_n[unit] of the forward direction
    hidden: int
    bidirectional: bool
    name: str = TASK_NAME
    shape: str = "many-to-one"
    kind: str = "objective"
    input_vocab: tuple[str, ...] | None = None  # a token model's: the trace's tokens
    output_vocab: None = None

    @property
    def title(self) -> str:
        """Short, for a plot title: "L = ½‖h_n‖²"."""
        return "L = ½‖h_n‖²" if self.unit is None else f"L = h_n[{self.unit}]"

    @property
    def loss_definition(self) -> str:
        where = "h_n the top layer's final state (t = T-1"
        where += "; t = 0 for the reverse direction, both halves)" if self.bidirectional else ")"
        what = "½‖h_n‖²" if self.unit is None else f"h_n[{self.unit}], forward direction"
        return f"L = {what}, {where}, summed over the sequences; no head, no targets"

    def loss(self, y_hat: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        """y_hat (B, T, D*H) is the top layer's output (the opened model has no head)."""
        H = self.hidden
        if self.unit is not None:
            return y_hat[:, -1, self.unit].sum()
        loss = 0.5 * y_hat[:, -1, :H].pow(2).sum()
        if self.bidirectional:
            loss = loss + 0.5 * y_hat[:, 0, H:].pow(2).sum()
        return loss

    def mask(self, B: int, T: int) -> Tensor:
        """(B, T): 1 where L reads the state."""
        m = torch.zeros(B, T)
        m[:, -1] = 1.0
        if self.bidirectional and self.unit is None:
            m[:, 0] = 1.0
        return m


def objective(spec: str, model: ForeignModel, vocab: tuple[str, ...] | None = None) -> Objective:
    """Parse "state" or "unit:K" for `model` (reading `vocab`'s tokens, if a token model);
    ForeignModelError otherwise."""
    if spec == "state":
        return Objective(None, model.hidden, model.bidirectional, input_vocab=vocab)
    name, _, k = spec.partition(":")
    if name == "unit" and k.isdigit() and int(k) < model.hidden:
        return Objective(int(k), model.hidden, model.bidirectional, input_vocab=vocab)
    raise ForeignModelError(
        f"objective must be {OBJECTIVE_HELP} with K below the hidden size {model.hidden}, "
        f"got {spec!r}"
    )


def record_foreign(
    model: ForeignModel,
    x: np.ndarray,
    objective_spec: str = "state",
    *,
    vocab: tuple[str, ...] | None = None,
    jacobian_sequences: int | None = None,
    meta: dict | None = None,
) -> Trace:
    """Every internal value of `model` on x, with the gradients of the objective: x [B, T, I]
    numbers, or for a token model [B, T] ids of `vocab`'s tokens (the trace's tokens)."""
    B, T = x.shape[:2]
    if T < 2:
        raise ForeignModelError("the input needs at least 2 timesteps")
    obj = objective(objective_spec, model, vocab)
    net = model.build(model.config(batch=B, seq_len=T))
    batch = Batch(torch.from_numpy(x), torch.zeros(B, T, 0), obj.mask(B, T))
    return record_trace(
        net,
        obj,
        batch,
        jacobian_sequences=jacobian_sequences,
        meta={
            "model": model.describe(),
            "model_origin": model.origin,
            "bias": model.bias,
            "input_size": model.input_size,
            "objective": obj.title,
            "step": 0,
            **(meta or {}),
        },
    )
