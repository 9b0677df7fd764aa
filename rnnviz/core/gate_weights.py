"""A layer's W_ih and W_hh split into their gates' blocks, each with its norms and spectrum.

torch stacks the G gate blocks of a layer in one matrix (cells.py): W_ih = [W_ii; W_if; W_ig;
W_io] (4H × I) for an LSTM, [W_ir; W_iz; W_in] for a GRU, and W_hh likewise with H × H
blocks. Each block is what one gate reads: W_if x_t + W_hf h_{t-1} is the forget gate's
pre-activation (before biases). A block's Frobenius norm ‖W‖_F says how much it weighs in
all; its largest singular value σ₁ bounds the gain ‖W v‖ / ‖v‖ on any input; a square W_h·
block's spectral radius ρ = max |λ| governs its powers (the linear part of the backward pass).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rnnviz.core.analysis import spectrum
from rnnviz.core.cells import CELLS


@dataclass(frozen=True, eq=False)
class WeightBlock:
    source: str  # "i" (from the input x_t, in W_ih) or "h" (from h_{t-1}, in W_hh)
    gate: str  # the gate's letter ("f"), or "h" for the Elman RNN's one block
    weights: np.ndarray  # (H, I) or (H, H), float64
    frobenius: float  # ‖W‖_F
    singular_values: np.ndarray  # descending; σ₁ = ‖W‖₂
    radius: float | None  # max |eigenvalue| of a square W_hh block; None for W_ih's

    @property
    def name(self) -> str:
        """'W_if', 'W_hf'; the Elman RNN's 'W_ih', 'W_hh'."""
        return f"W_{self.source}{self.gate}"


def gate_blocks(params: Mapping[str, np.ndarray], cell: str, key: str) -> list[WeightBlock]:
    """The W_ih blocks, then the W_hh blocks, of layer `key` ('l0', 'l1_reverse'), in
    torch's gate order. `params` holds the trace's parameters (weight_ih_l0, …)."""
    gates = CELLS[cell].blocks
    w_ih = np.asarray(params[f"weight_ih_{key}"], dtype=np.float64)  # (G*H, I)
    w_hh = np.asarray(params[f"weight_hh_{key}"], dtype=np.float64)  # (G*H, H)
    H = w_hh.shape[1]
    out = []
    for k, gate in enumerate(gates):
        blk = w_ih[k * H : (k + 1) * H]  # (H, I)
        sv = np.linalg.svd(blk, compute_uv=False) if np.isfinite(blk).all() else np.full(0, np.nan)
        out.append(WeightBlock("i", gate, blk, float(np.linalg.norm(blk)), sv, None))
    spectra = spectrum(w_hh, cell) if np.isfinite(w_hh).all() else None
    for k, gate in enumerate(gates):
        blk = w_hh[k * H : (k + 1) * H]  # (H, H)
        s = spectra[k] if spectra else None
        sv = s.singular_values if s else np.full(0, np.nan)
        radius = s.radius if s else float("nan")
        out.append(WeightBlock("h", gate, blk, float(np.linalg.norm(blk)), sv, radius))
    return out
