"""Memory reach and the distance bands (core/memory_reach.py) on constructed itemized
gradients, and the profile's way from a recording through the probe log and the stream."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core.config import Config
from rnnviz.core.memory_reach import (
    bucket_labels,
    distance_bands,
    distance_profile,
    item_norms,
    memory_reach,
    reach_over_training,
)
from rnnviz.core.protocol import RunView
from rnnviz.core.stream import SnapshotDecoder, SnapshotEncoder
from rnnviz.core.train import Trainer


def decaying(T: int, rate: float, reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Items of a loss at every step whose norm is rate^d at distance d (0 against the
    direction), as (norms (T, T), steps)."""
    steps = np.arange(T)
    d = steps[:, None] - steps[None, :]
    d = -d if reverse else d
    return np.where(d >= 0, rate ** np.abs(d), 0.0), steps


@pytest.mark.parametrize("reverse", [False, True])
def test_reach_is_where_the_decay_crosses_the_fraction(reverse):
    norms, steps = decaying(40, 0.5, reverse)
    profile = distance_profile(norms, steps, reverse)
    np.testing.assert_allclose(profile, 0.5 ** np.arange(40))
    # 0.5^6 = 0.0156 >= 1%, 0.5^7 = 0.0078 < 1%
    assert memory_reach(profile) == 6
    assert memory_reach(profile, 0.1) == 3  # 0.125 >= 0.1 > 0.0625
    assert memory_reach(profile, 1e-30) == 39  # every distance the sequence has


def test_reach_is_the_largest_distance_above_and_nan_without_a_near_field():
    profile = np.array([2.0, 0.5, 0.001, 0.03, 0.0, np.nan])
    assert memory_reach(profile) == 3  # 0.03 >= 0.02 after a dip below
    assert np.isnan(memory_reach(np.array([0.0, 1.0])))
    assert np.isnan(memory_reach(np.array([np.nan, 1.0])))
    np.testing.assert_array_equal(reach_over_training(np.stack([profile, profile * 3])), [3, 3])


def test_one_loss_at_the_end_profiles_its_own_gradient():
    g = np.array([0.01, 0.1, 1.0, 3.0])  # ||dL/dh_t|| of a many-to-one task
    profile = distance_profile(g[None, :], np.array([3]), False)
    np.testing.assert_allclose(profile, g[::-1])
    assert memory_reach(profile, 0.02) == 2  # 0.1 >= 0.06 > 0.01


def test_bands_split_the_true_norm_by_distance():
    norms, steps = decaying(10, 0.5)
    norms[5, 2] = 0.0  # one loss does not reach back
    grad = np.linspace(1.0, 2.0, 10)  # ||dL/dh_t||: not the sum of the items' norms
    bands = distance_bands(norms, grad, steps, False)
    labels = bucket_labels(10)
    assert labels == ["d = 0", "d = 1", "d = 2–3", "d = 4–7", "d = 8–9", "behind (d < 0)"]
    assert bands.shape == (len(labels), 10)
    np.testing.assert_allclose(bands.sum(0), grad)  # the stack's height is the true norm
    t = 2  # losses j = 2 … 9 reach it at d = 0 … 7 (j = 5, at d = 3, not at all)
    share_d23 = 0.5**2 / norms[:, t].sum()
    np.testing.assert_allclose(bands[2, t], share_d23 * grad[t])
    np.testing.assert_allclose(
        bands[3, t], (0.5**4 + 0.5**5 + 0.5**6 + 0.5**7) / norms[:, t].sum() * grad[t]
    )
    assert (bands[-1] == 0).all()  # nothing from behind in a one-way layer
    behind = norms + 0.5 * (norms.T > 0)  # items from every earlier loss: the other direction
    assert (distance_bands(behind, grad, steps, False)[-1, 1:] > 0).all()


def test_item_norms_are_over_the_units():
    items = np.zeros((2, 3, 4), np.float32)
    items[1, 2] = [3, 4, 0, 0]
    np.testing.assert_array_equal(item_norms(items), [[0, 0, 0], [0, 0, 5]])


def test_the_probe_log_keeps_each_recordings_profile_and_the_stream_carries_a_runs():
    trainer = Trainer(Config(task="sine", cell="lstm", hidden=4, seq_len=12, device="cpu"))
    trace = trainer.record(jacobians=False)
    trainer.train_step()
    trainer.record(jacobians=False)
    probes = trainer.probe_log.view()
    assert probes.profiles["l0"].shape == (2, 12)
    assert 0 <= reach_over_training(probes.profiles["l0"])[0] <= 11
    run = RunView("LSTM", 1, False, trainer.history.view(), trace, probes)
    snap = trainer.snapshot(state="paused", trace=trace, steps_per_s=0.0, runs=(run,))
    got = SnapshotDecoder().decode(SnapshotEncoder().encode(snap))
    np.testing.assert_array_equal(got.runs[0].probes.profiles["l0"], probes.profiles["l0"])
    np.testing.assert_array_equal(got.probes.profiles["l0"], probes.profiles["l0"])
