"""Gate saturation: how often each unit's gates sit at 0 or at 1 (Karpathy, Johnson & Fei-Fei
2015, "Visualizing and Understanding Recurrent Networks", figure 3).

For a sigmoid gate γ ∈ (0, 1) (the LSTM's i, f, o; the GRU's r, z), unit k and the probe
batch's B × T steps,

    left_k  = #{(b, t) : γ_t[b, k] < 0.1} / #steps      (the gate is shut: nothing passes)
    right_k = #{(b, t) : γ_t[b, k] > 0.9} / #steps      (the gate is open: everything passes)

One point (left_k, right_k) per unit and gate is the paper's scatter. Points on the diagonal
left + right = 1 never leave the saturated regimes (a switch); points near the origin stay
in between (an analogue gate); a forget gate in the top left keeps its cell state.

The tanh candidates (the LSTM's g, the GRU's n) are not gates: they are the values written,
in (−1, 1), not a fraction that passes, and have no "0 or 1" regime, so they are left out.
Near ±1 a tanh is saturated in another sense (its derivative 1 − g² is small); the gate
heatmaps show that.

Which steps count: every step of every probe sequence (the gates act at every step, also
where no loss counts: a many-to-one task's loss mask is 1 at the last step only, and
counting only there would describe one step). `steps` takes a (B, T) mask for padded
sequences, where the steps past a sequence's end must not count.

Shapes: B batch, T time, H hidden units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.core.cells import GATES
from rnnviz.core.trace import LayerTrace

LEFT, RIGHT = 0.1, 0.9  # the paper's thresholds


@dataclass(frozen=True)
class GateSaturation:
    """Fractions of counted steps each unit's gate spent shut and open, (H,) each."""

    gate: str
    left: np.ndarray  # (H,) fraction of steps with γ < LEFT
    right: np.ndarray  # (H,) fraction of steps with γ > RIGHT


def saturated_gates(layer: LayerTrace) -> tuple[str, ...]:
    """The gates of `layer` that saturate at 0 and 1: its sigmoid gates, in torch's order."""
    return tuple(g for g in layer.gates if GATES[g].sigmoid)


def gate_saturation(
    layer: LayerTrace, steps: np.ndarray | None = None
) -> tuple[GateSaturation, ...]:
    """Left and right saturation of every sigmoid gate of `layer` (see the module docstring).

    steps: (B, T) mask of the steps that count (nonzero), or None for every step. A gate
    value that is not finite (a diverged run) counts as neither shut nor open.
    """
    out = []
    for g in saturated_gates(layer):
        v = np.asarray(layer.gates[g])  # (B, T, H)
        w = np.ones(v.shape[:2]) if steps is None else (np.asarray(steps) != 0).astype(float)
        n = max(w.sum(), 1.0)  # no counted step: every fraction 0
        with np.errstate(invalid="ignore"):
            left = np.einsum("bt,bth->h", w, (v < LEFT).astype(float)) / n  # (H,)
            right = np.einsum("bt,bth->h", w, (v > RIGHT).astype(float)) / n  # (H,)
        out.append(GateSaturation(g, left, right))
    return tuple(out)
