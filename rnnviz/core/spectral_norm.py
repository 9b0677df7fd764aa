"""||M||_2, the largest singular value, of every matrix of a stack, exact to 1e-4 relative.

The recorder needs it for a few hundred matrices per recording (the running product of
Jacobians ||dh_T/dh_t||, the Elman RNN's one-step factors), where a dense eigensolver costs
some fifteen matrix products each at H = 128. With a guess of each top left singular vector
(the running product changes slowly from step to step) a Lanczos iteration on M M^T, batched
over the stack, needs a few dozen thin products instead, and checks its own convergence.

Lanczos: Golub & Van Loan, Matrix Computations (4th ed.), section 10.1; the error bound of a
Ritz value: the Kato-Temple inequality, in Parlett, The Symmetric Eigenvalue Problem (1998).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

SPECTRAL_RTOL = 1e-4  # relative accuracy of an iterated norm against the exact SVD
# ... and of the eigenvalue lambda = ||M||^2 that certified_top proves: the norm, its square
# root, has half its relative error (1.9, not 2: a margin for rounding). Proving lambda to
# SPECTRAL_RTOL itself certified fewer norms (the Jacobian chain took 1.05-1.2x as long)
# for norms twice as exact as asked.
EIG_RTOL = 1.9 * SPECTRAL_RTOL
ITERATE_FROM = 48  # below this size m the batched exact eigensolver is as cheap
_MAX_ITER = 40  # Lanczos steps; then the exact solver, for the few that have not converged
# steps after which convergence is checked (and _MAX_ITER). The first only notes theta: none
# can converge there, "held still" needing an earlier value. From 3, 5, 8, …: the LSTM chain
# at H = 128 took 1.03x as long, the Elman RNN's at H = 128, T = 200 1.15x (one run each)
_CHECKS = (5, 8, 12, 16, 24, 32)
_RANDOM_PART = 0.1  # the weight of a fixed random vector mixed into each start (see there)
_FEW, _FEW_AFTER = 2, 16  # at most this many operators left after so many steps: exactly


def spectral_norms(
    M: np.ndarray, start: np.ndarray | None = None, scale: np.ndarray | None = None
) -> np.ndarray:
    """||M||_2 of each matrix of a stack (..., m, n), to SPECTRAL_RTOL relative; NaN where M
    is not finite, 0 where it is 0.

    Without `start`, or for small matrices (m < 48), the exact solver: the square root of the
    largest eigenvalue of M M^T (a symmetric eigenproblem, cheaper than an SVD, which it falls
    back to where the eigensolver fails, e.g. on many repeated eigenvalues). With `start`
    (..., m, k), guesses of each top left singular vector (k = 1) or of the top two (k = 2),
    larger ones are iterated (lanczos_norms). Every matrix is scaled to a largest entry of 1
    (the iteration scales its thin products instead), so M M^T neither underflows nor
    overflows in float32; or by `scale` (...,), a size of each matrix the caller knows
    (the chain's Frobenius norms: no two passes over the stack for its largest entries),
    where that is finite and positive.
    """
    M = np.asarray(M)
    if not np.issubdtype(M.dtype, np.floating):
        M = M.astype(np.float64)
    batch, (m, n) = M.shape[:-2], M.shape[-2:]
    A = M.reshape(-1, m, n)
    given = np.zeros(len(A)) if scale is None else np.asarray(scale, np.float64).reshape(-1)
    scale = given.copy()
    find = ~(np.isfinite(given) & (given > 0))  # 0 may be a Frobenius norm that underflowed
    with np.errstate(invalid="ignore"):  # NaN propagates through max, inf to the scale
        Af = A if find.all() else A[find]
        scale[find] = np.maximum(Af.max(axis=(1, 2)), -Af.min(axis=(1, 2)))  # largest |entry|
    out = np.where(np.isfinite(scale), 0.0, np.nan)
    idx = np.flatnonzero(np.isfinite(scale) & (scale > 0))
    if idx.size:
        Ai = A if idx.size == len(A) else A[idx]
        if start is None or m < ITERATE_FROM:
            X = Ai / scale[idx, None, None].astype(A.dtype)  # largest entry 1
            out[idx] = exact_norms(X) * scale[idx]
        else:
            s = np.broadcast_to(start, (*batch, m, np.shape(start)[-1]))
            guess = s.reshape(-1, m, s.shape[-1])[idx]
            out[idx] = lanczos_norms(Ai, guess, scale[idx]) * scale[idx]
    return out.reshape(batch)


def exact_norms(X: np.ndarray) -> np.ndarray:
    """||X||_2 of each finite matrix of a stack (N, m, n) by a dense solver."""
    try:
        top = np.linalg.eigvalsh(X @ np.swapaxes(X, -1, -2))[..., -1]
        return np.sqrt(top.clip(0).astype(np.float64))
    except np.linalg.LinAlgError:
        return np.linalg.norm(X.astype(np.float64), ord=2, axis=(-2, -1))


def certified_top(U: np.ndarray, AU: np.ndarray, trace: np.ndarray) -> np.ndarray:
    """The largest eigenvalue of each symmetric positive semi-definite A_i (N, m, m) where a
    two-column subspace proves it to EIG_RTOL relative, else NaN; from U (N, m, 2),
    orthonormal columns, AU = A_i U, and trace(A_i) (N,), or an upper bound of it. Nothing
    else of A is needed, so a caller that tracks the top two eigenvectors gets its norms for
    one product each.

    The Ritz values theta_1 >= theta_2 of A on span(U), residuals r_1, r_2 of their vectors
    x_1, x_2: theta_1 <= lambda_1 (a Rayleigh quotient). For a unit z = a_1 x_1 + a_2 x_2 +
    b w, w orthogonal to both, z^T A z <= v^T B v with v = (|a_1|, |a_2|, |b|) and

        B = [[theta_1, 0, r_1], [0, theta_2, r_2], [r_1, r_2, c]],   c = trace - theta_1 - theta_2

    (x_1^T A x_2 = 0, |x_i^T A w| <= r_i, and w^T A w is at most the largest eigenvalue of A
    on the complement, at most its trace c: positive semi-definite). So lambda_1 <=
    lambda_max(B), a bound that is tight where the spectrum below the top two is small beside
    the top, as in a running product whose singular values have spread apart; where it is
    within EIG_RTOL of theta_1 the midpoint is returned (rounding aside, rigorous)."""
    U, AU = np.asarray(U, np.float64), np.asarray(AU, np.float64)
    P = np.swapaxes(U, 1, 2) @ AU  # (N, 2, 2): A on span(U)
    a, b, d = P[:, 0, 0], (P[:, 0, 1] + P[:, 1, 0]) / 2, P[:, 1, 1]
    mid, rad = (a + d) / 2, np.hypot((a - d) / 2, b)
    theta = np.stack([mid + rad, mid - rad], -1)  # (N, 2), descending
    y = np.stack([theta[:, 0] - d, b], -1)  # the top eigenvector of P (unnormalised)
    y[(y == 0).all(-1)] = (1.0, 0.0)  # P diagonal with a >= d
    y /= np.linalg.norm(y, axis=-1, keepdims=True)
    Y = np.stack([y, np.stack([-y[:, 1], y[:, 0]], -1)], -1)  # (N, 2, 2): columns x_1, x_2
    r = np.linalg.norm(AU @ Y - (U @ Y) * theta[:, None, :], axis=1)  # (N, 2)
    B = np.zeros((len(P), 3, 3))
    B[:, 0, 0], B[:, 1, 1] = theta[:, 0], theta[:, 1]
    B[:, 2, 2] = np.maximum(np.asarray(trace, np.float64) - theta.sum(-1), 0.0)
    B[:, 0, 2], B[:, 1, 2] = r[:, 0], r[:, 1]
    B[:, 2, 0], B[:, 2, 1] = r[:, 0], r[:, 1]
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(B).all((1, 2))
        upper = np.full(len(P), np.nan)
        upper[ok] = np.linalg.eigvalsh(B[ok])[:, -1]
        good = ok & (theta[:, 0] >= 0) & (upper <= theta[:, 0] * (1 + EIG_RTOL))
    return np.where(good, (theta[:, 0] + upper) / 2, np.nan)


def lanczos_norms(X: np.ndarray, guess: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """||X||_2 / scale of each finite matrix of a stack (N, m, n), by lanczos_top on X X^T
    from `guess` (N, m) or (N, m, 2). `scale` (N,), default 1, is applied to the thin
    products, so a stack of large matrices is not copied to be scaled. The products run in
    X's dtype."""
    inv = np.ones(len(X)) if scale is None else 1.0 / np.asarray(scale, dtype=np.float64)
    held = {"ids": None}  # the stack of the matrices last asked for, and their scales

    def apply(V: np.ndarray, ids: np.ndarray) -> np.ndarray:
        if held["ids"] is not ids:  # fewer matrices live: copy them once
            Xt = X if len(ids) == len(X) else X[ids]
            s = inv[ids, None, None].astype(X.dtype)
            held.update(ids=ids, X=Xt, XT=np.swapaxes(Xt, 1, 2), s=s)
        Xt, XT, s = held["X"], held["XT"], held["s"]
        W = np.empty(V.shape, dtype=X.dtype)
        for c in range(V.shape[1]):  # one vector at a time: numpy's stacked products with
            y = V[:, c : c + 1].astype(X.dtype) @ Xt  # two rows measured 3-7x one row's cost
            y *= s  # (k, 1, n) = v X / scale
            np.multiply(y @ XT, s, out=W[:, c : c + 1])
        return W

    top, done = lanczos_top(apply, guess)
    norms = np.sqrt(top.clip(0))
    rest = np.flatnonzero(~done)
    if rest.size:
        norms[rest] = exact_norms(X[rest].astype(np.float64) * inv[rest, None, None])
    return norms


def lanczos_top(
    apply: Callable[[np.ndarray, np.ndarray], np.ndarray],
    guess: np.ndarray,
    checks: tuple[int, ...] = _CHECKS,
) -> tuple[np.ndarray, np.ndarray]:
    """The largest eigenvalue of each of N symmetric positive semi-definite operators A_i,
    to SPECTRAL_RTOL relative (not EIG_RTOL: its test is no proof, see the tests), by
    Lanczos from `guess` (N, m) or (N, m, 2); (eigenvalues (N,), converged (N,) bool).
    apply(V, ids) returns A_ids[k] V[k]^T as rows, V (len(ids), p, m) float32, p the number
    of sequences (below). `checks`: the steps after which convergence is checked (below),
    ascending, at least two.

    A Lanczos sequence starts from the guess (the sum of its columns, plus a little of a
    fixed random vector). One whose start has almost no component along the top eigenvector
    can settle on the second eigenvalue, residual and all (from a guess that is the second
    singular vector, the top 1% above in a crowded spectrum: 13 wrong in 20). So a guess of
    one column gets a second sequence beside it, from another fixed random vector, and an
    operator is done only when both have converged to the same value: both settling on the
    second eigenvalue is unlikely, the random one needing more steps to get there. A guess
    of two columns, the top two eigenvectors as the Jacobian chain tracks them (when its top
    two singular values cross, the new top is the old second), runs alone: the top is in its
    start. Each new Lanczos vector is orthogonalised against all the earlier ones, twice
    (classical Gram-Schmidt: the three-term recurrence's coefficients and a full
    reorthogonalisation in four stacked products; a few dozen vectors, cheap beside the
    operators), so no spurious copies of a Ritz value appear. The vectors are float32, one
    row per sequence, and T's entries float64: the LSTM chain's norms at H = 64 and 128 move
    by at most 4e-8 from float64 vectors (four-axis stacks), and the 31-32 crowded steps at
    H = 128 take 0.90-0.95x as long (paired runs). After each of the steps in `checks`
    (default _CHECKS) a sequence has converged when its top Ritz value theta held still to
    SPECTRAL_RTOL since the last check and its residual r = beta_k |s_k| has min(r, r^2 /
    gap) <= SPECTRAL_RTOL * theta, with the gap to the second Ritz value plus its residual
    (Kato-Temple); a Krylov space that closes (beta at float32's rounding of T) holds exact
    eigenvalues. Those not done after _MAX_ITER steps, or the last _FEW after _FEW_AFTER
    steps, are reported so (the caller solves them exactly).
    """
    g = np.nan_to_num(np.asarray(guess, dtype=np.float64))
    g = g[..., None] if g.ndim == 2 else g  # (N, m, columns)
    N, m, pair = *g.shape[:2], g.shape[2] >= 2
    K = min(_MAX_ITER, m)
    first, second = _fixed_random(m)
    v = (g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)).sum(-1)
    starts = [v + _RANDOM_PART * first / np.sqrt(m)]
    if not pair:
        starts.append(np.broadcast_to(second, (N, m)))
    v = np.stack(starts, 1)
    v /= np.linalg.norm(v, axis=2, keepdims=True)  # (N, p, m), p sequences
    p = v.shape[1]
    # One row per sequence: operator i's are rows p i ... p i + p - 1.
    Q = np.zeros((N * p, checks[1] + 1, m), dtype=np.float32)  # grows as they are needed
    Q[:, 0] = v.reshape(N * p, m)
    alpha, beta = np.zeros((N * p, K)), np.zeros((N * p, K))
    size = np.full(N * p, 1e-300)  # the largest |alpha| so far: the scale of beta = 0
    top_all, done_all = np.full(N, np.nan), np.zeros(N, dtype=bool)
    # Rows: operators still iterating, and some done ones, which iterate on until fewer than
    # half are live (apply may copy what it needs for a new set of ids).
    ids = np.arange(N)  # the operator of each row
    live, last = np.ones(N, dtype=bool), np.full((N, p), -1.0)
    checks = [c for c in checks if c < K] + [K]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in range(K):
            if j + 1 == Q.shape[1]:
                Q = np.concatenate([Q, np.zeros_like(Q)], 1)[:, : K + 1]
            Qj = Q[:, : j + 1]  # (rows, j+1, m)
            w = apply(Qj[:, j].reshape(-1, p, m), ids).reshape(-1, 1, m).astype(np.float32)
            QjT = np.swapaxes(Qj, 1, 2)
            h = w @ QjT  # (rows, 1, j+1): alpha_j last, beta_(j-1) before it
            w -= h @ Qj
            h2 = w @ QjT
            w -= h2 @ Qj
            alpha[:, j] = h[:, 0, j] + h2[:, 0, j]
            b = beta[:, j] = np.sqrt(np.einsum("rim,rim->r", w, w))
            np.maximum(size, np.abs(alpha[:, j]), out=size)
            closed = b <= 1e-6 * size
            np.divide(w[:, 0], b[:, None], out=Q[:, j + 1], where=~closed[:, None])
            closed = closed.reshape(-1, p)
            if j + 1 not in checks and not closed[live].all():
                continue
            k, L = j + 1, np.flatnonzero(live)  # Ritz values of the live rows only
            rows = (L[:, None] * p + np.arange(p)).reshape(-1)
            theta, s_k = top_ritz(alpha[rows, :k], beta[rows, : k - 1])  # top two, ascending
            theta, s_k = theta.reshape(len(L), p, -1), s_k.reshape(len(L), p, -1)
            cl = closed[L]
            last_beta = beta[rows, j].reshape(-1, p, 1)
            res = np.where(cl[..., None], 0.0, np.abs(last_beta * s_k))
            top, r = theta[..., -1], res[..., -1]  # (live, p)
            bound = r
            if k > 1:
                gap = top - theta[..., -2] - res[..., -2]  # to an upper estimate of lambda_2
                bound = np.where(gap > 0, np.minimum(r, r**2 / gap), r)
            held = (top - last[L] <= SPECTRAL_RTOL * top) | cl
            conv = (bound <= SPECTRAL_RTOL * top) & held
            if pair:
                best, ok = top[:, 0], conv[:, 0]
            else:
                best = top.max(1)
                ok = conv.all(1) & (np.abs(top[:, 0] - top[:, 1]) <= SPECTRAL_RTOL * best)
            top_all[ids[L[ok]]], done_all[ids[L[ok]]] = best[ok], True
            last[L] = top
            done = np.zeros_like(live)
            done[L[ok]] = True
            live &= ~done
            # the last few of a crowded top: past _FEW_AFTER steps, each step costs them as
            # much as a whole batch's would, and the exact solver takes them
            if not live.any() or (k >= _FEW_AFTER and live.sum() <= _FEW):
                break
            if live.sum() <= len(ids) // 2:
                keep = np.repeat(live, p)
                Q, alpha, beta, size = Q[keep], alpha[keep], beta[keep], size[keep]
                ids, last, live = ids[live], last[live], live[live]
    return top_all, done_all


@cache
def _fixed_random(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Two fixed random vectors of size m (lanczos_top's starts), drawn once: a generator
    took 0.1 ms to make at every call."""
    rng = np.random.default_rng(0)
    out = rng.standard_normal(m), rng.standard_normal(m)
    for x in out:
        x.flags.writeable = False
    return out


def top_ritz(alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The top two eigenvalues theta of each symmetric tridiagonal T (n, k), ascending, and
    |s|, the last component of each one's unit eigenvector, (n, min(k, 2)) each; from its
    diagonal alpha (n, k) and off-diagonal beta (n, k - 1).

    The eigenvalues by a dense solver without vectors (at k = 16 it took 0.4x as long as
    one with them), the components by an identity: e_k^T (x I - T)^-1 e_k =
    chi_(k-1)(x) / chi_k(x) = sum_i s_i^2 / (x - theta_i), chi_m the characteristic
    polynomial of T's leading m x m block, so the residue at theta_i is

        s_i^2 = chi_(k-1)(theta_i) / prod_(j != i) (theta_i - theta_j)

    with chi_(k-1)(theta_i) the product of the pivots d_m = chi_m / chi_(m-1) = theta - alpha_m
    - beta_(m-1)^2 / d_(m-1), summed as logarithms (no overflow), a pivot of 0 taken as a
    tiny one (the limit of the product is finite). Two equal eigenvalues give s = inf: a
    residual that proves nothing. Against the solver's vectors: within 2e-6 of |s| on
    random T with off-diagonals down to 1e-8 (tests/core/test_spectral_norms.py)."""
    n, k = alpha.shape
    T = np.zeros((n, k, k))
    d = np.arange(k)
    T[:, d, d] = alpha
    T[:, d[1:], d[:-1]] = T[:, d[:-1], d[1:]] = beta
    every = np.linalg.eigvalsh(T)  # ascending
    theta = every[:, -2:]
    q = theta.shape[1]
    size = np.abs(alpha).max(1) + np.abs(beta).max(1, initial=0.0)
    tiny = (1e-150 * size + 1e-300)[:, None]  # > 0 even for T = 0
    log_chi, piv = np.zeros((n, q)), np.ones((n, q))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for m in range(k - 1):
            b2 = beta[:, m - 1, None] ** 2 if m else 0.0
            piv = theta - alpha[:, m, None] - b2 / piv
            piv = np.where(np.abs(piv) < tiny, tiny, piv)
            log_chi += np.log(np.abs(piv))
        apart = np.abs(theta[:, :, None] - every[:, None, :])  # (n, q, k)
        apart[:, np.arange(q), np.arange(k - q, k)] = 1.0  # j = i
        last = np.exp(0.5 * (log_chi - np.log(apart).sum(-1)))
    return theta, last
