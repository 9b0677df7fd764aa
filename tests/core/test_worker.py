"""The training process's side: the snapshot stream rebuilds exactly what the session yielded,
sending only new history rows, and the worker loop runs sessions and reports errors as
messages. The worker runs here in a thread on one end of a real pipe."""

from __future__ import annotations

import multiprocessing
import pickle
import threading

import numpy as np
import pytest

from rnnviz.core.config import Config
from rnnviz.core.protocol import (
    Reset,
    Run,
    Snapshot,
    SnapshotDecoder,
    SnapshotEncoder,
    Step,
)
from rnnviz.core.train import Trainer, session
from rnnviz.core.worker import serve

SMALL = Config(hidden=8, seq_len=12, batch=4, device="cpu")


def assert_same_snapshot(a: Snapshot, b: Snapshot) -> None:
    assert (a.step, a.state, a.loss == a.loss and a.loss, a.config) == (
        b.step,
        b.state,
        b.loss == b.loss and b.loss,
        b.config,
    )
    for name in ("step", "loss", "grad_norm", "grad_norm_clipped", "clipped"):
        np.testing.assert_array_equal(getattr(a.history, name), getattr(b.history, name))
    np.testing.assert_array_equal(a.probes.step, b.probes.step)
    for k in a.probes.grad_norms:
        np.testing.assert_array_equal(a.probes.grad_norms[k], b.probes.grad_norms[k])
    for k in a.probes.radii:
        np.testing.assert_array_equal(a.probes.radii[k], b.probes.radii[k])
    np.testing.assert_array_equal(a.trace.layer(0).grad_h, b.trace.layer(0).grad_h)
    assert dict(a.extras) == dict(b.extras)
    assert [r.label for r in a.runs] == [r.label for r in b.runs]
    for ra, rb in zip(a.runs, b.runs, strict=True):
        np.testing.assert_array_equal(ra.history.loss, rb.history.loss)
        np.testing.assert_array_equal(ra.trace.layer(0).h, rb.trace.layer(0).h)


def snapshots(commands, companions=()):
    """Drive a session (snapshot at every send) and yield its snapshots."""
    trainer = Trainer(SMALL)
    others = [(label, Trainer(SMALL.replace(cell=cell))) for label, cell in companions]
    gen = session(trainer, snapshot_interval=0.0, probe_interval=0.0, companions=others)
    out = next(gen)
    for cmd in commands:
        if isinstance(out, Snapshot):
            yield out
        out = gen.send(cmd)
    gen.close()


def test_the_stream_rebuilds_every_snapshot_across_a_pipe_and_a_reset():
    encoder, decoder = SnapshotEncoder(), SnapshotDecoder()
    commands = [Step(3), None, None, None, Reset(), Step(2), None, None]
    seen = 0
    for snap in snapshots(commands, companions=[("GRU", "gru")]):
        payload = pickle.loads(pickle.dumps(encoder.encode(snap)))  # as the pipe carries it
        rebuilt = decoder.decode(payload)
        assert_same_snapshot(snap, rebuilt)
        assert not rebuilt.history.loss.flags.writeable
        assert not rebuilt.trace.layer(0).grad_h.flags.writeable
        seen += 1
    assert seen >= 5


def test_the_stream_sends_only_new_history_rows():
    encoder = SnapshotEncoder()
    trainer = Trainer(SMALL)
    for _ in range(50):
        trainer.train_step()
    trace = trainer.record()
    first = encoder.encode(trainer.snapshot(state="paused", trace=trace, steps_per_s=0.0))
    trainer.train_step()
    second = encoder.encode(trainer.snapshot(state="paused", trace=trace, steps_per_s=0.0))
    assert len(first["history"].cols["loss"]) == 50
    assert len(second["history"].cols["loss"]) == 1 and second["history"].start == 50
    assert second["trace"] == "same trace"  # the same recording is not sent twice
    assert len(pickle.dumps(second)) < len(pickle.dumps(first)) / 5


@pytest.fixture
def worker():
    """(send, receive) to a worker loop running in a thread on a real pipe."""
    ours, theirs = multiprocessing.Pipe(duplex=True)
    thread = threading.Thread(target=serve, args=(theirs, 0.0), name="test-worker")
    thread.start()

    def receive(kind):
        while True:
            assert ours.poll(30), f"no {kind!r} message within 30 s"
            message = ours.recv()
            if message[0] == kind:
                return message

    yield ours.send, receive
    ours.send(("stop",))
    thread.join(10)
    ours.close()
    theirs.close()


def test_worker_runs_sessions_and_replaces_them(worker):
    send, receive = worker
    send(("start", 1, SMALL, False, "", ()))
    assert "cpu" in receive("devices")[2]
    assert receive("started")[1:] == (1, SMALL)
    decoder = SnapshotDecoder()
    assert decoder.decode(receive("snapshot")[2]).step == 0
    send(("command", 1, Step(2)))
    while (snap := decoder.decode(receive("snapshot")[2])).step < 2:
        pass
    assert snap.step == 2
    send(("start", 2, SMALL.replace(cell="rnn"), True, "", ()))
    _, run, payload = receive("snapshot")
    while run != 2:
        _, run, payload = receive("snapshot")
    assert SnapshotDecoder().decode(payload).trace.cell == "rnn"


def test_worker_reports_bad_settings_and_unexpected_errors_as_messages(worker, monkeypatch):
    send, receive = worker
    missing = Config(task="charlm", text="/no/such.txt", hidden=8, seq_len=5, device="cpu")
    send(("start", 1, missing, False, "", ()))
    assert "text file not found" in receive("error")[2]

    def broken_step(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(Trainer, "train_step", broken_step)
    send(("start", 2, SMALL, False, "", ()))
    receive("snapshot")
    send(("command", 2, Run()))
    assert receive("error")[1:] == (2, "Training stopped: RuntimeError: boom")
    monkeypatch.undo()
    send(("start", 3, SMALL, False, "", ()))  # the worker lives on for the next run
    assert receive("started")[1] == 3
