"""Why gradients vanish or explode: the quantities the gradient laboratory shows.

All functions take numpy arrays from a Trace (or plain numbers) and return numpy arrays, so
the GUI, the CLI export and notebooks share them.

- `spectrum`: eigenvalues and singular values of each W_hh gate block, and its spectral
  radius rho. For the linear RNN h_t = W h_{t-1}, ||dh_T/dh_t|| grows or decays like rho^(T-t).
- `rnn_step_jacobian_norms` and `running_product_back`: the one-step backward factor along
  each path and its running product back from T (Pascanu, Mikolov & Bengio 2013, eq. 7:
  dh_T/dh_t = prod_{s>t} diag(f'(a_s)) W_hh):
    RNN   ||diag(f'(a_t)) W_hh||_2 for every t (the recorder stores it as `step_factor`);
    LSTM  the forget gate f_t on the cell path c_{t-1} -> c_t (the constant error carousel),
          beside the h path's one-step Jacobian norm;
    GRU   the carry z_t on the direct path h_{t-1} -> h_t.
- `cliff_*`: Pascanu et al. (2013) section 2.3's one-unit network x_t = w sigma(x_{t-1}) + b,
  x_0 = 0.5, E = (sigma(x_50) - 0.7)^2: its error surface and gradient descent on it.
- `suggest_clip_threshold`: Pascanu's heuristic, from half to ten times the average norm.
- `vector_norms`: ||v||_2 along the last axis, in float64 (see there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.core.cells import CELLS
from rnnviz.core.spectral_norm import SPECTRAL_RTOL as SPECTRAL_RTOL  # re-exported: it lived here
from rnnviz.core.spectral_norm import lanczos_top, spectral_norms


def vector_norms(a: np.ndarray) -> np.ndarray:
    """||a||_2 along the last axis, computed in float64. A trace stores float32, and a float32
    norm squares its entries first: a vanishing gradient of 1e-25 squares to 1e-50, below the
    smallest float32, and its norm would come out as exactly 0."""
    return np.linalg.norm(np.asarray(a, dtype=np.float64), axis=-1)


@dataclass(frozen=True, eq=False)
class BlockSpectrum:
    block: str  # gate name, or "h" for the Elman RNN
    eigenvalues: np.ndarray  # (H,) complex
    singular_values: np.ndarray  # (H,) descending
    radius: float  # max |eigenvalue|


def spectrum(w_hh: np.ndarray, cell: str) -> list[BlockSpectrum]:
    """Spectra of the H x H gate blocks of one W_hh (G*H, H), in torch's gate order."""
    names = CELLS[cell].blocks
    H = w_hh.shape[1]
    out = []
    for k, name in enumerate(names):
        blk = np.asarray(w_hh[k * H : (k + 1) * H], dtype=np.float64)
        ev = np.linalg.eigvals(blk)
        sv = np.linalg.svd(blk, compute_uv=False)
        out.append(BlockSpectrum(name, ev, sv, float(np.abs(ev).max())))
    return out


def spectral_radii(params, cell: str, keys: list[str]) -> dict[str, float]:
    """{'l0 f': rho, …} for every layer/direction key ('l0', 'l1_reverse') and gate block.
    Eigenvalues only: every recording logs these, and the spectrum's SVD is not needed."""
    out = {}
    for key in keys:
        w = np.asarray(params[f"weight_hh_{key}"], dtype=np.float64)
        H = w.shape[1]
        for k, name in enumerate(CELLS[cell].blocks):
            ev = np.linalg.eigvals(w[k * H : (k + 1) * H])
            out[f"{key} {name}"] = float(np.abs(ev).max())
    return out


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# The steps after which rnn_step_jacobian_norms's Lanczos checks convergence (the first only
# notes theta). With lanczos_top's own (5, 8, 12, 16, …) no row (two per t) converged at 5
# or 8, at H = 64 or 128, nor at 12 at H = 128, while each check runs a dense eigensolver on
# every row's tridiagonal; from 12 on these norms took 0.64-0.81x as long (RNN, H 64 and
# 128, T 50-1000, sine and adding; one thread, two runs each).
_FACTOR_CHECKS = (12, 14, 16, 24, 32)


def rnn_step_jacobian_norms(preact: np.ndarray, w_hh: np.ndarray, nonlinearity: str) -> np.ndarray:
    """||diag(f'(a_t)) W_hh||_2 for every t. preact (..., T, H) -> (..., T); NaN where a_t is
    not finite.

    The squared norm is the top eigenvalue of D_t (W W^T) D_t with D_t = diag(f'(a_t)): with
    W W^T formed once, Lanczos (spectral_norm.lanczos_top) needs one (T, H) x (H, H) product
    per step for all t together, from the guess D_t u and from a random vector, both
    converged to the same value. u is near the top eigenvector of W W^T (eight steps of the
    power method): the random sequence sets the number of steps (14-16 at H = 128, T = 50
    and 200, from u exact or from no power step at all), and an eigensolver for u took 1.3
    ms, a seventh of the whole. So convergence is checked from step 12 on (_FACTOR_CHECKS).
    Where it does not converge (top singular values as close as a random matrix's can take
    many steps), the exact solver."""
    a = np.asarray(preact, dtype=np.float64)
    W = np.asarray(w_hh, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        fprime = 1 - np.tanh(a) ** 2 if nonlinearity == "tanh" else (a > 0).astype(float)
    d = fprime.reshape(-1, a.shape[-1])  # (N, H)
    out = np.full(len(d), np.nan)
    ok = np.flatnonzero(np.isfinite(d).all(1))
    if ok.size:
        gram = W @ W.T  # (H, H)
        u = np.full(len(gram), len(gram) ** -0.5)  # near its top eigenvector (see above)
        with np.errstate(invalid="ignore", divide="ignore"):  # W = 0: no guess (NaN), as 0
            for _ in range(8):
                u = gram @ u
                u /= np.linalg.norm(u)

        # The product in float32, as Lanczos keeps its vectors (in float64 these norms took
        # 1.07-1.19x as long, H 64 and 128, T 50-1000, and moved by under 3e-8 against the
        # SVD), with W W^T scaled to a largest entry of 1 (no overflow)
        size = float(np.abs(gram).max())
        size = size if 0 < size < np.inf else 1.0
        g32, d32 = (gram / size).astype(np.float32), d.astype(np.float32)

        def apply(V: np.ndarray, ids: np.ndarray) -> np.ndarray:
            dk = d32[ok[ids], None, :]  # (k, 1, H)
            return dk * ((dk * V).reshape(-1, len(gram)) @ g32).reshape(V.shape)  # one GEMM

        top, done = lanczos_top(apply, d[ok] * u, _FACTOR_CHECKS)
        out[ok] = np.sqrt(top.clip(0) * size)
        rest = ok[~done]
        if rest.size:
            out[rest] = spectral_norms(d[rest, :, None] * W)
    return out.reshape(a.shape[:-1])


def running_product_back(factors: np.ndarray) -> np.ndarray:
    """P_t = prod_{s=t+1}^{T-1} factors_s (P_{T-1} = 1), along axis 0; per unit if 2-D.

    With factors the one-step factors of a path, P_t is how much of a signal at the end
    reaches back to t along that path (an upper bound for norms, exact for the diagonal
    LSTM cell path and GRU carry path). Computed in log space so tiny products stay finite.
    """
    f = np.abs(np.asarray(factors, dtype=np.float64))
    with np.errstate(divide="ignore"):
        logs = np.log(f)
    shifted = np.concatenate([logs[1:], np.zeros_like(logs[:1])], axis=0)  # factor of s = t+1
    return np.exp(np.cumsum(shifted[::-1], axis=0)[::-1])


# ------------------------------------------------------------------------------ the cliff

CLIFF_T = 50
CLIFF_X0 = 0.5
CLIFF_TARGET = 0.7


def cliff_error(w, b, T: int = CLIFF_T) -> np.ndarray:
    """E(w, b) = (sigma(x_T) - 0.7)^2 with x_t = w sigma(x_{t-1}) + b, x_0 = 0.5 (broadcasts)."""
    w, b = np.broadcast_arrays(np.asarray(w, float), np.asarray(b, float))
    x = np.full(w.shape, CLIFF_X0)
    for _ in range(T):
        x = w * _sigmoid(x) + b
    return (_sigmoid(x) - CLIFF_TARGET) ** 2


def cliff_gradient(w: float, b: float, T: int = CLIFF_T) -> tuple[float, float, float]:
    """(E, dE/dw, dE/db) by backpropagation through the T steps."""
    xs = [CLIFF_X0]
    for _ in range(T):
        xs.append(w * _sigmoid(xs[-1]) + b)
    s_T = _sigmoid(xs[-1])
    E = (s_T - CLIFF_TARGET) ** 2
    dx = 2 * (s_T - CLIFF_TARGET) * s_T * (1 - s_T)  # dE/dx_T
    dw = db = 0.0
    for t in range(T, 0, -1):  # x_t = w sigma(x_{t-1}) + b
        s_prev = _sigmoid(xs[t - 1])
        dw += dx * s_prev
        db += dx
        dx = dx * w * s_prev * (1 - s_prev)
    return float(E), float(dw), float(db)


@dataclass(frozen=True, eq=False)
class DescentPath:
    points: np.ndarray  # (N+1, 2) (w, b) visited
    errors: np.ndarray  # (N+1,)
    grad_norms: np.ndarray  # (N,) before clipping
    clipped: np.ndarray  # (N,) bool


def cliff_descent(
    w0: float, b0: float, lr: float, steps: int, clip_threshold: float | None = None
) -> DescentPath:
    """Plain gradient descent on the cliff, optionally with norm clipping (Pascanu alg. 1)."""
    p = np.array([w0, b0], dtype=float)
    points, errors, norms, clipped = [p.copy()], [], [], []
    for _ in range(steps):
        E, dw, db = cliff_gradient(*p)
        g = np.array([dw, db])
        n = float(np.linalg.norm(g))
        errors.append(E)
        norms.append(n)
        c = clip_threshold is not None and n > clip_threshold
        if c:
            g *= clip_threshold / n
        clipped.append(c)
        p = p - lr * g
        if not np.all(np.isfinite(p)):
            break
        points.append(p.copy())
    errors.append(cliff_gradient(*points[-1])[0])
    return DescentPath(np.array(points), np.array(errors), np.array(norms), np.array(clipped))


def suggest_clip_threshold(grad_norms: np.ndarray, window: int = 200) -> tuple[float, float, float]:
    """(suggestion, low, high) from the average of the last `window` unclipped gradient norms.

    Pascanu et al. (2013) found thresholds from half to ten times the average norm over a
    sufficiently large number of updates to work; we suggest the average itself.
    """
    g = np.asarray(grad_norms, dtype=float)[-window:]
    g = g[np.isfinite(g)]
    if not len(g):
        raise ValueError("no finite gradient norms yet: train a few steps first")
    avg = float(g.mean())
    return avg, 0.5 * avg, 10.0 * avg
