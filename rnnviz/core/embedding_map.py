"""A map of the vocabulary: each symbol's input vector, projected to 2-D by PCA.

The vectors are what the first layer reads for each symbol:

    a learned embedding   the rows of the embedding matrix E (V, I); a melody model's
                          note vectors, each its own row plus its pitch's and its length's
    one-hot input         the columns of layer 0's input weights W_ih (G·H, V), both
                          directions side by side: W_ih e_v is all a one-hot symbol v adds,
                          so the column is the symbol's vector (the bag of words: its head's)

PCA: the vectors, centred, are factored E − mean = U S Vᵀ; the first two right singular
vectors are the axes and S_k² / Σ S² the share of the variance each explains. An SVD's signs
are arbitrary and two axes of nearly equal variance may swap from one training step to the
next, which would flip the picture while the words hardly moved; `project` therefore orders
and signs the new axes to agree with the previous ones (largest |cosine|), so the points move
only as much as the vectors do. Symbols whose vector is zero (<pad>, which embeds as 0) are
left out: they carry nothing to project or compare.

Shapes: V vocabulary, I vector width.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

# the learned embedding as a trace names it: a melody model's note vectors (its own rows plus its
# pitch's and its length's: core/note_layers.py), a single stack's, an encoder-decoder's
EMBEDDINGS = ("encoder.notes", "encoder.weight", "embed.weight")


@dataclass(frozen=True)
class SymbolVectors:
    vectors: np.ndarray  # (V, I) float64, one row per symbol
    source: str  # what they are, for a title


def symbol_vectors(params: Mapping[str, np.ndarray], vocab_size: int) -> SymbolVectors | None:
    """The first layer's vector of each of `vocab_size` symbols from a trace's parameters, or
    None where the model has none (real-valued inputs)."""
    for name in EMBEDDINGS:
        if name in params and params[name].shape[0] == vocab_size:
            source = "note vectors E + pitch + length" if name == "encoder.notes" else None
            return SymbolVectors(
                np.asarray(params[name], np.float64), source or "learned embedding E"
            )
    for names, source in (
        (("weight_ih_l0", "weight_ih_l0_reverse"), "one-hot input: columns of layer 0's W_ih"),
        (("head.weight",), "one-hot input: columns of the head's weights"),
    ):
        cols = [params[n] for n in names if n in params and params[n].shape[-1] == vocab_size]
        if cols:
            return SymbolVectors(np.concatenate(cols, 0).T.astype(np.float64), source)
    return None


@dataclass(frozen=True)
class Projection:
    points: np.ndarray  # (V, 2) each symbol's coordinates; NaN for a zero vector
    axes: np.ndarray  # (2, I) unit axes in the vector space
    explained: np.ndarray  # (2,) share of the variance along each axis


def project(vectors: np.ndarray, previous: np.ndarray | None = None) -> Projection:
    """PCA of the non-zero rows of `vectors` (V, I) onto two axes, ordered and signed to agree
    with `previous` axes (2, I) where given (module docstring)."""
    V, I = vectors.shape
    keep = np.linalg.norm(vectors, axis=1) > 0
    centred = vectors[keep] - vectors[keep].mean(0)  # (V', I)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    total = float((s**2).sum())
    k = min(2, len(s))
    axes = np.zeros((2, I))
    explained = np.zeros(2)
    axes[:k], explained[:k] = vt[:k], s[:k] ** 2 / total if total > 0 else 0.0
    if previous is not None and previous.shape == axes.shape:
        agree = axes @ previous.T  # (2, 2) cosines: new axis i against old axis j
        if abs(agree[0, 1]) + abs(agree[1, 0]) > abs(agree[0, 0]) + abs(agree[1, 1]):
            axes, explained, agree = axes[::-1], explained[::-1], agree[::-1]
        axes = axes * np.where(np.diag(agree) < 0, -1.0, 1.0)[:, None]
    points = np.full((V, 2), np.nan)
    points[keep] = centred @ axes.T
    return Projection(points, axes, explained)


def nearest(vectors: np.ndarray, v: int, k: int = 5) -> list[tuple[int, float]]:
    """The k symbols whose vectors are closest to symbol v's by cosine, closest first, as
    (symbol, cosine); zero vectors are nobody's neighbour."""
    norms = np.linalg.norm(vectors, axis=1)
    if norms[v] == 0:
        return []
    cos = vectors @ vectors[v] / np.where(norms > 0, norms, np.inf) / norms[v]  # (V,)
    cos[v] = -np.inf
    cos[norms == 0] = -np.inf
    order = [int(j) for j in np.argsort(-cos, kind="stable")[:k] if np.isfinite(cos[j])]
    return [(j, float(cos[j])) for j in order]
