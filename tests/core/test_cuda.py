"""The CUDA path: training and recording on the GPU give the CPU's numbers. Skipped without a
GPU (run them on a machine with one: `pytest -m cuda`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.core.config import Config
from rnnviz.core.devices import available_devices, resolve_device
from rnnviz.core.heldout import heldout_score
from rnnviz.core.model import RecurrentModel
from rnnviz.core.record import record_trace
from rnnviz.core.seq2seq.bottleneck import bottleneck_curve
from rnnviz.core.tasks import make_task
from rnnviz.core.train import Trainer

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_cuda_is_offered_and_auto_picks_it():
    assert available_devices()[0] == "cuda"
    assert resolve_device("auto") == "cuda"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "peephole-lstm", "simple-gru"])
def test_a_recording_on_the_gpu_matches_the_cpu(cell):
    cfg = Config(cell=cell, hidden=16, layers=2, bidirectional=True, task="adding", seq_len=30)
    task = make_task(cfg)
    torch.manual_seed(0)
    model = RecurrentModel(cfg, task.input_size, task.output_size, task.note_parts)
    batch = task.sample(3, torch.Generator().manual_seed(1))
    cpu = record_trace(model, task, batch)
    gpu = record_trace(model.to("cuda"), task, batch.to("cuda"))
    assert gpu.loss == pytest.approx(cpu.loss, rel=1e-4)
    for a, b in zip(cpu.layers, gpu.layers, strict=True):
        np.testing.assert_allclose(b.h, a.h, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(b.grad_h, a.grad_h, rtol=1e-3, atol=1e-7)
        np.testing.assert_allclose(b.jacobian_norm, a.jacobian_norm, rtol=1e-3, atol=1e-9)
        for g in a.gates:
            np.testing.assert_allclose(b.gates[g], a.gates[g], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "cell, task, computed",
    [
        ("lstm", "charlm", ("connectivity", "grad_items")),
        ("gru", "sentiment", ("attribution",)),
        ("lstm", "reverse", ()),  # an encoder-decoder
    ],
)
def test_every_kind_of_recording_runs_on_the_gpu(cell, task, computed):
    """Each differentiates through cuDNN, which needs training-mode passes (cudnn.py;
    tests/core/test_cudnn.py holds the same recordings to that rule on the CPU)."""
    trainer = Trainer(Config(cell=cell, task=task, hidden=16, seq_len=20, device="cuda"))
    assert trainer.train_step()
    trace = trainer.record()
    assert all(np.isfinite(lt.grad_h).all() for lt in trace.layers)
    for extra in computed:
        assert not trace.meta[extra].startswith("skipped"), trace.meta[extra]


def test_training_on_the_gpu_learns_and_records_there():
    trainer = Trainer(Config(cell="lstm", hidden=32, task="sine", seq_len=30, device="cuda"))
    assert trainer.device == "cuda"
    assert not torch.backends.cudnn.allow_tf32  # cuDNN's RNNs in float32 (core/cudnn.py)
    assert next(trainer.model.parameters()).is_cuda
    for _ in range(100):
        assert trainer.train_step()
    losses = trainer.history.view().loss
    assert losses[-10:].mean() < 0.5 * losses[:10].mean()
    trace = trainer.record()
    assert trace.meta["device"] == "cuda" and np.isfinite(trace.layer(0).grad_h).all()


def test_the_held_out_measures_run_a_gpu_model_where_it_is():
    """heldout_score and bottleneck_curve feed a model on its own device by default."""
    trainer = Trainer(Config(cell="gru", hidden=16, task="reverse", seq_len=12, device="cuda"))
    trainer.train_step()
    assert 0.0 <= heldout_score(trainer.model, trainer.task, chunk=256).value <= 1.0
    assert bottleneck_curve(trainer.model, trainer.task)


def test_same_seed_same_run_on_the_gpu():
    cfg = Config(cell="gru", hidden=16, task="adding", seq_len=20, device="cuda", seed=5)
    runs = []
    for _ in range(2):
        t = Trainer(cfg)
        for _ in range(20):
            t.train_step()
        runs.append(t.history.view().loss.copy())
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5)
