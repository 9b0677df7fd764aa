"""The gradient laboratory's numbers: spectra, path factors, the cliff, clip suggestions."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core.analysis import (
    cliff_descent,
    cliff_error,
    cliff_gradient,
    rnn_step_jacobian_norms,
    running_product_back,
    spectrum,
    suggest_clip_threshold,
)


def test_spectrum_per_gate_block():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    w = np.concatenate([0.5 * q, 2.0 * q, np.diag([1, 2, 3, 4, 5.0])])  # 3 blocks (GRU)
    blocks = spectrum(w, "gru")
    assert [b.block for b in blocks] == ["r", "z", "n"]
    assert blocks[0].radius == pytest.approx(0.5)
    assert blocks[1].radius == pytest.approx(2.0)
    np.testing.assert_allclose(blocks[1].singular_values, 2.0)
    assert blocks[2].radius == pytest.approx(5.0)


def test_running_product_back():
    f = np.array([0.1, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(running_product_back(f), [0.125, 0.25, 0.5, 1.0])
    tiny = running_product_back(np.full(2000, 0.5))
    assert tiny[0] == 0.0 or tiny[0] < 1e-300  # underflows gracefully, no nan
    assert not np.isnan(tiny).any()


def test_rnn_step_jacobian_norm():
    w = 3.0 * np.eye(4)
    a = np.zeros((2, 4))
    a[1] = 10.0  # saturated tanh: derivative ~ 0
    n = rnn_step_jacobian_norms(a, w, "tanh")
    assert n[0] == pytest.approx(3.0)
    assert n[1] < 1e-6
    assert rnn_step_jacobian_norms(-a, w, "relu")[1] == 0.0


def test_cliff_gradient_matches_finite_differences():
    for w, b in [(5.0, -2.5), (3.0, -1.0), (8.0, -4.0)]:
        E, dw, db = cliff_gradient(w, b)
        eps = 1e-6
        assert E == pytest.approx(float(cliff_error(w, b)))
        fd_w = (cliff_error(w + eps, b) - cliff_error(w - eps, b)) / (2 * eps)
        fd_b = (cliff_error(w, b + eps) - cliff_error(w, b - eps)) / (2 * eps)
        assert dw == pytest.approx(float(fd_w), rel=1e-4, abs=1e-8)
        assert db == pytest.approx(float(fd_b), rel=1e-4, abs=1e-8)


def test_the_cliff_exists_and_clipping_tames_the_jump():
    # along b at fixed w the error jumps at the bifurcation: gradients explode there
    bs = np.linspace(-6, 0, 4001)
    E = cliff_error(8.0, bs)
    assert E.max() - E.min() > 0.2
    assert np.abs(np.diff(E)).max() > 0.05  # a near-vertical wall on this grid
    # from (5, -4) descent walks to the wall; without clipping it is thrown far away
    free = cliff_descent(5.0, -4.0, lr=0.5, steps=100)
    tame = cliff_descent(5.0, -4.0, lr=0.5, steps=100, clip_threshold=1.0)
    jump_free = np.linalg.norm(np.diff(free.points, axis=0), axis=1).max()
    jump_tame = np.linalg.norm(np.diff(tame.points, axis=0), axis=1).max()
    assert free.grad_norms.max() > 10
    assert jump_tame <= 0.5 * 1.0 + 1e-9  # lr * threshold bounds every clipped step
    assert jump_free > 10 * jump_tame
    assert tame.clipped.any()


def test_suggest_clip_threshold():
    s, lo, hi = suggest_clip_threshold(np.array([1.0, 2.0, 3.0, np.nan]))
    assert (s, lo, hi) == (2.0, 1.0, 20.0)
    with pytest.raises(ValueError):
        suggest_clip_threshold(np.array([]))
