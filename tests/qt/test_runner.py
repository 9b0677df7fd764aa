"""TrainingRunner: a worker process driving core.train.session, talking to the GUI by signals."""

from __future__ import annotations

import threading
import time

import pytest

from rnnviz.core.config import Config
from rnnviz.qt.runner import TrainingRunner

SMALL = Config(hidden=8, seq_len=20, batch=8, device="cpu")
TIMEOUT = 30_000  # ms; generous for a loaded CI machine, never reached when things work


@pytest.fixture
def runner(qtbot):
    r = TrainingRunner()
    yield r
    r.stop()


def start(qtbot, runner, config=SMALL, **kw):
    """Start a run and return its first snapshot."""
    with qtbot.waitSignal(runner.snapshot, timeout=TIMEOUT) as first:
        runner.start(config, **kw)
    return first.args[0]


def next_snapshot(qtbot, runner, command=None, until=lambda s: True):
    with qtbot.waitSignal(runner.snapshot, timeout=TIMEOUT, check_params_cb=until) as b:
        if command is not None:
            runner.send(command)
    return b.args[0]


def test_start_reports_devices_started_and_a_paused_first_snapshot(qtbot, runner):
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


def test_stop_mid_training_is_quick_and_joins(qtbot, runner):
    from rnnviz.core.protocol import Run

    start(qtbot, runner)
    next_snapshot(qtbot, runner, Run(), until=lambda s: s.step >= 2)
    t0 = time.perf_counter()
    runner.stop()
    assert time.perf_counter() - t0 < 1.0
    assert not runner.is_alive()
    assert "rnnviz-training" not in [t.name for t in threading.enumerate()]
    with qtbot.assertNotEmitted(runner.snapshot, wait=300):
        runner.send(Run())  # nothing runs: ignored, no error


def test_stop_while_idle_wakes_the_blocked_worker(qtbot, runner):
    start(qtbot, runner)  # paused: the worker waits on the command queue
    t0 = time.perf_counter()
    runner.stop()
    assert time.perf_counter() - t0 < 1.0 and not runner.is_alive()


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
    with qtbot.waitSignal(runner.error, timeout=TIMEOUT) as blocker:
        runner.start(config)
    assert message in blocker.args[0]
    qtbot.waitUntil(lambda: not runner.is_alive(), timeout=TIMEOUT)


def test_a_missing_device_becomes_an_error_message(qtbot, runner):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with qtbot.waitSignal(runner.error, timeout=TIMEOUT) as blocker:
        runner.start(SMALL.replace(device="cuda"))
    assert "not available" in blocker.args[0]


def test_a_bad_text_file_becomes_an_error_message(qtbot, runner, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café au lait\n".encode("latin-1"))
    with qtbot.waitSignal(runner.error, timeout=TIMEOUT) as blocker:
        runner.start(Config(task="charlm", text=str(bad), hidden=8, seq_len=5))
    assert "not UTF-8" in blocker.args[0]


def test_a_worker_that_dies_becomes_an_error_message_and_apply_starts_again(qtbot, runner):
    start(qtbot, runner)
    with qtbot.waitSignal(runner.error, timeout=TIMEOUT) as blocker:
        runner._process.kill()  # as if the operating system had ended it
    assert "ended unexpectedly" in blocker.args[0]
    assert not runner.is_alive()
    assert start(qtbot, runner).step == 0  # a new run starts a new worker


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
