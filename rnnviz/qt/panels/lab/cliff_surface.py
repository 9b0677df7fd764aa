"""The cliff panel's problem on a grid: Pascanu, Mikolov & Bengio's (2013) one-unit network
x_t = w σ(x_{t−1}) + b with its error E(w, b) = (σ(x_50) − 0.7)² (core/analysis.cliff_error)
sampled over the square of (w, b) the panel shows, the contour lines of a sampled surface,
where the wall lies, the lengths of a descent's steps, and the start and settings of the
descent that shows the jump. No Qt widgets: the panel (cliff.py) draws what these compute.
"""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg

from rnnviz.core.analysis import DescentPath, cliff_error

# The square of (w, b) that holds the valley of zero error, the wall along b ≈ −w/2 for
# w > 4.4, both plateaus, and where the default unclipped jump lands.
W_RANGE = (0.0, 10.0)
B_RANGE = (-6.0, 4.0)
GRID = 200  # samples along each axis
# From here descent climbs out of the high-error side onto the wall and slides along it
# towards the valley; at step 35 the unclipped step is ~5.7 long and lands on the flat
# plateau near (6.5, 3), where the gradient vanishes. The clipped path reaches E ≈ 0.
DEFAULT_START = (5.0, -3.5)
DEFAULT_LR, DEFAULT_THRESHOLD, DEFAULT_STEPS = 1.0, 1.0, 80


@functools.cache
def error_surface() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(w (N,), b (N,), E (N, N)) with E[i, j] = cliff_error(w[j], b[i]): rows are b."""
    w = np.linspace(*W_RANGE, GRID)
    b = np.linspace(*B_RANGE, GRID)
    E = cliff_error(w[None, :], b[:, None])  # (N_b, N_w)
    for a in (w, b, E):
        a.setflags(write=False)
    return w, b, E


def contour_lines(z: np.ndarray, level: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Isolines of z (rows along y, columns along x) at `level` as (K, 2) points (x, y), the
    separate lines joined by NaN rows (draw with connect="finite")."""
    dx, dy = x[1] - x[0], y[1] - y[0]
    pieces = []
    for line in pg.functions.isocurve(z, level, connected=True):
        rc = np.asarray(line, dtype=np.float64) - 0.5  # isocurve puts sample (i, j) at +0.5
        pieces += [np.column_stack([x[0] + rc[:, 1] * dx, y[0] + rc[:, 0] * dy]), [[np.nan] * 2]]
    return np.concatenate(pieces) if pieces else np.zeros((0, 2))


def step_lengths(path: DescentPath) -> np.ndarray:
    """‖Δ(w, b)‖ of every step taken, (N,)."""
    return np.linalg.norm(np.diff(path.points, axis=0), axis=1)


def wall_at(w: float) -> tuple[float, float, float]:
    """(b, E below, E above): where E jumps most along b in the grid column nearest w, and
    the error on either side of the jump."""
    ws, bs, E = error_surface()
    j = int(np.abs(ws - w).argmin())
    i = int(np.abs(np.diff(E[:, j])).argmax())
    return float((bs[i] + bs[i + 1]) / 2), float(E[i, j]), float(E[i + 1, j])
