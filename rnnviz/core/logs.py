"""The tables a training session keeps and a Snapshot shows as read-only views: the history
(a row per training step) and the probe log (a row per recording of the probe batch).

No torch: the window makes them too, for a recording it opened (qt/open_files.py).
"""

from __future__ import annotations

import numpy as np

from rnnviz.core.analysis import spectral_radii, vector_norms
from rnnviz.core.memory_reach import layer_profile
from rnnviz.core.protocol import Column, History, ProbeHistory, new_key
from rnnviz.core.trace import Trace


class HistoryLog:
    """One row per training step since the last reset (History's columns)."""

    FIELDS = {
        "step": np.int64,
        "loss": np.float64,
        "grad_norm": np.float64,
        "grad_norm_clipped": np.float64,
        "clipped": bool,
    }

    def __init__(self) -> None:
        self.cols = {name: Column(dt) for name, dt in self.FIELDS.items()}
        self.key = new_key()

    def append(self, **row) -> None:
        for name, col in self.cols.items():
            col.append(row[name])

    def view(self) -> History:
        return History.from_columns(self.key, {name: c.view() for name, c in self.cols.items()})


class ProbeLog:
    """One row per recording of the probe batch: sequence 0's ‖dL/dh_t‖ and the distance
    profile of its itemized gradients (core/memory_reach.py) per layer, and every W_hh gate
    block's spectral radius (ProbeHistory's columns)."""

    def __init__(self) -> None:
        self.cols: dict[str, Column] | None = None
        self.key = new_key()

    def append(self, trace: Trace) -> None:
        self.add(probe_row(trace))

    def add(self, row: dict[str, np.ndarray | int | float]) -> None:
        """A row probe_row made (core/probe_thread.py makes it on the recording's thread:
        the spectral radii take ~25 ms at H = 128, time taken from training otherwise)."""
        if self.cols is None:
            self.cols = {k: Column(np.asarray(v).dtype, np.shape(v)) for k, v in row.items()}
        for k, v in row.items():
            self.cols[k].append(v)

    def view(self) -> ProbeHistory:
        views = {k: c.view() for k, c in (self.cols or {}).items()}
        return ProbeHistory.from_columns(self.key, views)


def probe_row(trace: Trace) -> dict[str, np.ndarray | int | float]:
    """The probe log's row for `trace`, keyed by column."""
    keys = [lt.key for lt in trace.layers]
    radii = spectral_radii(trace.params, trace.cell, keys)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's huge values
        norms = {lt.key: vector_norms(lt.grad_h[0]) for lt in trace.layers}
        profiles = {lt.key: layer_profile(trace, lt) for lt in trace.layers}
    return {
        "step": np.int64(trace.meta["step"]),
        **{f"g {k}": np.asarray(v, np.float64) for k, v in norms.items()},
        **{f"r {k}": np.float64(v) for k, v in radii.items()},
        **{f"m {k}": np.asarray(v, np.float64) for k, v in profiles.items()},
    }
