"""||dh_final/dh_t||: the spectral norm of the Jacobian of a direction's final hidden state
with respect to every h_t, from the one-step Jacobians of a recorded layer.

Final is t = T-1 for a forward direction and t = 0 for a reverse one; the cell state c_t is
held fixed. See jacobian_norms for the chain and how its norms are found.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from rnnviz.core import elementwise, spectral_norm
from rnnviz.core.analysis import rnn_step_jacobian_norms
from rnnviz.core.cells import CELLS
from rnnviz.core.model import RecurrentModel
from rnnviz.core.spectral_norm import spectral_norms
from rnnviz.core.timeaxis import order, prev

_TRUNCATE_EVERY = 16  # steps of the chain between truncations of its rank (_truncate), the
# interval doubling while a truncation drops nothing (the first few dozen steps keep all)
RANK_RTOL = 1e-7  # singular values of the chain kept: the float32 chain's own noise floor
# steps whose J_t are built at once: while the chain keeps more than half its rows, 64 (fewer
# calls: 0.86x the chain's time at H = 128, T = 50, against 32); then 16 (1 MB at H = 128,
# still in cache when the products read them: a chunk's 128 at once, 16 MB, were read back
# from memory, and the products of a chain of few rows took 3x as long)
_BUILD_EVERY, _BUILD_FEW = 64, 16
# the squared Frobenius norms of the chain left as they are, not rescaled: far inside
# float32's range for its products (M M^T u); one step would need a factor of 1e16 to
# overflow from there
_STEADY = (1e-6, 1e6)
_KEEP_BYTES = 32 << 20  # scratch buffers up to this size are kept between recordings (_scratch)
_kept = threading.local()  # per thread: recordings may run on more than one


def jacobian_norms(
    cell: str, model: RecurrentModel, lt: dict[str, Tensor], sequences: int | None = None
) -> Tensor:
    """||dh_final/dh_t||_2 for every t, (B, T) float64, by the chain M_{t-1} = M_t J_t.

    M is the (H, H) Jacobian of the final hidden state w.r.t. h_t. One step back:

        RNN, GRU, simplified GRU   M_{t-1} = M_t J_t, with J_t = dh_t/dh_{t-1} (H, H)
        LSTM (and peephole)        K = M_t diag(dh_t/dc_t) + Mc_t
                                   M_{t-1} = K A_t + M_t D_t,   Mc_{t-1} = K diag(e_t)

    where Mc is the Jacobian w.r.t. c_t, A_t = sum over the gates i, f, g of diag(d gate
    term) W_block, D_t the same for the output gate, e_t = dc_t/dc_{t-1} (the forget gate,
    plus the peephole terms), and the GRU's J_t adds the carry diag(z_t). The J_t (or
    [A_t; D_t]) of 128 steps are built in batched operations and each step is one product
    ([K | M_t] [A_t; D_t] for the LSTM, inner size 2 H), at any rank of the chain: the
    alternative, sum_g (M diag(coef_g)) W_g as one product of the coefficient-scaled copies
    of M side by side with W_hh (inner size G H, nothing built), measured 3-12% slower in
    all (LSTM, GRU; H 64, 128; T 200, 1000) even where the chain keeps few rows. The Elman
    RNN's single block is M diag(coef) W_hh, one product without building. Works in
    processing order, one sequence at a time (each keeps its own rank, and the loop's
    bookkeeping is Python scalars). Only the first `sequences` sequences are computed
    (None: all); the others are NaN.

    The chain runs in float32 and is rescaled where its squared Frobenius norm leaves [1e-6,
    1e6] (_STEADY; the scale is kept as a float64 logarithm), so products of a thousand
    small or large factors neither underflow nor overflow. Every 16 steps (the interval
    doubling while nothing is dropped) its rows turn to the top left singular directions of
    [M_t | Mc_t] and those below RANK_RTOL of the largest are dropped (_truncate): the
    running product's singular values spread apart as factors are appended, so a long chain
    keeps a few dozen rows (measured at H = 64: about 40 of 64 after 50 steps, 10 after
    200), and its products cost r/H of a full one. The norms, exact to 1e-4 relative, come
    128 steps at a time from the top two right singular vectors of M_t as the loop tracks
    them, one step of simultaneous iteration per t (the running product changes slowly, and
    when the top two cross the new top is already in the pair): one more product with the
    pair proves most of them (spectral_norm.certified_top, a rigorous bound: the settled
    steps, where the singular values have spread apart), and Lanczos from the pair finds the
    rest (spectral_norm.spectral_norms: the crowded first few dozen steps); once fewer than
    spectral_norm.ITERATE_FROM rows are left, the exact solver, and no pair is tracked. The
    chain is O(T H^2 r): the one part of a recording that cannot ride on the fused kernel.
    """
    rev = lt["reverse"]
    B_all = lt["h"].shape[0]
    n = B_all if sequences is None else max(0, min(sequences, B_all))
    if n == 0:
        return torch.full(lt["h"].shape[:2], float("nan"), dtype=torch.float64)
    suffix = f"_l{lt['layer']}{'_reverse' if rev else ''}"
    W = _np(getattr(model.rnn, "weight_hh" + suffix).float())  # (G*H, H)
    co = step_coefficients(cell, model, lt, n)
    extra = {k: co[k] for k in ("carry", "dhdc", "e") if k in co}  # (n, T, H) each
    norms = np.full(lt["h"].shape[:2], np.nan)
    for b in range(n):
        norms[b] = _sequence_norms(W, co["blocks"][b], **{k: v[b] for k, v in extra.items()})
    return order(torch.from_numpy(norms), rev)


def _sequence_norms(W: np.ndarray, c: np.ndarray, carry=None, dhdc=None, e=None) -> np.ndarray:
    """||dh_final/dh_t|| of one sequence, (T,) in processing order, from W_hh (G H, H) and its
    step coefficients (jacobian_norms): c (T, G, H) per gate block, carry (T, H) the GRU's
    direct path, dhdc and e (T, H) a cell state's.

    The loop holds the chain transposed, Z = [K^T; M_t^T; Mc_t^T] (3H, r), or M_t^T alone,
    r its rows: every block it works on is then contiguous (numpy's strided operations cost
    3-6x), and the r columns are reallocated when the rank falls."""
    T, G, H = c.shape
    cs = dhdc is not None
    on_k = G - 1 if cs else 0  # gate blocks acting through the cell state (K), not M
    P = 2 if cs else 1  # [K; M], the right factor of the step matrices' product
    c, carry = c[..., None], None if carry is None else carry[..., None]  # columns
    dhdc, e = (None, None) if not cs else (dhdc[..., None], e[..., None])
    single = G == 1 and not cs and carry is None  # the Elman RNN: M diag(c_t) W_hh
    Wt, blocks = W.T, W.reshape(G, H, H)
    Z = np.zeros((3 * H if cs else H, H), dtype=np.float32)
    Z[(P - 1) * H : P * H] = np.eye(H, dtype=np.float32)  # M_{T-1} = I
    # the guess: the top two right singular vectors of M_t, which turning its rows to fewer
    # (the rank truncation) leaves alone
    u = np.zeros((H, 2), dtype=np.float32)
    u[:, 0] = H**-0.5
    u[1::2, 1], u[::2, 1] = H**-0.5, -(H**-0.5)
    steps, every, next_truncation = 0, _TRUNCATE_EVERY, _TRUNCATE_EVERY
    log_scale = 0.0  # log of the scale the chain was divided by in all, float64
    out = [np.ones(1)]  # t = T-1: ||I|| = 1
    for hi in range(T - 1, 0, -128):  # steps t = hi … lo give M_{t-1}
        lo, r0 = max(1, hi - 127), Z.shape[1]
        # below ITERATE_FROM rows the norms are solved exactly, and rows only ever go: the
        # guess is no longer needed
        track = r0 >= spectral_norm.ITERATE_FROM
        chain = _scratch("chain", (hi - lo + 1, H, r0))  # M_{t-1}^T before rescaling
        guess = np.zeros((hi - lo + 1, H, 2), dtype=np.float32) if track else None
        logs = np.empty(hi - lo + 1)  # log_scale before each step: chain[j]'s scale
        fro = np.empty(hi - lo + 1)  # ||chain[j]||_F: the norms' scale
        # chain[j] / sqrt(rescaled[j]) is the M of the guess's step, and applied[j] = M M^T
        # guess[j]: what spectral_norm.certified_top needs
        rescaled = np.ones(hi - lo + 1)
        applied = np.zeros((hi - lo + 1, H, 2), dtype=np.float32) if track else None
        b0 = hi + 1  # the first step of the J_t built
        held = None  # the Z whose views the loop holds
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as torch
            for j, t in enumerate(range(hi, lo - 1, -1)):
                if not single and t < b0:  # the J_t (or [A_t; D_t]) of the steps ahead
                    b0 = max(lo, t + 1 - (_BUILD_EVERY if 2 * Z.shape[1] > H else _BUILD_FEW))
                    ts = slice(b0, t + 1)
                    buf = _scratch("step", (t + 1 - b0, P, H, H))
                    step = _step_matrices(c[ts, ..., 0], None if carry is None else carry[ts, :, 0],
                                          blocks, on_k, buf).transpose(0, 2, 1)  # fmt: skip
                if Z is not held:  # its blocks, as views (again after a truncation)
                    held, r = Z, Z.shape[1]
                    S = Z[(P - 1) * H :]  # [M_t; Mc_t]^T: what the chain carries
                    M, KM = S[:H], Z[: P * H]
                    K, Mc = (Z[:H], S[H:]) if cs else (None, None)
                if cs:  # K = M_t diag(dh_t/dc_t) + Mc_t
                    np.multiply(M, dhdc[t], out=K)
                    K += Mc
                    np.multiply(K, e[t], out=Mc)  # Mc_{t-1} = K diag(e_t)
                if not single:  # into the chunk's stack (no fresh array to copy from)
                    Mn = np.matmul(step[t - b0], KM, out=chain[j, :, :r])
                else:
                    Mn = np.matmul(Wt, M * c[t, 0], out=chain[j, :, :r])
                M[...] = Mn
                if r < r0:
                    chain[j, :, r:] = 0.0
                logs[j] = log_scale
                # rescale to a Frobenius norm of 1 (one pass; a largest entry of 1 took two)
                # once it has left _STEADY (most steps need no pass over the chain);
                # zero (a dead ReLU chain) and non-finite stay
                m2 = float(np.vdot(M, M))
                s2 = m2 + float(np.vdot(Mc, Mc)) if cs else m2
                fro[j] = math.sqrt(m2)
                if 0 < s2 < np.inf and not _STEADY[0] < s2 < _STEADY[1]:
                    S *= 1 / math.sqrt(s2)
                    log_scale += 0.5 * math.log(s2)
                    rescaled[j] = s2
                # a step of simultaneous iteration on M^T M keeps the top two right singular
                # vectors as the guess (both: when the top two cross, the new top is the
                # second of the old), and one more product proves most norms without Lanczos
                if track:
                    u = guess[j] = _orthonormal_pair(M @ (M.T @ u))  # (H, 2)
                    np.matmul(M, M.T @ u, out=applied[j])
                steps += 1
                # (not in the last few steps, where fewer rows would save little)
                if steps == next_truncation and t > _TRUNCATE_EVERY // 2:
                    Z, kept = _truncate(Z, (P - 1) * H, precheck=r == H), r
                    every = _TRUNCATE_EVERY if Z.shape[1] < kept else 2 * every
                    next_truncation += every
        out.append(_chunk_norms(chain, guess, applied, fro, rescaled) * np.exp(logs))
    return np.concatenate(out)[::-1]


def _chunk_norms(chain, guess, applied, fro, rescaled) -> np.ndarray:
    """||M_t|| of a chunk's chain[j] = M_t^T (n, H, r0), scaled as stored: where tracked,
    certified from the guess (spectral_norm.certified_top: the settled steps, most of a
    long chain) or else by Lanczos from it; untracked (r0 x r0) exactly."""
    with np.errstate(over="ignore", invalid="ignore"):
        if guess is None:
            return spectral_norms(chain.transpose(0, 2, 1), scale=fro)
        # the trace from a float32 sum of squares, rounded by up to ~1e-4 of it (the bound
        # needs it from above)
        trace = fro**2 / rescaled * (1 + 1e-3)
        out = np.sqrt(spectral_norm.certified_top(guess, applied, trace) * rescaled)
        rest = np.flatnonzero(np.isnan(out))
        if rest.size:
            out[rest] = spectral_norms(chain[rest], guess[rest], scale=fro[rest])
    return out


def _scratch(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A float32 scratch array of `shape` (contents undefined), from a buffer this thread
    keeps between recordings: the chain and the step matrices (3 and 6 MB at H = 128, T =
    50) came fresh from the system at every recording, and faulting their pages in took as
    long as building the step matrices (2-3 ms)."""
    n = math.prod(shape)
    buf = getattr(_kept, name, None)
    if buf is None or buf.size < n:
        buf = np.empty(n, dtype=np.float32)
        if 4 * n <= _KEEP_BYTES:
            setattr(_kept, name, buf)
    return buf[:n].reshape(shape)


def _orthonormal_pair(v: np.ndarray) -> np.ndarray:
    """The columns of v (m, 2) made orthonormal, the first kept in direction: v R with R the
    inverse of the Cholesky factor of their 2 x 2 Gram matrix, in Python floats (three numpy
    calls: it runs at every step). A column that vanishes becomes NaN, which the iteration
    ignores; the first does only where the chain is 0, and stays 0."""
    (g00, g01), (_, g11) = (v.T @ v).tolist()
    a = 1 / math.sqrt(g00) if g00 > 0 else math.nan  # 1 / R_00
    d = g11 - (g01 * a) ** 2  # the second column's part orthogonal to the first, squared
    b = 1 / math.sqrt(d) if d > 0 else math.nan
    return v @ np.array(((a, -g01 * a * a * b), (0.0, b)), dtype=v.dtype)


def _truncate(Z: np.ndarray, at: int, precheck: bool = True) -> np.ndarray:
    """Keep the chain's top left singular directions: with S = Z[at:]^T = [M_t | Mc_t] (r
    rows), its rows become P^T S with P the eigenvectors of their Gram matrix whose singular
    values reach RANK_RTOL of the largest. Returns Z with that many columns (Z itself where
    none goes). Norms are unchanged (P has orthonormal columns), later products cost r/H of
    a full one, and what is dropped lies below the noise the float32 chain adds at every step
    anyway. Skipped where the chain is not finite (NaN must propagate)."""
    F = Z[at:].astype(np.float64)  # S^T
    if not np.isfinite(F).all():
        return Z
    gram = F.T @ F
    # None goes where gram - tau I is positive definite with tau at the threshold for the
    # trace, which is at least the largest eigenvalue: a Cholesky factorisation says so at a
    # twentieth of an eigensolver's cost (at r = 128), and the chain keeps every row for its
    # first few dozen steps. (Where rounding lets it pass just below, a row stays: harmless.)
    # Once rows have gone (`precheck` False), most later truncations drop more (17 of 26 at
    # H = 128, T = 1000) and the test would only add to the eigensolver's cost.
    if precheck:
        try:
            np.linalg.cholesky(gram - RANK_RTOL**2 * np.trace(gram) * np.eye(len(gram)))
            return Z
        except np.linalg.LinAlgError:
            pass
    lam, P = np.linalg.eigh(gram)  # ascending
    keep = max(1, int((lam > RANK_RTOL**2 * lam[-1]).sum()))
    if keep == Z.shape[1]:
        return Z
    out = np.empty((Z.shape[0], keep), dtype=np.float32)  # K is rebuilt at the next step
    np.matmul(Z[at:], P[:, -keep:].astype(np.float32), out=out[at:])
    return out


def _step_matrices(
    c: np.ndarray, carry, blocks: np.ndarray, on_k: int, out: np.ndarray
) -> np.ndarray:
    """The one-step matrices of the steps of c (n, G, H), (n, P H, H): [A_t; D_t] with a cell
    state (A_t the sum over its gate blocks of diag(c_g) W_g, D_t the output gate's), else
    J_t (with the carry diag(z_t) of a GRU), written into out (n, P, H, H) float32. In
    torch: its fused multiply-add."""
    n, G, H = c.shape
    ct, Wb = torch.from_numpy(c), torch.from_numpy(blocks)
    parts = [range(on_k), range(on_k, G)] if on_k else [range(G)]
    out = torch.from_numpy(out)
    for p, (g0, *rest) in enumerate(parts):
        torch.mul(ct[:, g0, :, None], Wb[g0], out=out[:, p])
        for g in rest:
            out[:, p].addcmul_(ct[:, g, :, None], Wb[g])
    if carry is not None:  # the GRU's direct path z_t h_{t-1}
        out[:, 0].diagonal(dim1=-2, dim2=-1).add_(torch.from_numpy(carry))
    return out.view(n, len(parts) * H, H).numpy()


def step_coefficients(
    cell: str, model: RecurrentModel, lt: dict[str, Tensor], sequences: int
) -> dict[str, np.ndarray]:
    """The one-step Jacobian coefficients (STEP_COEFFICIENTS) of the first `sequences`
    sequences of the recorded layer `lt`, in processing order, float32: "blocks" (n, T, G, H)
    in the order of CellSpec.blocks; "inputs" the same towards the layer's input, where the
    input enters a block otherwise than h_{t-1} does (the GRU's candidate); "carry", "dhdc"
    and "e" (n, T, H) where the cell has them."""
    rev = lt["reverse"]
    suffix = f"_l{lt['layer']}{'_reverse' if rev else ''}"
    q = {k: order(v[:sequences], rev).float() for k, v in lt.items() if isinstance(v, Tensor)}
    coef = STEP_COEFFICIENTS[cell](model, q, suffix)  # name -> (n, T, H)
    blocks = CELLS[cell].blocks
    out = {"blocks": _np(torch.stack([coef[b] for b in blocks], 2))}
    if any(f"{b}_input" in coef for b in blocks):
        out["inputs"] = _np(torch.stack([coef.get(f"{b}_input", coef[b]) for b in blocks], 2))
    return out | {k: _np(coef[k]) for k in ("carry", "dhdc", "e") if k in coef}


def _np(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


# The diagonal coefficients of each step's Jacobian, (B, T, H) each (see jacobian_norms):
# d(cell output)/d(pre-activation of each gate block, named as CellSpec.blocks), the direct
# carry, dh/dc and dc/dc_prev. Derived by hand per cell: a cell without an entry here is
# recorded without ||dh_T/dh_t|| (meta["jacobian"] says so) rather than with a wrong one.


def _rnn_coefficients(model: RecurrentModel, q: dict, suffix: str) -> dict:
    a = q["a"]  # one block, h = f(a)
    tanh = model.config.nonlinearity == "tanh"
    return {"h": 1 - elementwise.tanh(a) ** 2 if tanh else (a > 0).float()}


def _lstm_coefficients(model: RecurrentModel, q: dict, suffix: str) -> dict:
    i, f, g, o, c = (q[k] for k in ("i", "f", "g", "o", "c"))
    cp = q.get("c_prev", prev(c))
    tc = elementwise.tanh(c)
    do = o * (1 - o)
    out = {
        "i": g * i * (1 - i),
        "f": cp * f * (1 - f),
        "g": i * (1 - g**2),
        "o": tc * do,
        "dhdc": o * (1 - tc**2),
        "e": f,
    }
    if CELLS[model.config.cell].peephole:  # the gates also see c: paths c -> i, f and c_t -> o
        w_ci, w_cf, w_co = getattr(model.rnn, "weight_ch" + suffix).detach().float().chunk(3)
        out["dhdc"] = out["dhdc"] + tc * do * w_co
        out["e"] = f + out["f"] * w_cf + out["i"] * w_ci
    return out


def _gru_coefficients(model: RecurrentModel, q: dict, suffix: str) -> dict:
    z, n, r, ghn = q["z"], q["n"], q["r"], q["gh_n"]
    hp = q.get("h_prev", prev(q["h"]))
    dn = (1 - z) * (1 - n**2)
    # n_t = tanh(W_in x_t + r_t (W_hn h_{t-1} + b_hn) + …): the input skips the reset gate
    return {
        "carry": z,
        "r": dn * ghn * r * (1 - r),
        "z": (hp - n) * z * (1 - z),
        "n": dn * r,
        "n_input": dn,
    }


def _simple_gru_coefficients(model: RecurrentModel, q: dict, suffix: str) -> dict:
    z, n = q["z"], q["n"]
    hp = q.get("h_prev", prev(q["h"]))
    return {"carry": z, "z": (hp - n) * z * (1 - z), "n": (1 - z) * (1 - n**2)}


STEP_COEFFICIENTS: dict[str, Callable[[RecurrentModel, dict, str], dict]] = {
    "rnn": _rnn_coefficients,
    "lstm": _lstm_coefficients,
    "peephole-lstm": _lstm_coefficients,
    "gru": _gru_coefficients,
    "simple-gru": _simple_gru_coefficients,
}


def rnn_step_factors(model: RecurrentModel, lt: dict, sequences: int | None) -> np.ndarray:
    """||diag(f'(a_t)) W_hh||_2, the norm of each one-step Jacobian of the Elman RNN, for
    every t of the first `sequences` sequences (B, T); the rest NaN."""
    B, T, _ = lt["a"].shape
    n = B if sequences is None else max(0, min(sequences, B))
    out = np.full((B, T), np.nan)
    suffix = f"_l{lt['layer']}{'_reverse' if lt['reverse'] else ''}"
    w_hh = _np(getattr(model.rnn, "weight_hh" + suffix))
    out[:n] = rnn_step_jacobian_norms(_np(lt["a"][:n]), w_hh, model.config.nonlinearity)
    return out
