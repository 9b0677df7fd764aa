"""The vocabulary map: which vectors, PCA against numpy's covariance, orientation held still
between updates, cosine neighbours against a direct computation."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core.config import Config
from rnnviz.core.embedding_map import nearest, project, symbol_vectors
from rnnviz.core.train import Trainer


def test_the_projection_is_pca_with_the_variance_each_axis_explains():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(40, 6)) * np.array([5.0, 2.0, 1.0, 0.5, 0.2, 0.1])
    W[0] = 0.0  # <pad>: left out
    p = project(W)
    data = W[1:] - W[1:].mean(0)
    evals, evecs = np.linalg.eigh(np.cov(data.T))  # ascending
    top = evecs[:, ::-1][:, :2].T  # (2, I)
    np.testing.assert_allclose(np.abs(p.axes @ top.T), np.eye(2), atol=1e-8)
    np.testing.assert_allclose(p.explained, evals[::-1][:2] / evals.sum(), rtol=1e-8)
    np.testing.assert_allclose(p.points[1:], data @ p.axes.T, atol=1e-10)
    assert np.isnan(p.points[0]).all()


def test_updates_keep_the_orientation_when_the_vectors_hardly_move():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(30, 5)) * np.array([3.0, 2.9, 1.0, 0.5, 0.1])  # two close variances
    before = project(W)
    for _ in range(20):
        W = W + 0.05 * rng.normal(size=W.shape)  # a training step
        after = project(W, previous=before.axes)
        moved = np.nanmax(np.abs(after.points - before.points))
        assert moved < 0.6, "a point jumped: an axis flipped or the axes swapped"
        assert np.all(np.diag(after.axes @ before.axes.T) > 0.9)
        before = after
    flipped = project(W, previous=-before.axes[::-1])  # the previous picture mirrored, swapped
    np.testing.assert_allclose(flipped.points, -before.points[:, ::-1], atol=1e-9)


def test_nearest_by_cosine():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(12, 4))
    W[3] = 0.0
    got = nearest(W, 5, k=4)
    unit = W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-300)
    cos = unit @ unit[5]
    expected = [j for j in np.argsort(-cos) if j not in (5, 3)][:4]
    assert [j for j, _ in got] == expected
    assert [c for _, c in got] == pytest.approx(cos[expected].tolist())
    assert nearest(W, 3) == []


@pytest.mark.parametrize(
    ("kw", "source", "shape"),
    [
        ({"task": "sentiment"}, "learned embedding", "encoder.weight"),
        ({"task": "copy"}, "W_ih", None),
        ({"task": "sentiment", "encoder": "onehot", "bidirectional": True}, "W_ih", None),
        ({"task": "sentiment", "encoder": "onehot", "cell": "bow"}, "head", None),
        ({"task": "dates"}, "learned embedding", "embed.weight"),  # an encoder-decoder's
        ({"task": "music", "seq_len": 20}, "E + pitch + length", "encoder.notes"),  # summed
    ],
)
def test_the_vectors_are_what_the_first_layer_reads(kw, source, shape):
    trace = Trainer(Config(hidden=8, batch=2, device="cpu", **kw)).record(jacobians=False)
    V = len(trace.meta["input_vocab"])
    got = symbol_vectors(trace.params, V)
    assert source in got.source and got.vectors.shape[0] == V
    if shape:
        np.testing.assert_array_equal(got.vectors, trace.params[shape])
    elif "cell" not in kw:
        w = [trace.params[k] for k in ("weight_ih_l0", "weight_ih_l0_reverse") if k in trace.params]
        np.testing.assert_array_equal(got.vectors, np.concatenate(w, 0).T)
    assert symbol_vectors({"weight_ih_l0": np.zeros((8, 1))}, V) is None
