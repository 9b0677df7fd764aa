"""||dh_final/dh_t||: the spectral norm of the Jacobian of a direction's final hidden state
with respect to every h_t, from the one-step Jacobians of a recorded layer.

Final is t = T-1 for a forward direction and t = 0 for a reverse one; the cell state c_t is
held fixed. See jacobian_norms for the chain and how its norms are found.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from rnnviz.core import spectral_norm
from rnnviz.core.analysis import rnn_step_jacobian_norms
from rnnviz.core.cells import CELLS
from rnnviz.core.model import RecurrentModel
from rnnviz.core.spectral_norm import spectral_norms
from rnnviz.core.timeaxis import order, prev

_MAX = np.maximum.reduce
_TRUNCATE_EVERY = 16  # steps of the chain between truncations of its rank (_truncate), the
# interval doubling while a truncation drops nothing (the first few dozen steps keep all)
RANK_RTOL = 1e-7  # singular values of the chain kept: the float32 chain's own noise floor


def jacobian_norms(
    cell: str, model: RecurrentModel, lt: dict[str, Tensor], sequences: int | None = None
) -> Tensor:
    """||dh_final/dh_t||_2 for every t, (B, T) float64, by the chain M_{t-1} = M_t J_t.

    M is the (B, H, H) Jacobian of the final hidden state w.r.t. h_t. One step back:

        RNN, GRU, simplified GRU   M_{t-1} = M_t J_t, with J_t = dh_t/dh_{t-1} (H, H)
        LSTM (and peephole)        K = M_t diag(dh_t/dc_t) + Mc_t
                                   M_{t-1} = K A_t + M_t D_t,   Mc_{t-1} = K diag(e_t)

    where Mc is the Jacobian w.r.t. c_t, A_t = sum over the gates i, f, g of diag(d gate
    term) W_block, D_t the same for the output gate, and e_t = dc_t/dc_{t-1} (the forget gate,
    plus the peephole terms). The per-step matrices are built for 128 steps at a time in
    batched operations, so each step of the loop is one matrix product ([K | M_t] [A_t; D_t]
    for the LSTM). Works in processing order. Only the first `sequences` sequences are
    computed (None: all); the others are NaN.

    The chain runs in float32 and is rescaled at every step (the scale is kept as a float64
    logarithm), so products of a thousand small or large factors neither underflow nor
    overflow. Every 16 steps (the interval doubling while nothing is dropped) its rows turn
    to the top left singular directions of [M_t | Mc_t] and those below RANK_RTOL of the
    largest are dropped (_truncate): the running product's singular values spread apart as
    factors are appended, so a long chain keeps a few dozen rows (measured at H = 64: about
    44 of 64 after 50 steps, 10 after 200), and its products cost r/H of a full one. The
    norms of 128 steps at a time come from spectral_norm.spectral_norms, exact to 1e-4
    relative: Lanczos from the top two left singular vectors of M_t as the loop tracks them,
    one step of simultaneous iteration per t (the running product changes slowly, its left
    singular vectors settle as factors are appended on the right, and when the top two cross
    the new top is already in the pair); once fewer than spectral_norm.ITERATE_FROM rows are
    left, the exact solver, and no pair is tracked. The chain is O(T H^2 r): the one part of
    a recording that cannot ride on the fused kernel.
    """
    rev = lt["reverse"]
    B_all = lt["h"].shape[0]
    n = B_all if sequences is None else max(0, min(sequences, B_all))
    if n == 0:
        return torch.full(lt["h"].shape[:2], float("nan"), dtype=torch.float64)
    suffix = f"_l{lt['layer']}{'_reverse' if rev else ''}"
    W = getattr(model.rnn, "weight_hh" + suffix).detach().float()  # (G*H, H)
    q = {k: order(v[:n], rev).float() for k, v in lt.items() if isinstance(v, Tensor)}
    B, T, H = q["h"].shape
    blocks = W.view(-1, H, H)  # (G, H, H)
    coef = STEP_COEFFICIENTS[cell](model, q, suffix)  # name -> (B, T, H), processing order
    spec = CELLS[cell]
    # The output gate, last in torch's order, acts on h_t = o_t tanh(c_t), the others on c_t:
    # M_{t-1} = [K | M_t] [A_t; D_t], one product with the inner size 2H.
    parts = [list(enumerate(spec.blocks))]
    if spec.cell_state:
        parts = [parts[0][:-1], parts[0][-1:]]
    # The loop runs in numpy: its many small operations cost a microsecond there, several
    # in torch. The per-step matrices are built in torch, on the model's device. Rows
    # r … H-1 of every buffer are unused once the rank is truncated to r.
    KM = np.zeros((B, H, len(parts) * H), dtype=np.float32)  # [K | M_t], or M_t alone
    KM[:, :, -H:] = np.eye(H, dtype=np.float32)  # M_{T-1} = I
    Mc = np.zeros((B, H, H) if spec.cell_state else (B, H, 1), dtype=np.float32)  # dh/dc_t
    u = np.zeros((B, H, 2), dtype=np.float32)  # top two left singular vectors of M_t
    u[:, :, 0] = H**-0.5
    u[:, 1::2, 1], u[:, ::2, 1] = H**-0.5, -(H**-0.5)
    r = H  # rows of the chain: the rank it keeps (see _truncate)
    steps, every, next_truncation = 0, _TRUNCATE_EVERY, _TRUNCATE_EVERY
    log_scale = np.zeros(B)
    chunks = [np.ones((B, 1))]  # t = T-1: ||I|| = 1
    for hi in range(T - 1, 0, -128):  # steps t = hi … lo give M_{t-1}
        lo = max(1, hi - 127)
        ts = slice(lo, hi + 1)
        step = _np(_step_matrices(coef, blocks, parts, ts))  # (B, n, P*H, H)
        if spec.cell_state:
            dhdc, e = _np(coef["dhdc"][:, ts]), _np(coef["e"][:, ts])
        r0 = r
        # below ITERATE_FROM rows the norms are solved exactly, and rows only ever go: the
        # guess is no longer needed
        track = r0 >= spectral_norm.ITERATE_FROM
        chain = np.zeros((B, hi - lo + 1, r0, H), dtype=np.float32)
        guess = np.zeros((B, hi - lo + 1, r0, 2), dtype=np.float32)
        scales = np.empty((B, hi - lo + 1))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as torch
            for j, k in enumerate(range(hi - lo, -1, -1)):  # t = lo + k, from hi down to lo
                KMr, Mcr, M = KM[:, :r], Mc[:, :r], chain[:, j, :r]  # M written in place
                if spec.cell_state:
                    K = KMr[:, :, :H]  # K = M_t diag(dh_t/dc_t) + Mc_t
                    np.multiply(KMr[:, :, H:], dhdc[:, k, None, :], out=K)
                    K += Mcr
                    np.multiply(K, e[:, k, None, :], out=Mcr)
                np.matmul(KMr, step[:, k], out=M)
                # rescale: largest entry 1; zero (a dead ReLU chain) and non-finite stay
                # (ufuncs' own reduce: the array methods' wrappers cost more than the work)
                s = np.maximum(_MAX(np.abs(M), axis=(1, 2)), _MAX(np.abs(Mcr), axis=(1, 2)))
                s = np.where((s > 0) & (s < np.inf), s, 1.0)  # (B,)
                M /= s[:, None, None]
                Mcr /= s[:, None, None]
                KMr[:, :, -H:] = M
                scales[:, j] = s
                # a step of simultaneous iteration on M M^T keeps the top two left singular
                # vectors as the guess for spectral_norms (both: when the top two cross,
                # the new top is the second of the old)
                if track:
                    v = _orthonormal_pair(M @ (np.swapaxes(M, 1, 2) @ u[:, :r]))  # (B, r, 2)
                    u[:, :r] = guess[:, j, :r] = v
                steps += 1
                if steps == next_truncation:
                    r, kept = _truncate(KM, Mc, u, r, spec.cell_state), r
                    every = _TRUNCATE_EVERY if r < kept else 2 * every
                    next_truncation += every
        scales = log_scale[:, None] + np.cumsum(np.log(scales), 1)  # float64 logarithms
        log_scale = scales[:, -1]
        with np.errstate(over="ignore"):
            chunks.append(spectral_norms(chain, guess if track else None) * np.exp(scales))
    norms = torch.from_numpy(np.concatenate(chunks, 1)[:, ::-1].copy())  # (n, T), t = 0 … T-1
    if n < B_all:
        pad = torch.full((B_all - n, T), float("nan"), dtype=torch.float64, device=norms.device)
        norms = torch.cat([norms, pad])
    return order(norms, rev)


def _orthonormal_pair(v: np.ndarray) -> np.ndarray:
    """The columns of v (B, r, 2) made orthonormal in place, the first kept in direction
    (Gram-Schmidt through their 2 x 2 Gram matrix: few operations, it runs at every step).
    A column that vanishes becomes NaN, which the iteration ignores; the first does only
    where the chain is 0, and stays 0."""
    g = np.einsum("bri,brj->bij", v, v)  # (B, 2, 2)
    a, b = v[..., 0], v[..., 1]
    b -= (g[:, 0, 1] / g[:, 0, 0])[:, None] * a
    b /= np.sqrt(g[:, 1, 1] - g[:, 0, 1] ** 2 / g[:, 0, 0])[:, None]
    a /= np.sqrt(g[:, 0, 0])[:, None]
    return v


def _truncate(KM: np.ndarray, Mc: np.ndarray, u: np.ndarray, r: int, cell_state: bool) -> int:
    """Keep the chain's top left singular directions: rows 0 … r-1 of [M_t | Mc_t] become
    P^T [M_t | Mc_t] with P the eigenvectors of their Gram matrix whose singular values reach
    RANK_RTOL of the largest (in every sequence); the guess u turns with them. Returns the
    new row count, in place. Norms are unchanged (P has orthonormal columns), later products
    cost r/H of a full one, and what is dropped lies below the noise the float32 chain adds
    at every step anyway. Skipped where the chain is not finite (NaN must propagate)."""
    H = KM.shape[-1] // (2 if cell_state else 1)
    M, C = KM[:, :r, -H:], Mc[:, :r]
    if not (np.isfinite(M).all() and np.isfinite(C).all()):
        return r
    F = np.concatenate([M, C], -1).astype(np.float64) if cell_state else M.astype(np.float64)
    lam, P = np.linalg.eigh(F @ np.swapaxes(F, 1, 2))  # (B, r), ascending
    keep = max(1, int((lam > RANK_RTOL**2 * lam[:, -1:]).sum(1).max()))
    if keep == r:
        return r
    Pt = np.swapaxes(P[:, :, -keep:], 1, 2).astype(np.float32)  # (B, keep, r)
    KM[:, :keep, -H:] = Pt @ M
    if cell_state:
        Mc[:, :keep] = Pt @ C
    u[:, :keep] = Pt @ u[:, :r]
    return keep


def _step_matrices(coef: dict, blocks: Tensor, parts: list, ts: slice) -> Tensor:
    """The one-step matrices of steps `ts`, (B, n, P*H, H): for each part, the sum over its
    gate blocks of diag(coef_t) W_block (plus the carry diag(z_t) of a GRU), stacked."""
    B, n, H = coef[parts[0][0][1]][:, ts].shape
    out = torch.empty(B, n, len(parts), H, H, dtype=blocks.dtype, device=blocks.device)
    for p, names in enumerate(parts):
        torch.mul(coef[names[0][1]][:, ts, :, None], blocks[names[0][0]], out=out[:, :, p])
        for g, k in names[1:]:
            out[:, :, p].addcmul_(coef[k][:, ts, :, None], blocks[g])
    if "carry" in coef:  # the GRU's direct path z_t h_{t-1}
        out[:, :, 0].diagonal(dim1=-2, dim2=-1).add_(coef["carry"][:, ts])
    return out.view(B, n, len(parts) * H, H)


def _np(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


# The diagonal coefficients of each step's Jacobian, (B, T, H) each (see jacobian_norms):
# d(cell output)/d(pre-activation of each gate block, named as CellSpec.blocks), the direct
# carry, dh/dc and dc/dc_prev. Derived by hand per cell: a cell without an entry here is
# recorded without ||dh_T/dh_t|| (meta["jacobian"] says so) rather than with a wrong one.


def _rnn_coefficients(model: RecurrentModel, q: dict, suffix: str) -> dict:
    a = q["a"]  # one block, h = f(a)
    tanh = model.config.nonlinearity == "tanh"
    return {"h": 1 - torch.tanh(a) ** 2 if tanh else (a > 0).float()}


def _lstm_coefficients(model: RecurrentModel, q: dict, suffix: str) -> dict:
    i, f, g, o, c = (q[k] for k in ("i", "f", "g", "o", "c"))
    cp = q.get("c_prev", prev(c))
    tc = torch.tanh(c)
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
    return {"carry": z, "r": dn * ghn * r * (1 - r), "z": (hp - n) * z * (1 - z), "n": dn * r}


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
