"""The connectivity is recorded only while someone watches it: SetConnectivity switches it
in a running session, and a trace without it says why (core/protocol.py, core/train.py)."""

from __future__ import annotations

from rnnviz.core.config import Config
from rnnviz.core.loop import session
from rnnviz.core.protocol import CONNECTIVITY_UNWATCHED, IDLE, SetConnectivity, Snapshot, Step
from rnnviz.core.train import Trainer


def _drain(run) -> Snapshot:
    last = None
    for _ in range(100):
        item = run.send(None)
        if item == IDLE:
            return last
        last = item if isinstance(item, Snapshot) else last
    raise AssertionError("the session never went idle")


def test_the_command_switches_the_connectivity_of_the_recordings():
    cfg = Config(task="charlm", hidden=8, seq_len=12, batch=4, device="cpu")
    run = session(Trainer(cfg), clock=lambda: 0.0, connectivity=False)
    first = next(run)
    assert first.trace.connectivity is None
    assert first.trace.meta["connectivity"] == CONNECTIVITY_UNWATCHED
    shown = run.send(SetConnectivity(True))  # recorded again at once, with it
    assert shown.trace is not first.trace and shown.trace.connectivity.shape == (12, 12)
    assert shown.trace.meta["connectivity"].startswith("computed")
    run.send(SetConnectivity(False))
    hidden = run.send(Step(1))  # the step's recording, shown at once
    assert _drain(run) is None
    assert hidden.step == 1 and hidden.trace.connectivity is None
    assert hidden.trace.meta["connectivity"] == CONNECTIVITY_UNWATCHED


def test_a_sentence_recorded_without_it_keeps_the_rest():
    trainer = Trainer(Config(task="sentiment", hidden=6, batch=4, seq_len=20, device="cpu"))
    trace = trainer.record(jacobian_sequences=1, skip_connectivity=CONNECTIVITY_UNWATCHED)
    assert trace.connectivity is None
    assert trace.meta["connectivity"] == CONNECTIVITY_UNWATCHED
    assert trace.meta["evidence"].startswith("computed")  # the decision is not the panel's
