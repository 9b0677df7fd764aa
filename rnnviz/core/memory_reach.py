"""Where the gradient comes from, measured on the itemized gradients dL_j/dh_t of probe
sequence 0 (core/grad_items.py; issue 13): how far back in time each loss still teaches.

The distance of a loss step j from a source step t is counted in the direction's own sense,
d = j - t for a forward direction and d = t - j for a reverse one. In the top layer, and in
every layer of a one-way stack, only d >= 0 occurs (causality); below a bidirectional layer
the other direction also carries gradient from "behind" (d < 0).

    item_norms        N[j, t] = ||dL_j/dh_t||                                     (T_loss, T)
    distance_profile  P[d] = the mean of N[j, t] over the pairs at distance d >= 0   (T,)
    memory_reach      the largest d with P[d] >= fraction * P[0]: how far the gradient
                      still arrives at `fraction` (default 1%) of its near-field strength
    distance_bands    ||dL/dh_t|| split into bands by distance bucket, each band's share
                      proportional to the sum of ||dL_j/dh_t|| over the j in its bucket

No torch: the window and the probe log use it.
"""

from __future__ import annotations

import numpy as np

REACH_FRACTION = 0.01  # the default: gradient still above 1% of the near-field one
# Distance buckets of the bands, [lo, hi): 0, 1, 2-3, 4-7, …, doubling (near dark, far light)
BUCKET_STARTS = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def item_norms(items: np.ndarray) -> np.ndarray:
    """||dL_j/dh_t|| for items (T_loss, T, H): (T_loss, T) float64."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's huge values
        return np.linalg.norm(items.astype(np.float64), axis=-1)


def distances(steps: np.ndarray, T: int, reverse: bool) -> np.ndarray:
    """d[j, t] for the loss steps `steps` (T_loss,) and t = 0 … T-1: (T_loss, T) int."""
    d = np.asarray(steps)[:, None] - np.arange(T)[None, :]
    return -d if reverse else d


def distance_profile(norms: np.ndarray, steps: np.ndarray, reverse: bool) -> np.ndarray:
    """P[d] for d = 0 … T-1: the mean ||dL_j/dh_t|| over the pairs (j, t) at distance d;
    NaN at a distance no pair has (T,)."""
    T = norms.shape[1]
    d = distances(steps, T, reverse)
    ahead = d >= 0
    total = np.bincount(d[ahead], weights=norms[ahead], minlength=T)[:T]
    count = np.bincount(d[ahead], minlength=T)[:T]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def memory_reach(profile: np.ndarray, fraction: float = REACH_FRACTION) -> float:
    """The largest distance d at which profile[d] >= fraction * profile[0] (the near field,
    the loss at the state's own step); NaN when there is no near field to compare with (no
    loss at distance 0, a zero or non-finite gradient there)."""
    return float(reach_over_training(np.asarray(profile)[None, :], fraction)[0])


def reach_over_training(profiles: np.ndarray, fraction: float = REACH_FRACTION) -> np.ndarray:
    """memory_reach of every recording's profile (N, T): (N,), in whole-array operations (the
    panel recomputes it for every recording when the fraction changes)."""
    profiles = np.asarray(profiles, dtype=np.float64)
    N, T = profiles.shape
    if T == 0:
        return np.full(N, np.nan)
    near = profiles[:, :1]  # (N, 1)
    with np.errstate(invalid="ignore", over="ignore"):
        above = profiles >= fraction * near  # (N, T); NaN compares False
        valid = np.isfinite(near[:, 0]) & (near[:, 0] > 0)
    last = T - 1 - np.argmax(above[:, ::-1], axis=1)  # the last d above (d = 0 when valid)
    return np.where(valid, last, np.nan).astype(np.float64)


def bucket_labels(T: int) -> list[str]:
    """The bands' names, nearest first: 'd = 0', 'd = 1', 'd = 2–3', …, and 'behind'."""
    labels = []
    for lo, hi in zip(BUCKET_STARTS, (*BUCKET_STARTS[1:], None), strict=True):
        if lo >= T:
            break
        top = T - 1 if hi is None else min(hi, T) - 1
        labels.append(f"d = {lo}" if top == lo else f"d = {lo}–{top}")
    return [*labels, "behind (d < 0)"]


def distance_bands(
    norms: np.ndarray, grad_norm: np.ndarray, steps: np.ndarray, reverse: bool
) -> np.ndarray:
    """(n_bands, T): ||dL/dh_t|| (`grad_norm`, (T,)) split into the bands of bucket_labels,
    band b's share sum_{j in b} ||dL_j/dh_t|| / sum_j ||dL_j/dh_t||; the bands of a step add
    up to ||dL/dh_t|| (0 where no item reaches t)."""
    T = norms.shape[1]
    d = distances(steps, T, reverse)
    n_near = len(bucket_labels(T)) - 1
    bucket = np.where(d < 0, n_near, np.searchsorted(BUCKET_STARTS, d, side="right") - 1)
    sums = np.zeros((n_near + 1, T))
    np.add.at(sums, (bucket, np.broadcast_to(np.arange(T), d.shape)), norms)
    total = sums.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, sums / np.where(total > 0, total, 1.0), 0.0)
    return share * np.asarray(grad_norm, dtype=np.float64)[None, :]


def layer_profile(trace, lt) -> np.ndarray:
    """distance_profile of one recorded layer and direction (a LayerTrace of `trace`), all
    NaN where its items were not recorded (meta["grad_items"] says why): (T,)."""
    if lt.grad_items is None:
        return np.full(trace.T, np.nan)
    steps = np.flatnonzero(trace.loss_mask[0])
    return distance_profile(item_norms(lt.grad_items), steps, lt.reverse)
