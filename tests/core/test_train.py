"""Trainer and session: reproducibility, reset, divergence, clipping, commands, immutability."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnviz.core.config import Config, ConfigError
from rnnviz.core.loop import session
from rnnviz.core.train import (
    IDLE,
    Pause,
    Reset,
    SetClipping,
    SetLearningRate,
    SetTemperature,
    Snapshot,
    Step,
    Trainer,
)

SMALL = {"hidden": 8, "seq_len": 12, "batch": 4, "device": "cpu"}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy 2-core machine the
    threads' barriers make each step up to 100x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_trainer(**overrides) -> Trainer:
    return Trainer(Config(**{**SMALL, **overrides}))


def train(trainer: Trainer, n: int) -> np.ndarray:
    """Take n steps; the losses of those steps."""
    for _ in range(n):
        assert trainer.train_step()
    return trainer.history.view().loss[-n:].copy()


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def paused_session(trainer: Trainer):
    """A session on a frozen clock: snapshots come only when a command or a step forces them."""
    run = session(trainer, running=False, clock=lambda: 0.0)
    first = next(run)
    assert isinstance(first, Snapshot) and first.state == "paused"
    return run


def drain(run) -> Snapshot | None:
    """Send None until the session goes idle; the last snapshot seen on the way."""
    last = None
    for _ in range(1000):
        item = run.send(None)
        if item == IDLE:
            return last
        if isinstance(item, Snapshot):
            last = item
    raise AssertionError("the session never went idle")


# ---------------------------------------------------------------------------- reproducibility


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple-gru"])
def test_same_seed_same_run(cell):
    a = train(make_trainer(cell=cell, seed=7), 10)
    b = train(make_trainer(cell=cell, seed=7), 10)
    np.testing.assert_array_equal(a, b)
    c = train(make_trainer(cell=cell, seed=8), 10)
    assert not np.array_equal(a, c)


def test_reset_returns_to_initial_weights_and_repeats_losses():
    trainer = make_trainer()
    initial = weights(trainer)
    first = train(trainer, 5)
    trainer.reset()
    assert trainer.step_count == 0 and len(trainer.history.view()) == 0
    assert_same_weights(weights(trainer), initial)
    np.testing.assert_array_equal(train(trainer, 5), first)


# ---------------------------------------------------------------------------- divergence


@pytest.mark.parametrize(
    "overrides",
    [
        {"optimizer": "sgd", "lr": 1e8},
        {"cell": "rnn", "nonlinearity": "relu", "spectral_radius": 5.0, "seq_len": 60},
    ],
    ids=["sgd-lr-1e8", "relu-rnn-radius-5"],
)
def test_divergence_stops_cleanly_with_finite_weights(overrides):
    trainer = make_trainer(**overrides)
    for _ in range(50):
        if not trainer.train_step():
            break
    assert trainer.diverged
    assert all(bool(torch.isfinite(p).all()) for p in trainer.model.parameters())
    assert "learning rate" in trainer.message and "clipping" in trainer.message
    steps = trainer.step_count
    assert trainer.train_step() is False and trainer.step_count == steps
    assert np.isfinite(trainer.history.view().loss).all()


@pytest.mark.filterwarnings("error::RuntimeWarning")  # nothing printed to the terminal either
def test_session_pauses_on_divergence_and_reset_recovers():
    trainer = make_trainer(optimizer="sgd", lr=1e8)
    run = session(trainer, running=True, clock=lambda: 0.0)
    next(run)
    snap = drain(run)
    assert snap.state == "diverged" and "diverged" in snap.message
    assert trainer.diverged
    snap = run.send(Reset())
    assert snap.state == "paused" and snap.step == 0 and snap.message == ""
    assert not trainer.diverged


# ---------------------------------------------------------------------------- clipping


def record_step_gradients(trainer: Trainer) -> list[list[torch.Tensor]]:
    """The gradients each optimiser step really applies (after clipping)."""
    seen: list[list[torch.Tensor]] = []

    def hook(optimizer, args, kwargs):
        seen.append([p.grad.clone() for g in optimizer.param_groups for p in g["params"]])

    trainer.optimizer.register_step_pre_hook(hook)
    return seen


def test_clipping_by_norm():
    threshold = 0.5
    trainer = make_trainer(clip="norm", clip_threshold=threshold)
    applied = record_step_gradients(trainer)
    train(trainer, 20)
    h = trainer.history.view()
    assert len(h) == 20
    assert h.clipped.any() and not h.clipped.all()  # both branches are exercised
    np.testing.assert_array_equal(h.clipped, h.grad_norm > threshold)
    assert (h.grad_norm_clipped <= threshold + 1e-5).all()
    np.testing.assert_array_equal(h.grad_norm_clipped[~h.clipped], h.grad_norm[~h.clipped])
    np.testing.assert_allclose(h.grad_norm_clipped[h.clipped], threshold, rtol=1e-4)
    norms = [
        float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in gs]))) for gs in applied
    ]
    np.testing.assert_allclose(norms, h.grad_norm_clipped, rtol=1e-5)


def test_clipping_by_value():
    threshold = 0.01
    trainer = make_trainer(clip="value", clip_threshold=threshold)
    applied = record_step_gradients(trainer)
    train(trainer, 10)
    h = trainer.history.view()
    assert len(h) == 10 and len(applied) == 10
    for grads in applied:
        assert max(float(g.abs().max()) for g in grads) <= threshold
    assert h.clipped.all()
    assert (h.grad_norm_clipped < h.grad_norm).all()


def test_no_clipping_leaves_gradients_alone():
    trainer = make_trainer(clip="none", clip_threshold=1e-6)
    train(trainer, 5)
    h = trainer.history.view()
    assert not h.clipped.any()
    np.testing.assert_array_equal(h.grad_norm_clipped, h.grad_norm)


# ---------------------------------------------------------------------------- session commands


def test_pause_goes_idle_without_training():
    trainer = make_trainer()
    run = session(trainer, running=True, clock=lambda: 0.0)
    next(run)
    run.send(None)
    run.send(None)
    assert trainer.step_count == 2
    snap = run.send(Pause())
    assert isinstance(snap, Snapshot) and snap.state == "paused"
    steps = trainer.step_count
    assert run.send(None) == IDLE
    assert run.send(None) == IDLE
    assert trainer.step_count == steps


def test_step_takes_exactly_n_steps_then_pauses():
    trainer = make_trainer()
    run = paused_session(trainer)
    assert run.send(None) == IDLE
    run.send(Step(3))
    last = drain(run)
    assert trainer.step_count == 3
    assert last.step == 3 and last.state == "paused"
    assert last.trace is not None and last.trace.meta["step"] == 3  # the probe shows step 3
    run.send(Step(2))
    drain(run)
    assert trainer.step_count == 5


def test_set_learning_rate_reaches_the_optimiser():
    trainer = make_trainer(optimizer="sgd", lr=0.01)
    run = paused_session(trainer)
    snap = run.send(SetLearningRate(0.25))
    assert snap.lr == 0.25
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [0.25]
    refused = run.send(SetLearningRate(-1.0))  # refused in words; the run goes on
    assert refused.extras["refused"] == "learning rate must be a positive number, got -1.0"
    assert refused.lr == 0.25 and trainer.optimizer.param_groups[0]["lr"] == 0.25
    stepped = run.send(Step(1))
    assert stepped.step == 1 and "refused" not in stepped.extras  # said once


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_weight_decay_shrinks_each_weight_by_lr_times_it_a_step(optimizer):
    # Adam's decay is decoupled (AdamW): the same step as without, then w * (1 - lr * decay);
    # plain SGD's L2 term comes to the same.
    settings = {"optimizer": optimizer, "lr": 0.05, "momentum": 0.0}
    plain, decayed = make_trainer(**settings), make_trainer(**settings, weight_decay=0.5)
    before = weights(plain)
    train(plain, 1), train(decayed, 1)
    after_plain, after_decayed = weights(plain), weights(decayed)
    for name, w in before.items():
        shrunk = after_plain[name] - 0.05 * 0.5 * w
        torch.testing.assert_close(after_decayed[name], shrunk, rtol=1e-5, atol=1e-7)
    assert Config().weight_decay == 0.0 and Config(task="music").weight_decay == 0.2
    with pytest.raises(ConfigError, match="weight decay must be 0 or more, got -0.1"):
        Config(weight_decay=-0.1).validate()


def test_set_clipping_takes_effect_on_the_next_step():
    trainer = make_trainer()
    run = paused_session(trainer)
    run.send(Step(1))
    drain(run)
    assert not trainer.history.view().clipped[-1]
    snap = run.send(SetClipping("norm", 1e-4))
    assert (snap.clip, snap.clip_threshold) == ("norm", 1e-4)
    assert trainer.step_count == 1  # setting it does not train
    run.send(Step(1))
    drain(run)
    h = trainer.history.view()
    assert h.clipped[-1] and h.grad_norm_clipped[-1] <= 1e-4 + 1e-5


def test_reset_command_restores_initial_weights():
    trainer = make_trainer()
    initial = weights(trainer)
    run = paused_session(trainer)
    run.send(Step(4))
    drain(run)
    snap = run.send(Reset())
    assert snap.step == 0 and len(snap.history) == 0 and snap.trace.meta["step"] == 0
    assert_same_weights(weights(trainer), initial)
    assert run.send(None) == IDLE


def test_snapshots_are_immutable():
    trainer = make_trainer(cell="lstm")
    run = paused_session(trainer)
    run.send(Step(3))
    snap = drain(run)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.loss = 0.0
    for name in ("step", "loss", "grad_norm", "grad_norm_clipped", "clipped"):
        a = getattr(snap.history, name)
        assert not a.flags.writeable, name
        with pytest.raises(ValueError):
            a[0] = a[0]
    trace = snap.trace
    arrays = [trace.x, trace.y, trace.y_hat, trace.loss_mask, *trace.params.values()]
    for lt in trace.layers:
        arrays += [lt.h, lt.c, lt.grad_h, lt.grad_c, lt.jacobian_norm, *lt.gates.values()]
    assert all(not a.flags.writeable for a in arrays)
    # Rows already handed out never change while training goes on.
    losses = snap.history.loss.copy()
    run.send(Step(5))
    drain(run)
    np.testing.assert_array_equal(snap.history.loss, losses)
    assert snap.step == 3


# ---------------------------------------------------------------------------- misc


def test_core_does_not_import_qt():
    code = (
        "import sys, rnnviz.core.train, rnnviz.core.record\n"
        "assert not any(m.startswith('PySide6') for m in sys.modules), 'PySide6 loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_charlm_sample_text():
    trainer = make_trainer(task="charlm", seq_len=16)
    a = trainer.sample_text(60, temperature=0.8, seed=3)
    assert len(a) == 60
    assert set(a) <= set(trainer.task.chars)
    assert trainer.sample_text(60, temperature=0.8, seed=3) == a
    with pytest.raises(ConfigError):
        trainer.sample_text(10, temperature=0.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bad_temperature_is_refused_and_training_goes_on(bad):
    trainer = make_trainer(task="charlm", seq_len=16)
    run = paused_session(trainer)
    snap = run.send(SetTemperature(0.5))
    assert snap.extras["temperature"] == 0.5 and "refused" not in snap.extras
    snap = run.send(SetTemperature(bad))
    assert snap.extras["refused"] == f"temperature must be a positive number, got {bad!r}"
    assert snap.extras["temperature"] == 0.5  # the sample keeps the last good temperature
    run.send(Step(2))
    last = drain(run)
    assert last.step == 2 and last.state == "paused" and "refused" not in last.extras
