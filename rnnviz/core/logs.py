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
        keys = [lt.key for lt in trace.layers]
        radii = spectral_radii(trace.params, trace.cell, keys)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's huge values
            norms = {lt.key: vector_norms(lt.grad_h[0]) for lt in trace.layers}
            profiles = {lt.key: layer_profile(trace, lt) for lt in trace.layers}
        if self.cols is None:
            self.cols = {"step": Column(np.int64)}
            self.cols.update({f"g {k}": Column(np.float64, (trace.T,)) for k in norms})
            self.cols.update({f"r {k}": Column(np.float64) for k in radii})
            self.cols.update({f"m {k}": Column(np.float64, (trace.T,)) for k in profiles})
        self.cols["step"].append(trace.meta["step"])
        for k, v in norms.items():
            self.cols[f"g {k}"].append(v)
        for k, v in radii.items():
            self.cols[f"r {k}"].append(v)
        for k, v in profiles.items():
            self.cols[f"m {k}"].append(v)

    def view(self) -> ProbeHistory:
        views = {k: c.view() for k, c in (self.cols or {}).items()}
        return ProbeHistory.from_columns(self.key, views)
