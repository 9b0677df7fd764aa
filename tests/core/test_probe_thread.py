"""Recording on a second thread while training goes on (core/probe_thread.py, issue 14): each
trace is exactly the model at the step it says, whatever training did meanwhile; commands
still show their recording at once; a Reset's recording is of the reset model."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time

import numpy as np
import pytest
import torch

from rnnviz.core import loop, worker
from rnnviz.core.config import Config
from rnnviz.core.loop import session
from rnnviz.core.probe_thread import ProbeThread
from rnnviz.core.protocol import SnapshotPayload, StartRun, StopWorker
from rnnviz.core.train import IDLE, Pause, Reset, Snapshot, Step, Trainer

SMALL = Config(hidden=8, seq_len=12, batch=4, device="cpu")
THREAD = "rnnviz-recording"


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def threaded(trainer: Trainer, running: bool, companions=(), thread_from: float = 0.0):
    """A session recording on its thread as often as it can, with snapshots only when forced
    (a command, a recording picked up). The clock is the real one: the thread's timing is
    what is under test, and no assertion depends on it."""
    run = session(
        trainer,
        running=running,
        snapshot_interval=3600.0,
        probe_interval=0.0,
        probe_thread_budget=1.0,
        probe_thread_from=thread_from,
        companions=companions,
    )
    assert isinstance(next(run), Snapshot)
    return run


def until(done, run, wait_s: float = 120.0):
    """Send None to `run` until `done(output)`; the recording thread runs at a lower
    priority, so on a busy machine it may take long (the bound is not a timing assertion: it
    only ends a test that would otherwise hang)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if done(run.send(None)):
            return
    raise AssertionError("the recording thread's recordings did not arrive")


def recording_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD)]


def reference(config: Config, step: int):
    """A synchronous recording of a separate trainer trained to `step`."""
    trainer = Trainer(config)
    for _ in range(step):
        assert trainer.train_step()
    return trainer.trace_of(trainer.model, step, jacobian_sequences=1)


def assert_same_recording(trace, ref) -> None:
    assert trace.meta["step"] == ref.meta["step"]
    for name, p in ref.params.items():
        np.testing.assert_array_equal(trace.params[name], p, err_msg=name)
    for mine, theirs in zip(trace.layers, ref.layers, strict=True):
        for field in ("h", "grad_h", "jacobian_norm"):
            np.testing.assert_allclose(
                getattr(mine, field), getattr(theirs, field), rtol=1e-6, atol=1e-9, err_msg=field
            )


def test_each_threaded_recording_is_the_model_at_its_step():
    """Training goes on during each recording (several steps of this tiny model a recording),
    so a recording of the model training changes, or of weights copied at another step,
    differs from a synchronous recording of a trainer stopped at the step the trace names."""
    trainer = Trainer(SMALL)
    other = Trainer(SMALL.replace(cell="gru"))
    run = threaded(trainer, running=True, companions=[("gru", other)])
    seen = {}

    def four_seen(out) -> bool:
        if isinstance(out, Snapshot):
            seen[out.trace.meta["step"]] = (out.trace, out.runs[1].trace, out.probes.step)
        return len(seen) >= 4

    until(four_seen, run)
    steps_at_end = trainer.step_count
    threads = recording_threads()
    run.close()
    for step, (trace, gru_trace, probe_steps) in seen.items():
        assert 0 <= step <= steps_at_end
        assert probe_steps[-1] == step  # the probe history logs the trace the snapshot shows
        assert_same_recording(trace, reference(SMALL, step))
        assert_same_recording(gru_trace, reference(SMALL.replace(cell="gru"), step))
    for thread in threads:  # closing ends the thread (after the recording it holds)
        thread.join(120)
        assert not thread.is_alive()


def test_a_step_shows_its_last_step_at_once():
    trainer = Trainer(SMALL)
    run = threaded(trainer, running=False)
    run.send(Step(3))
    last = None
    while (out := run.send(None)) != IDLE:
        last = out if isinstance(out, Snapshot) else last
    assert last.step == 3
    assert_same_recording(last.trace, reference(SMALL, 3))
    run.close()


def test_a_reset_drops_the_recording_in_flight_and_shows_the_reset_model(monkeypatch):
    """A recording of the weights before a Reset, still running when it comes, is neither
    shown nor logged: the snapshot after the Reset shows step 0 and logs it alone."""
    trainer = Trainer(SMALL)
    started, release = threading.Event(), threading.Event()
    trace_of = trainer.trace_of

    def held_in_thread(model, step, **options):
        if threading.current_thread().name.startswith(THREAD):
            started.set()
            assert release.wait(30)
        return trace_of(model, step, **options)

    monkeypatch.setattr(trainer, "trace_of", held_in_thread)
    run = threaded(trainer, running=True)
    until(lambda out: started.is_set(), run)
    assert trainer.step_count > 0
    release.set()  # it may finish now: it must still not be taken after the Reset
    out = run.send(Reset())
    assert isinstance(out, Snapshot) and out.step == 0
    assert list(out.probes.step) == [0]
    assert_same_recording(out.trace, reference(SMALL, 0))
    run.close()


def test_a_pause_goes_idle_showing_a_recording_of_the_weights_it_names():
    """Without waiting for the thread: its recording then is abandoned, and one of the
    paused model is made at once where the budget allows."""
    trainer = Trainer(SMALL)
    run = threaded(trainer, running=True)
    for _ in range(20):
        run.send(None)
    last = run.send(Pause())
    while (out := run.send(None)) != IDLE:
        last = out if isinstance(out, Snapshot) else last
    assert last.trace.meta["step"] == last.probes.step[-1]
    assert_same_recording(last.trace, reference(SMALL, int(last.probes.step[-1])))
    run.close()


@pytest.mark.parametrize(("thread_from", "on_thread"), [(3600.0, False), (0.0, True)])
def test_only_recordings_that_cost_enough_go_to_the_thread(monkeypatch, thread_from, on_thread):
    """A cheap recording costs training less between steps than on a second thread (the
    default model trained at 0.59x headless with every recording on the thread, 0.85x
    between steps): the thread takes those that cost at least `probe_thread_from` s."""
    submitted, real = [], ProbeThread.submit
    monkeypatch.setattr(ProbeThread, "submit", lambda self, o: submitted.append(o) or real(self, o))
    run = threaded(Trainer(SMALL), running=True, thread_from=thread_from)
    until(lambda out: isinstance(out, Snapshot) and out.trace.meta["step"] > 0, run)
    assert bool(submitted) == on_thread  # recorded during training either way
    run.close()


@pytest.mark.parametrize(
    ("cores", "threads", "beside"),
    [(2, 1, True), (1, 1, False), (2, 2, False)],  # 2 threads: the user's OMP_NUM_THREADS
)
def test_the_worker_records_beside_training_only_where_a_core_is_free(
    monkeypatch, cores, threads, beside
):
    asked = []

    def recording_session(trainer, **kwargs):
        asked.append(kwargs["probe_thread_budget"])
        assert kwargs["probe_thread_from"] == worker.PROBE_THREAD_FROM_S
        return session(trainer, **kwargs)

    monkeypatch.setattr(worker, "usable_cores", lambda: cores)
    monkeypatch.setattr(worker, "use_training_threads", lambda: threads)
    monkeypatch.setattr(loop, "session", recording_session)
    ours, theirs = multiprocessing.Pipe(duplex=True)
    thread = threading.Thread(target=worker.serve, args=(theirs, 0.0))
    thread.start()
    ours.send(StartRun(1, SMALL))
    while True:
        assert ours.poll(30), "no snapshot within 30 s"
        if isinstance(ours.recv(), SnapshotPayload):
            break
    ours.send(StopWorker())
    thread.join(30)
    ours.close()
    theirs.close()
    assert asked == [worker.PROBE_THREAD_BUDGET if beside else None]


def test_the_recording_thread_sets_trainings_thread_count_for_itself(monkeypatch):
    """OpenMP's thread count is per thread: unset, oneDNN's LSTM kernels on the recording
    thread ran a team of one thread per core (680 ms of CPU for a 15 ms recording). And on
    Linux the thread runs at nice +10 (lower priority than training), not in the idle class
    (which, holding the interpreter lock without a core, stopped training for seconds)."""
    calls, real = [], torch.set_num_threads

    def noted(n: int) -> None:
        calls.append((threading.current_thread().name, n, threading.get_native_id()))
        real(n)

    monkeypatch.setattr(torch, "set_num_threads", noted)
    trainer = Trainer(SMALL)
    run = threaded(trainer, running=True)
    until(lambda out: isinstance(out, Snapshot), run)  # a trace from the thread
    assert [(name.startswith(THREAD), n) for name, n, _ in calls] == [(True, 1)]
    if sys.platform.startswith("linux"):  # training and the window before the recording
        tid = calls[0][2]
        assert os.sched_getscheduler(tid) == os.SCHED_OTHER
        assert os.getpriority(os.PRIO_PROCESS, tid) == os.getpriority(os.PRIO_PROCESS, 0) + 10
    run.close()
