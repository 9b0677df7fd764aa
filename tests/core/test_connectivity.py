"""Connectivity C[t, s] = ‖∂ ln p_t(y_t) / ∂x_s‖ (Madsen 2019) against one autograd pass per
prediction, and what it says about causality."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnviz.core.config import Config
from rnnviz.core.connectivity import connectivity_matrix, connectivity_skip_reason
from rnnviz.core.stream import SnapshotDecoder, SnapshotEncoder
from rnnviz.core.trace import Trace
from rnnviz.core.train import Trainer


def direct(model, x, y, past=None):
    """Row by row: the gradient of ln p_t(y_t) with respect to the whole input, its norm per s."""
    T = x.shape[0]
    rows = []
    for t in range(T):
        xs = x[None].clone().requires_grad_(True)  # (1, T, I)
        h, _ = model.rnn(xs)
        y_hat = model.output(h[0, t], None if past is None else past.select(t))
        logp = F.log_softmax(y_hat, -1)[y[t]]
        (g,) = torch.autograd.grad(logp, xs)
        rows.append(g[0].norm(dim=-1))
    return torch.stack(rows)  # (T, T)


@pytest.mark.parametrize(
    "cell, layers, bidirectional, task",
    [("lstm", 2, False, "copy"), ("gru", 1, True, "copy"), ("rnn", 1, False, "copy")]
    + [("peephole-lstm", 1, False, "copy")]
    + [("lstm", 1, False, "music")],  # its outputs mix in the melody cache (model.output)
)
def test_connectivity_equals_one_autograd_pass_per_prediction(cell, layers, bidirectional, task):
    cfg = Config(
        task=task, cell=cell, hidden=6, layers=layers, bidirectional=bidirectional,
        seq_len=13, batch=4, device="cpu",
    )  # fmt: skip
    trainer = Trainer(cfg)
    trainer.train_step()
    model, batch = trainer.model, trainer.probe_batch
    x = model.encode(batch.x)[0].detach()  # (T, I)
    past = model.past_of(batch.x[:1])
    past = None if past is None else past.select(0)  # a melody's, of sequence 0
    C = connectivity_matrix(model, x, batch.y[0], past)
    expected = direct(model, x, batch.y[0], past)
    torch.testing.assert_close(C, expected, rtol=1e-4, atol=1e-7)
    lower = torch.tril(torch.ones(13, 13, dtype=torch.bool))
    if bidirectional:
        assert (C[~lower] > 0).all()  # a bidirectional prediction reads later inputs
    else:
        assert (C[~lower] == 0).all() and (C.diagonal() > 0).all()  # causal


def test_regression_tasks_and_long_sequences_are_skipped():
    cfg = Config(task="sine", hidden=8, seq_len=20, device="cpu")
    assert "predicts no symbols" in connectivity_skip_reason(cfg, "regression", 1, 20)
    big = Config(task="charlm", hidden=512, seq_len=1000, device="cpu")
    assert "over the recording budget" in connectivity_skip_reason(big, "classification", 64, 1000)
    assert connectivity_skip_reason(cfg.replace(task="charlm"), "classification", 64, 100) is None


def test_the_recording_carries_it_through_npz_and_the_stream(tmp_path):
    trainer = Trainer(Config(task="charlm", hidden=8, seq_len=16, batch=4, device="cpu"))
    trace = trainer.record(jacobians=False)
    model, batch = trainer.model, trainer.probe_batch
    expected = connectivity_matrix(model, model.encode(batch.x)[0].detach(), batch.y[0])
    np.testing.assert_allclose(trace.connectivity, expected.numpy(), rtol=1e-5)
    assert trace.meta["connectivity"].startswith("computed") and trace.connectivity.shape == (
        16,
        16,
    )
    assert not trace.connectivity.flags.writeable
    trace.save_npz(tmp_path / "t.npz")
    np.testing.assert_array_equal(
        Trace.load_npz(tmp_path / "t.npz").connectivity, trace.connectivity
    )
    snap = trainer.snapshot(state="paused", trace=trace, steps_per_s=0.0)
    payload = pickle.loads(pickle.dumps(SnapshotEncoder().encode(snap)))
    sent = SnapshotDecoder().decode(payload).trace.connectivity
    np.testing.assert_array_equal(sent, trace.connectivity)
    assert not sent.flags.writeable
    sine = Trainer(Config(task="sine", hidden=8, seq_len=16, device="cpu")).record()
    assert sine.connectivity is None and "predicts no symbols" in sine.meta["connectivity"]
    assert "connectivity" not in sine.to_arrays()
