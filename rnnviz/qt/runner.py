"""TrainingRunner: the one place the app runs code in another thread.

A worker thread builds a `Trainer` (importing torch there, so the window shows first) and drives
`core.train.session`: it sends the commands the GUI queued, blocks on the queue while the
session is idle, and hands every Snapshot to the GUI thread through a queued signal.

    GUI thread                         worker thread ("rnnviz-training")
    start(config) ─────────────────▶   import torch, Trainer(config), session(trainer)
    send(Run()) ──▶ queue.Queue ──▶    gen.send(command) … one step per send
    @Slot _on_snapshot ◀── signal ──   Snapshot (immutable)
    stop() ── stop flag + wake-up ──▶  loop ends; stop() joins

The thread is a plain `threading.Thread`, not a QThread: Python sees it, so it can be joined
and a leaked one shows in `threading.enumerate()` (tests fail on it), and a QThread running
Python code leaves a `_DummyThread` behind that never reports itself finished. Signals
emitted from the worker reach this object's slots queued, because this object lives in the
GUI thread; every emission carries the run's number so a late snapshot of a stopped run is
dropped. Nothing crosses threads through a lambda.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

from rnnviz.core.config import Config, ConfigError

if TYPE_CHECKING:  # torch is imported by the worker, never at GUI start-up
    from rnnviz.core.train import Snapshot

log = logging.getLogger(__name__)

_STOP = object()  # wakes a worker blocked on an empty queue


class TrainingRunner(QObject):
    """Runs one training session at a time in a worker thread.

    Signals (all delivered in the GUI thread):
        snapshot(Snapshot)  every snapshot the session yields
        error(str)          a message for a person; the run has ended
        devices(list)       the devices this machine can train on, once torch is loaded
        started(Config)     the trainer of a new run is built; snapshots follow
    """

    snapshot = Signal(object)
    error = Signal(str)
    devices = Signal(list)
    started = Signal(object)

    # worker -> GUI: each carries the run number so a stopped run's late events are dropped
    _worker_snapshot = Signal(int, object)
    _worker_error = Signal(int, str)
    _worker_devices = Signal(int, list)
    _worker_started = Signal(int, object)

    def __init__(self, parent: QObject | None = None, *, snapshot_interval: float = 0.1) -> None:
        super().__init__(parent)
        self.snapshot_interval = snapshot_interval
        self._run = 0  # number of the current run; 0 before the first
        self._thread: threading.Thread | None = None
        self._commands: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self.config: Config | None = None  # the config of the current (or last) run
        self._worker_snapshot.connect(self._on_snapshot)
        self._worker_error.connect(self._on_error)
        self._worker_devices.connect(self._on_devices)
        self._worker_started.connect(self._on_started)

    # -- control (GUI thread)

    def start(
        self,
        config: Config,
        *,
        running: bool = False,
        label: str = "",
        companions: tuple[tuple[str, Config], ...] = (),
    ) -> None:
        """Stop any previous run and start a new one with `config` (paused unless `running`).

        `companions` are (label, Config) runs trained beside it for a comparison; snapshots
        then list every run in `runs`, this one (`label`) first.

        Building the trainer happens in the worker; a problem there (a bad text file, a
        device that is not available) arrives as `error`, never as an exception here.
        """
        self.stop()
        self._run += 1
        self.config = config
        self._commands = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_work,
            name="rnnviz-training",
            args=(self, self._run, config, running, label, companions, self._commands, self._stop),
            daemon=True,  # never keeps a crashed app alive; close() joins it anyway
        )
        self._thread.start()

    def send(self, command: Any) -> None:
        """Queue a `core.train` command for the current run (ignored when none runs)."""
        if self.is_alive():
            self._commands.put(command)

    def stop(self) -> None:
        """End the current run and join its thread: returns once the training step or
        recording in progress is done (milliseconds for the models the app is made for)."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._commands.put(_STOP)
        thread.join()
        self._thread = None
        self._run += 1  # anything the stopped run still had queued to us is now stale

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- from the worker (queued into the GUI thread)

    @Slot(int, object)
    def _on_snapshot(self, run: int, snapshot: Snapshot) -> None:
        if run == self._run:
            self.snapshot.emit(snapshot)

    @Slot(int, str)
    def _on_error(self, run: int, message: str) -> None:
        if run == self._run:
            self.error.emit(message)

    @Slot(int, list)
    def _on_devices(self, run: int, devices: list) -> None:
        if run == self._run:
            self.devices.emit(devices)

    @Slot(int, object)
    def _on_started(self, run: int, config: Config) -> None:
        if run == self._run:
            self.started.emit(config)


def _work(
    runner: TrainingRunner,
    run: int,
    config: Config,
    running: bool,
    label: str,
    companions: tuple[tuple[str, Config], ...],
    commands: queue.Queue,
    stop: threading.Event,
) -> None:
    """The worker thread's body: build, then drive the session until asked to stop."""
    try:
        from rnnviz.core import train  # first use imports torch (about a second)

        _leave_a_core_for_the_gui()
        runner._worker_devices.emit(run, train.available_devices())
        trainer = train.Trainer(config)
        others = [(lab, train.Trainer(cfg)) for lab, cfg in companions]
        runner._worker_started.emit(run, trainer.config)
        steps = train.session(
            trainer,
            running=running,
            snapshot_interval=runner.snapshot_interval,
            label=label,
            companions=others,
        )
        command = None
        while not stop.is_set():
            out = steps.send(command)
            if isinstance(out, train.Snapshot):
                runner._worker_snapshot.emit(run, out)
            # Idle: sleep until the GUI says something. Otherwise take what is queued, if any.
            try:
                command = commands.get() if out == train.IDLE else commands.get_nowait()
            except queue.Empty:
                command = None
            if command is _STOP:
                break
        steps.close()
    except ConfigError as e:
        runner._worker_error.emit(run, str(e))
    except Exception as e:  # the worker must end cleanly whatever happens; the log has details
        log.exception("training stopped by an unexpected error")
        runner._worker_error.emit(run, f"Training stopped: {type(e).__name__}: {e}")


def _leave_a_core_for_the_gui() -> None:
    """Train on all cores but one, so the GUI thread is never starved by torch's worker
    threads (busy-waiting OpenMP threads on every core stall redraws and, on a loaded
    machine, training itself). A user's OMP_NUM_THREADS wins."""
    if "OMP_NUM_THREADS" in os.environ:
        return
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    torch.set_num_threads(max(1, (cores or 2) - 1))
