"""Trace: every internal value of one recorded batch, as read-only numpy arrays, and NPZ I/O.

A Trace is what the panels draw and what `rnnviz trace` writes. It is immutable: the arrays
are copies marked read-only, so a Trace may cross from the training thread to the GUI
thread and be handed to pyqtgraph, which keeps references to what it is given.

Axes: B batch, T time, I cell input (after encoding), H hidden units, O outputs.

NPZ layout (plain numpy, `np.load(path)` is all a notebook needs; see README):
    meta                       JSON string (cell, hidden, layers, task, loss definition, …)
    x [B,T,I], y, y_hat [B,T,O], loss (), loss_mask [B,T], x_raw
    input_mask [B,T] (1 where x_t is data, 0 at padding), tokens [B,T] (symbol inputs as
    strings, from x_raw and meta["input_vocab"])
    h_l{k}{s}, c_l{k}{s}, gate_{name}_l{k}{s}, a_l{k}{s} (Elman pre-activation),
    grad_h_l{k}{s}, grad_c_l{k}{s}, jacobian_norm_l{k}{s} [B,T]
    grad_items_l{k}{s} [T_loss,T,H] sequence 0's dL_j/dh_t, row j for its j-th loss step (where
    loss_mask[0] != 0; core/grad_items.py; absent when meta["grad_items"] says it was skipped)
    param.<torch name>, param.head.weight, param.head.bias, …
    connectivity [T,T] sequence 0's ‖∂ ln p_t(y_t) / ∂x_s‖ (core/connectivity.py; absent when
    meta["connectivity"] says it was skipped)
    evidence [T,O] sequence 0's class probabilities after each word (many-to-one; absent when
    meta["evidence"] says it was skipped), attribution [T] its words' integrated gradients
    (meta["attribution"], meta["attribution_target"]; core/record_decision.py)
with k the layer and s '' (forward) or '_reverse'.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from rnnviz.core.atomic import write_atomic
from rnnviz.core.cells import CELLS


def frozen_array(a: Any, dtype: Any = None) -> np.ndarray:
    """A read-only copy of `a` (a tensor or array) as a numpy array (of `dtype`, if given)."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


# Trace fields recorded only where they apply, NPZ keys of the same names
OPTIONAL_ARRAYS = ("connectivity", "evidence", "attribution")


@dataclass(frozen=True, eq=False)
class LayerTrace:
    """Recorded values of one layer and direction. All arrays are [B, T, H] unless noted."""

    layer: int
    reverse: bool
    h: np.ndarray  # hidden state h_t
    grad_h: np.ndarray  # total BPTT gradient dL/dh_t (through later steps and higher layers)
    jacobian_norm: np.ndarray  # [B, T] spectral norm ||dh_final / dh_t||_2
    gates: Mapping[str, np.ndarray] = field(default_factory=dict)  # i,f,g,o / r,z,n / z,n
    preact: np.ndarray | None = None  # Elman RNN: a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    c: np.ndarray | None = None  # LSTM cell state c_t
    grad_c: np.ndarray | None = None  # LSTM total dL/dc_t
    # [T_loss, T, H] sequence 0's dL_j/dh_t, one row per loss step j (core/grad_items.py)
    grad_items: np.ndarray | None = None
    # Elman RNN: ||diag(f'(a_t)) W_hh||_2 per step [B, T] (NaN where not computed); not in NPZ
    step_factor: np.ndarray | None = None

    @property
    def suffix(self) -> str:
        return "_reverse" if self.reverse else ""

    @property
    def key(self) -> str:
        """'l0', 'l1_reverse', …: the torch parameter suffix of this layer and direction."""
        return f"l{self.layer}{self.suffix}"

    @property
    def name(self) -> str:
        return f"layer {self.layer}" + (" ←" if self.reverse else "")


@dataclass(frozen=True, eq=False)
class Trace:
    meta: Mapping[str, Any]
    x: np.ndarray  # [B, T, I] layer-0 cell inputs after encoding
    x_raw: np.ndarray  # [B, T] symbol ids, or [B, T, I_raw] real inputs before encoding
    y: np.ndarray  # [B, T, O] targets (regression) or [B, T] class ids
    y_hat: np.ndarray  # [B, T, O] model outputs (logits for classification)
    loss: float
    loss_mask: np.ndarray  # [B, T] 1 where the loss counts
    layers: tuple[LayerTrace, ...]
    params: Mapping[str, np.ndarray]
    # [T, T] C[t, s] = ‖∂ ln p_t(y_t) / ∂x_s‖ of sequence 0 (core/connectivity.py), or None;
    # keyword-only, so that a subclass may add fields without defaults
    connectivity: np.ndarray | None = field(default=None, kw_only=True)
    # many-to-one, sequence 0 (core/record_decision.py): [T, O] the answer after each word,
    # [T] each word's integrated gradient; None where meta["evidence"/"attribution"] says why
    evidence: np.ndarray | None = field(default=None, kw_only=True)
    attribution: np.ndarray | None = field(default=None, kw_only=True)

    @property
    def cell(self) -> str:
        return self.meta["cell"]

    @property
    def T(self) -> int:
        return self.x.shape[1]

    @property
    def gate_names(self) -> tuple[str, ...]:
        spec = CELLS.get(self.cell)  # none for a baseline without recurrence (core/bow.py)
        return spec.gate_names if spec else ()

    @functools.cached_property
    def input_mask(self) -> np.ndarray:
        """[B, T] 1.0 where x_t is data, 0.0 at padding (meta["pad_id"], tasks/vocab.py):
        nothing at a padded step is data to draw."""
        pad = self.meta.get("pad_id")
        raw = self.x_raw if self.x_raw.ndim == 2 else self.x_raw[..., 0]
        return frozen_array((raw != pad) if pad is not None else np.ones(raw.shape, bool), "f4")

    @functools.cached_property
    def tokens(self) -> np.ndarray | None:
        """[B, T] the input symbols as strings ('<pad>' at padding), or None for real inputs."""
        vocab = self.meta.get("input_vocab")
        if not vocab or self.x_raw.ndim != 2:
            return None
        return frozen_array(np.asarray(vocab, dtype=str)[self.x_raw])

    def layer(self, k: int, reverse: bool = False) -> LayerTrace:
        for lt in self.layers:
            if lt.layer == k and lt.reverse == reverse:
                return lt
        raise KeyError(f"no layer {k}{' reverse' if reverse else ''} in this trace")

    def to_arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {
            "meta": np.array(json.dumps(dict(self.meta))),
            "x": self.x,
            "x_raw": self.x_raw,
            "y": self.y,
            "y_hat": self.y_hat,
            "loss": np.array(self.loss, dtype=np.float64),
            "loss_mask": self.loss_mask,
            "input_mask": self.input_mask,
        }
        if self.tokens is not None:
            out["tokens"] = self.tokens
        for lt in self.layers:
            out.update(layer_arrays(lt))
        for name, v in self.params.items():
            out[f"param.{name}"] = v
        for name in OPTIONAL_ARRAYS:
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    def save_npz(self, path: str | Path) -> None:
        """Write the trace to `path` (numpy adds no suffix to a file object: name it .npz),
        atomically: a failed write leaves the file that was there."""
        arrays = self.to_arrays()
        write_atomic(path, lambda f: np.savez_compressed(f, **arrays))

    @classmethod
    def load_npz(cls, path: str | Path) -> Trace:
        with np.load(path) as z:
            d = {k: z[k] for k in z.files}  # fresh arrays: marked read-only below, no copy
        for a in d.values():
            a.setflags(write=False)
        return cls.from_arrays(d)

    @classmethod
    def from_arrays(cls, d: Mapping[str, np.ndarray]) -> Trace:
        """The trace whose `to_arrays` gave `d`."""
        meta = json.loads(str(d["meta"]))
        layers = load_layers(d, meta["cell"], meta["layers"], meta["bidirectional"])
        params = {k[len("param.") :]: v for k, v in d.items() if k.startswith("param.")}
        return cls(
            meta=MappingProxyType(meta),
            x=d["x"],
            x_raw=d["x_raw"],
            y=d["y"],
            y_hat=d["y_hat"],
            loss=float(d["loss"]),
            loss_mask=d["loss_mask"],
            layers=tuple(layers),
            params=MappingProxyType(params),
            **{name: d.get(name) for name in OPTIONAL_ARRAYS},
        )


def layer_arrays(lt: LayerTrace, prefix: str = "") -> dict[str, np.ndarray]:
    """The NPZ arrays of one layer and direction: h_l0, grad_h_l0, gate_f_l0, … (`prefix`
    before each name: "dec_" for an encoder-decoder's decoder)."""
    k = lt.key
    out = {f"h_{k}": lt.h, f"grad_h_{k}": lt.grad_h, f"jacobian_norm_{k}": lt.jacobian_norm}
    if lt.c is not None:
        out[f"c_{k}"] = lt.c
    if lt.grad_c is not None:
        out[f"grad_c_{k}"] = lt.grad_c
    if lt.preact is not None:
        out[f"a_{k}"] = lt.preact
    if lt.grad_items is not None:
        out[f"grad_items_{k}"] = lt.grad_items
    for g, v in lt.gates.items():
        out[f"gate_{g}_{k}"] = v
    return {prefix + name: v for name, v in out.items()}


def load_layers(
    d: Mapping[str, np.ndarray], cell: str, layers: int, bidirectional: bool, prefix: str = ""
) -> tuple[LayerTrace, ...]:
    """The layers that `layer_arrays` wrote into `d`."""
    out = []
    for k in range(layers):
        for reverse in (False, True) if bidirectional else (False,):
            s = f"{prefix}{{}}l{k}{'_reverse' if reverse else ''}"
            out.append(
                LayerTrace(
                    layer=k,
                    reverse=reverse,
                    h=d[s.format("h_")],
                    grad_h=d[s.format("grad_h_")],
                    jacobian_norm=d[s.format("jacobian_norm_")],
                    gates={g: d[s.format(f"gate_{g}_")] for g in CELLS[cell].gate_names},
                    preact=d.get(s.format("a_")),
                    c=d.get(s.format("c_")),
                    grad_c=d.get(s.format("grad_c_")),
                    grad_items=d.get(s.format("grad_items_")),
                )
            )
    return tuple(out)
