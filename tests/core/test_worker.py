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
from rnnviz.core.loop import session
from rnnviz.core.protocol import (
    Capture,
    Captured,
    Devices,
    ForRun,
    Reset,
    Run,
    RunEnded,
    RunStarted,
    Snapshot,
    SnapshotPayload,
    StartRun,
    Step,
    StopWorker,
)
from rnnviz.core.stream import SnapshotDecoder, SnapshotEncoder, StreamError
from rnnviz.core.train import Trainer
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


def test_the_decoder_refuses_rows_that_do_not_continue_where_the_last_ones_ended():
    trainer = Trainer(SMALL)
    trace = trainer.record()

    def payload(encoder):
        trainer.train_step()
        return encoder.encode(trainer.snapshot(state="running", trace=trace, steps_per_s=0.0))

    encoder, decoder = SnapshotEncoder(), SnapshotDecoder()
    assert len(decoder.decode(payload(encoder)).history) == 1
    payload(encoder)  # lost on the way
    with pytest.raises(StreamError, match=r"history rows from 2 follow row 1: 1 row\(s\) missing"):
        decoder.decode(payload(encoder))
    encoder, decoder = SnapshotEncoder(), SnapshotDecoder()
    decoder.decode(payload(encoder))
    again = payload(encoder)
    decoder.decode(again)
    with pytest.raises(
        StreamError, match=r"history rows from 4 follow row 5: 1 row\(s\) sent twice"
    ):
        decoder.decode(again)


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
            if isinstance(message, kind):
                return message

    yield ours.send, receive
    ours.send(StopWorker())
    thread.join(10)
    ours.close()
    theirs.close()


def test_worker_runs_sessions_and_replaces_them(worker):
    send, receive = worker
    send(StartRun(1, SMALL))
    assert "cpu" in receive(Devices).names
    assert receive(RunStarted) == RunStarted(1, SMALL)
    decoder = SnapshotDecoder()
    assert decoder.decode(receive(SnapshotPayload).payload).step == 0
    send(ForRun(1, Step(2)))
    while (snap := decoder.decode(receive(SnapshotPayload).payload)).step < 2:
        pass
    assert snap.step == 2
    send(StartRun(2, SMALL.replace(cell="rnn"), running=True))
    while (message := receive(SnapshotPayload)).run != 2:
        pass
    assert SnapshotDecoder().decode(message.payload).trace.cell == "rnn"


def test_worker_reports_bad_settings_and_unexpected_errors_as_messages(worker, monkeypatch):
    send, receive = worker
    missing = Config(task="charlm", text="/no/such.txt", hidden=8, seq_len=5, device="cpu")
    send(StartRun(1, missing))
    assert "text file not found" in receive(RunEnded).message

    def broken_step(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(Trainer, "train_step", broken_step)
    send(StartRun(2, SMALL))
    receive(SnapshotPayload)
    send(ForRun(2, Run()))
    assert receive(RunEnded) == RunEnded(2, "Training stopped: RuntimeError: boom")
    monkeypatch.undo()
    send(StartRun(3, SMALL))  # the worker lives on for the next run
    assert receive(RunStarted).run == 3


def test_worker_sends_a_runs_state_and_starts_a_run_from_one(worker):
    """Saving asks the worker for the trainers' state (Captured); opening a session starts a
    run from it (StartRun.resume), at the saved step with the saved history."""
    send, receive = worker
    send(StartRun(1, SMALL, label="a", companions=(("b", SMALL.replace(cell="gru")),)))
    decoder = SnapshotDecoder()
    decoder.decode(receive(SnapshotPayload).payload)
    send(ForRun(1, Step(3)))
    while decoder.decode(receive(SnapshotPayload).payload).step < 3:
        pass
    send(Capture(1))
    states = receive(Captured).runs
    assert [(s.label, s.step, len(s.history["loss"])) for s in states] == [("a", 3, 3), ("b", 3, 3)]
    send(StartRun(2, SMALL, label="a", companions=(("b", states[1].config),), resume=states))
    while (message := receive(SnapshotPayload)).run != 2:
        pass
    snap = SnapshotDecoder().decode(message.payload)
    assert (snap.step, [r.step for r in snap.runs]) == (3, [3, 3])
    np.testing.assert_array_equal(snap.history.loss, states[0].history["loss"])
    send(StartRun(3, SMALL, resume=states))  # two saved runs for one run to start
    assert "saved runs do not match" in receive(RunEnded).message


def test_a_message_the_worker_cannot_read_ends_it():
    ours, theirs = multiprocessing.Pipe(duplex=True)
    thread = threading.Thread(target=serve, args=(theirs, 0.0), name="test-worker")
    thread.start()
    ours.send(StartRun(1, SMALL))
    assert ours.poll(30) and isinstance(ours.recv(), Devices)
    ours.send_bytes(b"\x80\x05not a pickle")  # a corrupt message in the middle of a run
    thread.join(30)
    assert not thread.is_alive()  # the window's reader then sees the pipe close
    ours.close()
    theirs.close()
