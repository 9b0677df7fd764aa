"""Gate saturation (Karpathy, Johnson & Fei-Fei 2015) against a direct count over the recording."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core.config import Config
from rnnviz.core.saturation import LEFT, RIGHT, gate_saturation
from rnnviz.core.trace import LayerTrace
from rnnviz.core.train import Trainer


def recorded_layer(cell: str) -> LayerTrace:
    trainer = Trainer(Config(cell=cell, hidden=6, seq_len=15, batch=4, probe_batch=3, device="cpu"))
    trainer.train_step()
    return trainer.record(jacobians=False).layer(0)


@pytest.mark.parametrize(
    "cell, gates", [("lstm", "ifo"), ("gru", "rz"), ("simple-gru", "z"), ("rnn", "")]
)
def test_only_sigmoid_gates_and_their_fractions_are_a_direct_count(cell, gates):
    layer = recorded_layer(cell)
    result = gate_saturation(layer)
    assert tuple(s.gate for s in result) == tuple(gates)  # the tanh candidates g, n left out
    for s in result:
        v = layer.gates[s.gate]  # (B, T, H)
        B, T, H = v.shape
        for k in range(H):
            shut = sum(v[b, t, k] < LEFT for b in range(B) for t in range(T))
            open_ = sum(v[b, t, k] > RIGHT for b in range(B) for t in range(T))
            assert s.left[k] == pytest.approx(shut / (B * T))
            assert s.right[k] == pytest.approx(open_ / (B * T))


def test_planted_gates_and_a_step_mask():
    f = np.full((2, 4, 3), 0.5)
    f[:, :, 0] = 0.95  # unit 0 always open
    f[:, :, 1] = 0.05  # unit 1 always shut
    f[0, :2, 2] = 0.01  # unit 2 shut at two steps of sequence 0, open at its last two
    f[0, 2:, 2] = 0.99
    f[1, 0, 2] = np.nan  # a diverged value counts as neither
    z = np.zeros_like(f)
    layer = LayerTrace(0, False, z, z, np.zeros((2, 4)), gates={"z": f, "n": z})
    (s,) = gate_saturation(layer)
    np.testing.assert_allclose(s.left, [0, 1, 2 / 8])
    np.testing.assert_allclose(s.right, [1, 0, 2 / 8])
    steps = np.array([[1, 1, 0, 0], [0, 0, 0, 0]])  # only sequence 0's first two steps count
    (s,) = gate_saturation(layer, steps)
    np.testing.assert_allclose(s.left, [0, 1, 1])
    np.testing.assert_allclose(s.right, [1, 0, 0])
