"""TrainingRunner: a worker process driving core.loop.session, talking to the GUI by signals.

How long stopping takes is measured in benchmarks/bench_app.py ("closing mid-training"), not
asserted here: on a busy machine any bar in a test is a coin toss."""

from __future__ import annotations

import os
import pickle
import signal
import threading
from multiprocessing.connection import Connection

import pytest

from rnnviz.core.config import Config
from rnnviz.core.protocol import SnapshotPayload
from rnnviz.qt.runner import TrainingRunner

SMALL = Config(hidden=8, seq_len=20, batch=8, device="cpu")
TIMEOUT = 30_000  # ms; generous for a loaded CI machine, never reached when things work
# A fresh worker imports torch: with every core busy that alone has taken over 30 s.
SPAWN_TIMEOUT = 120_000


@pytest.fixture
def runner(qtbot):
    r = TrainingRunner()
    yield r
    r.stop()


@pytest.fixture
def as_the_app(monkeypatch):
    """Workers started as the app starts them (a fresh interpreter), not the suite's way."""
    from rnnviz.qt import runner

    monkeypatch.setattr(runner, "START_METHOD", "spawn")


def start(qtbot, runner, config=SMALL, **kw):
    """Start a run and return its first snapshot."""
    with qtbot.waitSignal(runner.snapshot, timeout=SPAWN_TIMEOUT) as first:
        runner.start(config, **kw)
    return first.args[0]


def next_snapshot(qtbot, runner, command=None, until=lambda s: True):
    with qtbot.waitSignal(runner.snapshot, timeout=TIMEOUT, check_params_cb=until) as b:
        if command is not None:
            runner.send(command)
    return b.args[0]


def test_start_reports_devices_started_and_a_paused_first_snapshot(qtbot, as_the_app, runner):
    events = []
    runner.devices.connect(lambda d: events.append(("devices", d)))
    runner.started.connect(lambda c: events.append(("started", c)))
    runner.snapshot.connect(lambda s: events.append(("snapshot", s)))
    start(qtbot, runner)
    assert [name for name, _ in events] == ["devices", "started", "snapshot"]
    devices, config, snap = (value for _, value in events)
    assert "cpu" in devices
    assert config == SMALL
    assert snap.step == 0 and snap.state == "paused" and snap.trace.T == 20
    assert snap.config.hidden == 8


def test_step_advances_exactly_one_step(qtbot, runner):
    from rnnviz.core.protocol import Probe, Step

    start(qtbot, runner)
    assert next_snapshot(qtbot, runner, Step(1)).step == 1
    assert next_snapshot(qtbot, runner, Step(1)).step == 2
    next_snapshot(qtbot, runner, Step(3), until=lambda s: s.step == 5)
    assert next_snapshot(qtbot, runner, Probe()).step == 5  # and then it stays there


def test_run_pause_and_live_learning_rate(qtbot, runner):
    from rnnviz.core.protocol import Pause, Run, SetLearningRate

    start(qtbot, runner)
    running = next_snapshot(qtbot, runner, Run(), until=lambda s: s.step >= 3)
    assert running.state == "running"
    snap = next_snapshot(qtbot, runner, SetLearningRate(0.05), until=lambda s: s.lr == 0.05)
    assert snap.config.lr == 0.05
    paused = next_snapshot(qtbot, runner, Pause(), until=lambda s: s.state == "paused")
    later = next_snapshot(qtbot, runner, SetLearningRate(0.02))
    assert later.step == paused.step  # a paused session takes no steps


def test_stop_mid_training_joins(qtbot, runner):
    from rnnviz.core.protocol import Run

    start(qtbot, runner)
    next_snapshot(qtbot, runner, Run(), until=lambda s: s.step >= 2)
    runner.stop()
    assert not runner.is_alive()
    assert "rnnviz-training" not in [t.name for t in threading.enumerate()]
    with qtbot.assertNotEmitted(runner.snapshot, wait=300):
        runner.send(Run())  # nothing runs: ignored, no error


def test_stop_while_idle_wakes_the_blocked_worker(qtbot, runner):
    start(qtbot, runner)  # paused: the worker waits on the command queue
    runner.stop()
    assert not runner.is_alive()


def test_restart_drops_the_old_runs_snapshots(qtbot, runner):
    from rnnviz.core.protocol import Run

    start(qtbot, runner)
    runner.send(Run())
    seen = []
    runner.snapshot.connect(seen.append)
    bigger = SMALL.replace(hidden=12)
    with qtbot.waitSignal(runner.started, timeout=TIMEOUT):
        runner.start(bigger)
    seen.clear()  # anything from the first run had to arrive before `started`
    next_snapshot(qtbot, runner)
    assert seen and all(s.config.hidden == 12 for s in seen)


@pytest.mark.parametrize(
    "config, message",
    [
        (Config(task="charlm", text="/no/such/file.txt", hidden=8), "text file not found"),
        (Config(task="copy", seq_len=3), "at least 4"),
    ],
)
def test_a_bad_config_becomes_an_error_message(qtbot, runner, config, message):
    with qtbot.waitSignal(runner.error, timeout=SPAWN_TIMEOUT) as blocker:
        runner.start(config)
    assert message in blocker.args[0]
    qtbot.waitUntil(lambda: not runner.is_alive(), timeout=TIMEOUT)


def test_a_missing_device_becomes_an_error_message(qtbot, runner):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with qtbot.waitSignal(runner.error, timeout=SPAWN_TIMEOUT) as blocker:
        runner.start(SMALL.replace(device="cuda"))
    assert "not available" in blocker.args[0]


def test_a_bad_text_file_becomes_an_error_message(qtbot, runner, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café au lait\n".encode("latin-1"))
    with qtbot.waitSignal(runner.error, timeout=SPAWN_TIMEOUT) as blocker:
        runner.start(Config(task="charlm", text=str(bad), hidden=8, seq_len=5))
    assert "not UTF-8" in blocker.args[0]


def test_a_worker_that_dies_becomes_an_error_message_and_apply_starts_again(qtbot, runner):
    start(qtbot, runner)
    with qtbot.waitSignal(runner.error, timeout=TIMEOUT) as blocker:
        runner._process.kill()  # as if the operating system had ended it
    assert "ended unexpectedly" in blocker.args[0]
    assert not runner.is_alive()
    assert start(qtbot, runner).step == 0  # a new run starts a new worker


@pytest.fixture
def tamper(monkeypatch):
    """tamper(change): from now on the reader thread receives change(bytes) for each message
    the worker sends (the bytes as they came down the real pipe)."""
    real = Connection.recv_bytes

    def arm(change):
        monkeypatch.setattr(Connection, "recv", lambda conn: pickle.loads(change(real(conn))))

    return arm


def test_a_message_that_cannot_be_read_ends_the_worker_with_an_error_message(qtbot, runner, tamper):
    from rnnviz.core.protocol import Run

    start(qtbot, runner)
    process = runner._process
    tamper(lambda data: b"\x80\x05corrupt" + data[12:])
    with qtbot.waitSignal(runner.error, timeout=TIMEOUT) as blocker:
        runner.send(Run())
    assert "could not be read" in blocker.args[0] and "Apply" in blocker.args[0]
    assert not runner.is_alive() and not process.is_alive()  # it does not train on unseen
    tamper(lambda data: data)
    assert start(qtbot, runner).step == 0


def test_snapshots_out_of_step_end_the_run_with_an_error_message(qtbot, runner, tamper):
    from rnnviz.core.protocol import Run

    start(qtbot, runner)
    lost = []

    def lose_one_snapshot(data):  # the second payload from now on never arrives
        if isinstance(pickle.loads(data), SnapshotPayload) and len(lost) < 2:
            lost.append(data)
            if len(lost) == 2:
                return pickle.dumps(None)
        return data

    tamper(lose_one_snapshot)
    with qtbot.waitSignal(runner.error, timeout=TIMEOUT) as blocker:
        runner.send(Run())
    assert "out of step" in blocker.args[0] and "missing" in blocker.args[0]
    assert not runner.is_alive()
    with qtbot.assertNotEmitted(runner.snapshot, wait=300):  # no wrong plots follow
        pass


def test_a_silent_training_worker_is_reported_until_it_speaks_again(qtbot):
    from rnnviz.core.protocol import Run

    runner = TrainingRunner(silence_s=0.5)
    try:
        start(qtbot, runner)
        next_snapshot(qtbot, runner, Run(), until=lambda s: s.state == "running")
        with qtbot.waitSignal(runner.responding, timeout=TIMEOUT) as silent:
            os.kill(runner._process.pid, signal.SIGSTOP)  # hung: alive, sends nothing
        assert silent.args == [False] and runner.is_alive()
        with qtbot.waitSignal(runner.responding, timeout=TIMEOUT) as back:
            os.kill(runner._process.pid, signal.SIGCONT)
        assert back.args == [True]
    finally:
        runner.stop()


def test_apply_after_silence_replaces_the_hung_worker(qtbot):
    from rnnviz.core.protocol import Run

    runner = TrainingRunner(silence_s=0.5)
    try:
        start(qtbot, runner)
        next_snapshot(qtbot, runner, Run(), until=lambda s: s.state == "running")
        hung = runner._process
        with qtbot.waitSignal(runner.responding, timeout=TIMEOUT):
            os.kill(hung.pid, signal.SIGSTOP)
        assert start(qtbot, runner).step == 0  # a fresh worker answers
        assert runner._process is not hung and not hung.is_alive()
    finally:
        runner.stop()


def test_a_paused_worker_is_never_reported_silent(qtbot):
    runner = TrainingRunner(silence_s=0.2)
    try:
        start(qtbot, runner)  # paused: it has nothing to say
        with qtbot.assertNotEmitted(runner.responding, wait=1000):
            pass
    finally:
        runner.stop()


def test_the_worker_is_kept_between_runs_and_snapshots_stay_immutable(qtbot, runner):
    from rnnviz.core.protocol import Step

    first = start(qtbot, runner)
    process = runner._process
    snap = next_snapshot(qtbot, runner, Step(3), until=lambda s: s.step == 3)
    assert list(snap.history.step) == [1, 2, 3] and len(snap.probes) >= 2
    assert not snap.history.loss.flags.writeable and not snap.trace.layer(0).h.flags.writeable
    assert len(first.history) == 0  # an earlier snapshot does not change
    second = start(qtbot, runner, SMALL.replace(cell="gru"))
    assert runner._process is process  # torch stays loaded: no new process
    assert second.trace.cell == "gru" and len(second.history) == 0
