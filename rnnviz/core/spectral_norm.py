"""||M||_2, the largest singular value, of every matrix of a stack, exact to 1e-4 relative.

The recorder needs it for a few hundred matrices per recording (the running product of
Jacobians ||dh_T/dh_t||, the Elman RNN's one-step factors), where a dense eigensolver costs
some fifteen matrix products each at H = 128. With a guess of each top left singular vector
(the running product changes slowly from step to step) a Lanczos iteration on M M^T, batched
over the stack, needs a few dozen thin products instead, and checks its own convergence.

Lanczos: Golub & Van Loan, Matrix Computations (4th ed.), section 10.1; the error bound of a
Ritz value: Parlett, The Symmetric Eigenvalue Problem (1998), sections 11.5 (Kato-Temple).
"""

from __future__ import annotations

import numpy as np

SPECTRAL_RTOL = 1e-4  # relative accuracy of an iterated norm against the exact SVD
_ITERATE_FROM = 48  # below this size m the batched exact eigensolver is as cheap
_MAX_ITER = 40  # Lanczos steps; then the exact solver, for the few that have not converged
_CHECKS = (3, 5, 8, 12, 16, 24, 32)  # steps after which convergence is checked (and _MAX_ITER)
_RANDOM_PART = 0.1  # the weight of a fixed random vector mixed into each start (see there)


def spectral_norms(M: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """||M||_2 of each matrix of a stack (..., m, n), to SPECTRAL_RTOL relative; NaN where M
    is not finite, 0 where it is 0.

    Without `start`, or for small matrices (m < 48), the exact solver: the square root of the
    largest eigenvalue of M M^T (a symmetric eigenproblem, cheaper than an SVD, which it falls
    back to where the eigensolver fails, e.g. on many repeated eigenvalues). With `start`
    (..., m, k), a guess of each top left singular vector in its first column, larger ones are
    iterated (lanczos_norms). Every matrix is scaled to a largest entry of 1 (the iteration
    scales its thin products instead), so M M^T neither underflows nor overflows in float32.
    """
    M = np.asarray(M)
    if not np.issubdtype(M.dtype, np.floating):
        M = M.astype(np.float64)
    batch, (m, n) = M.shape[:-2], M.shape[-2:]
    A = M.reshape(-1, m, n)
    with np.errstate(invalid="ignore"):  # NaN propagates through max, inf to the scale
        scale = np.maximum(A.max(axis=(1, 2)), -A.min(axis=(1, 2)))  # largest |entry|
    out = np.where(np.isfinite(scale), 0.0, np.nan)
    idx = np.flatnonzero(np.isfinite(scale) & (scale > 0))
    if idx.size:
        Ai = A if idx.size == len(A) else A[idx]
        if start is None or m < _ITERATE_FROM:
            X = Ai / scale[idx, None, None].astype(A.dtype)  # largest entry 1
            out[idx] = exact_norms(X) * scale[idx]
        else:
            s = np.broadcast_to(start, (*batch, m, np.shape(start)[-1]))
            guess = s.reshape(-1, m, s.shape[-1])[idx, :, 0]
            out[idx] = lanczos_norms(Ai, guess, scale[idx]) * scale[idx]
    return out.reshape(batch)


def exact_norms(X: np.ndarray) -> np.ndarray:
    """||X||_2 of each finite matrix of a stack (N, m, n) by a dense solver."""
    try:
        top = np.linalg.eigvalsh(X @ np.swapaxes(X, -1, -2))[..., -1]
        return np.sqrt(top.clip(0).astype(np.float64))
    except np.linalg.LinAlgError:
        return np.linalg.norm(X.astype(np.float64), ord=2, axis=(-2, -1))


def lanczos_norms(X: np.ndarray, guess: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """||X||_2 / scale of each finite matrix of a stack (N, m, n), by Lanczos on X X^T from
    `guess` (N, m), to SPECTRAL_RTOL relative. `scale` (N,), default 1, is applied to the
    thin products, so a stack of large matrices is not copied to be scaled.

    The start is the guess plus a fixed random vector of weight 0.1, so that a guess with no
    component along the top singular vector (another singular vector, say) still finds it.
    After the three-term recurrence the Lanczos vectors are reorthogonalised in full (a few
    dozen of them: cheap beside the products), so no spurious copies of a Ritz value appear.
    After each of the steps in _CHECKS a matrix is done when its top Ritz value theta held
    still to SPECTRAL_RTOL since the last check and its residual r = beta_k |s_k| has
    min(r, r^2 / gap) <= SPECTRAL_RTOL * theta, with the gap to the second Ritz value plus
    its residual (Kato-Temple); a Krylov space that closes (beta = 0) holds exact
    eigenvalues. The few not done after _MAX_ITER steps get the exact solver. The products
    run in X's dtype, the recurrence in float64.
    """
    N, m, _ = X.shape
    K = min(_MAX_ITER, m)
    inv = np.ones(N) if scale is None else 1.0 / np.asarray(scale, dtype=np.float64)
    v = np.nan_to_num(np.asarray(guess, dtype=np.float64))
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
    v += _RANDOM_PART * np.random.default_rng(0).standard_normal(m) / np.sqrt(m)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    Q = np.zeros((N, _CHECKS[1] + 1, m))  # Lanczos vectors, rows; grows as they are needed
    alpha, beta = np.zeros((N, K)), np.zeros((N, K))
    Q[:, 0] = v
    norms = np.full(N, np.nan)
    # Rows of Xt, Q, alpha, beta, inv: matrices still iterating, and some done ones, which
    # iterate on until fewer than half are live (copying X costs more than a few products).
    ids = np.arange(N)  # the matrix of each row
    live = np.ones(N, dtype=bool)
    Xt, last = X, np.full(N, -1.0)
    checks = [c for c in _CHECKS if c < K] + [K]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in range(K):
            if j + 1 == Q.shape[1]:
                Q = np.concatenate([Q, np.zeros_like(Q)], 1)[:, : K + 1]
            q = Q[:, j, None, :].astype(X.dtype)  # (k, 1, m)
            y = (q @ Xt) * inv[:, None, None].astype(X.dtype)  # (k, 1, n) = q_j^T X / scale
            w = (y @ np.swapaxes(Xt, 1, 2))[:, 0].astype(np.float64) * inv[:, None]  # X X^T q_j
            alpha[:, j] = (Q[:, j] * w).sum(1)
            w -= alpha[:, j, None] * Q[:, j]
            if j:
                w -= beta[:, j - 1, None] * Q[:, j - 1]
            # and against all earlier vectors once more, in full: no spurious Ritz values
            Qj = Q[:, : j + 1]  # (k, j+1, m)
            w -= np.einsum("kjm,kj->km", Qj, np.einsum("kjm,km->kj", Qj, w))
            beta[:, j] = np.linalg.norm(w, axis=1)
            closed = beta[:, j] <= 1e-12 * np.maximum(np.abs(alpha[:, : j + 1]).max(1), 1e-300)
            Q[:, j + 1] = np.where(closed[:, None], 0.0, w / beta[:, j, None])
            if j + 1 not in checks and not closed[live].all():
                continue
            k = j + 1
            Tk = np.zeros((len(ids), k, k))
            d = np.arange(k)
            Tk[:, d, d] = alpha[:, :k]
            Tk[:, d[1:], d[:-1]] = Tk[:, d[:-1], d[1:]] = beta[:, : k - 1]
            theta, S = np.linalg.eigh(Tk)  # Ritz values, ascending
            res = np.where(closed[:, None], 0.0, np.abs(beta[:, j, None] * S[:, -1, :]))
            top, r = theta[:, -1], res[:, -1]
            bound = r
            if k > 1:
                gap = top - theta[:, -2] - res[:, -2]  # to an upper estimate of lambda_2
                bound = np.where(gap > 0, np.minimum(r, r**2 / gap), r)
            held = (top - last <= SPECTRAL_RTOL * top) | closed
            done = live & (bound <= SPECTRAL_RTOL * top) & held
            norms[ids[done]] = np.sqrt(top[done].clip(0))
            live &= ~done
            last = top
            if not live.any():
                return norms
            if live.sum() <= len(ids) // 2:
                Xt, Q, alpha, beta, inv = Xt[live], Q[live], alpha[live], beta[live], inv[live]
                ids, last, live = ids[live], last[live], live[live]
    rest = ids[live]
    X64 = X[rest].astype(np.float64)
    norms[rest] = exact_norms(X64 if scale is None else X64 / np.asarray(scale)[rest, None, None])
    return norms
