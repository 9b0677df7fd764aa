"""TrainingRunner: the one owner of the app's training process and of the only extra thread.

Training runs in a separate process (rnnviz/core/worker.py): both the training loop and the
plots spend much of their time in Python, which runs one thread at a time, so in one process
each would slow the other. The runner starts the process on the first run and keeps it (torch
stays loaded: a new model is ready in milliseconds), sends it runs and commands, and a reader
thread hands what comes back to the GUI thread through a queued signal.

    GUI thread                               worker process (no Qt)
    start(config) ─── StartRun(run, …) ───▶  Trainer(config), session(trainer)
    send(Run())   ─── ForRun(run, …) ─────▶  gen.send(command) … one step per send
    @Slot _on_message ◀── reader thread ◀──  SnapshotPayload(run, payload) …
    stop()        ─── StopWorker() ───────▶  exits; join, else terminate

Every message carries the run's number so a replaced run's late snapshots are dropped.
Snapshots travel as SnapshotEncoder payloads (only the history rows not yet sent) and are
rebuilt here, in the GUI thread. The reader is a plain `threading.Thread` so that Python sees
it: it can be joined, and a leaked one shows in `threading.enumerate()` (tests fail on it).

Every failure of the pipe reaches the user: the reader always ends with `Gone` (the worker
died, or sent what cannot be read), payloads out of step end the run with a message, and a
training worker silent for `silence_s` seconds is reported until it speaks again (a start then
replaces it).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import traceback
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from rnnviz.core.config import Config
from rnnviz.core.protocol import (
    Capture,
    Captured,
    Devices,
    ForRun,
    Pause,
    RunEnded,
    RunStarted,
    SnapshotPayload,
    StartRun,
    StopWorker,
    ToWorker,
)
from rnnviz.core.session import RunState
from rnnviz.core.stream import SnapshotDecoder, StreamError
from rnnviz.core.worker import serve

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 0.5  # how long a stopping worker may finish its step before it is ended
SILENCE_S = 5.0  # a training worker that sends nothing this long is reported as not responding
# A fresh interpreter per worker: fork would copy Qt's threads (unsafe). The test suite swaps in
# a forkserver that has imported torch once (tests/qt/conftest.py), as it opens ~50 windows.
START_METHOD = "spawn"
AGAIN = "Press Apply to start again."


@dataclass(frozen=True)
class Gone:
    """reader thread -> GUI thread, always its last message: worker number `worker` can no
    longer be heard; `reason` says why, for a person."""

    worker: int
    reason: str


class TrainingRunner(QObject):
    """Runs one training session at a time in the worker process.

    Signals (all delivered in the GUI thread):
        snapshot(Snapshot)  every snapshot the session yields
        error(str)          a message for a person; the run has ended
        devices(list)       the devices this machine can train on, once torch is loaded
        started(Config)     the trainer of a new run is built; snapshots follow
        responding(bool)    False once a training run has been silent for `silence_s`
                            seconds, True when it speaks again
        captured(tuple)     the RunStates `capture()` asked for (this run first)
    """

    snapshot = Signal(object)
    error = Signal(str)
    devices = Signal(list)
    started = Signal(object)
    responding = Signal(bool)
    captured = Signal(tuple)

    _message = Signal(object)  # reader thread -> GUI thread (queued: this object is GUI-side)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        snapshot_interval: float = 0.05,
        silence_s: float = SILENCE_S,
    ) -> None:
        super().__init__(parent)
        self.snapshot_interval = snapshot_interval
        self.silence_s = silence_s
        self._run = 0  # number of the current run; 0 before the first
        self._active = False  # the current run is training (not ended by an error)
        self._worker = 0  # number of the current worker process: a dead one's Gone is stale
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn = None
        self._reader: threading.Thread | None = None
        self._decoder = SnapshotDecoder()
        self.config: Config | None = None  # the config of the current (or last) run
        self.torch_loaded = False  # the worker has imported torch (it said which devices)
        self._silent = False  # `responding(False)` was the last word on the current worker
        self._silence = QTimer(self, singleShot=True, interval=round(silence_s * 1000))
        self._silence.timeout.connect(self._on_silence)
        self._message.connect(self._on_message)

    # -- control (GUI thread)

    def start(
        self,
        config: Config,
        *,
        running: bool = False,
        label: str = "",
        companions: tuple[tuple[str, Config], ...] = (),
        resume: tuple[RunState, ...] = (),
    ) -> None:
        """Replace any run with a new one with `config` (paused unless `running`).

        `companions` are (label, Config) runs trained beside it for a comparison; snapshots
        then list every run in `runs`, this one (`label`) first. `resume` continues from saved
        states (core/session.py), one per run, instead of new weights. Building them happens
        in the worker; a problem there (a bad text file, a device that is not available)
        arrives as `error`, never as an exception here.
        """
        if self._silent:  # a hung worker would never read the new run: replace it
            self.stop()
        if not self._worker_alive():
            self._start_worker()
        self._run += 1
        self._active = True
        self.config = config
        self._decoder = SnapshotDecoder()
        self._post(StartRun(self._run, config, running, label, tuple(companions), resume))

    def send(self, command: Any) -> None:
        """Queue a `core.protocol` command for the current run (ignored when none runs)."""
        if self.is_alive():
            self._post(ForRun(self._run, command))

    def capture(self) -> None:
        """Ask for the current run's whole state: `captured` brings it (nothing when no run
        is in progress, or when it is replaced before it answers)."""
        if self.is_alive():
            self._post(Capture(self._run))

    def stop(self) -> None:
        """End the worker process and join the reader: returns once the step in progress is
        done, or after STOP_TIMEOUT_S when the worker is busy (e.g. still importing torch)."""
        process = self._process
        if process is None:
            return
        self._active = False
        self._quiet()
        self._post(StopWorker())
        process.join(STOP_TIMEOUT_S)
        if process.is_alive():
            process.terminate()
            process.join(STOP_TIMEOUT_S)
        if process.is_alive():
            process.kill()
            process.join()
        if self._reader is not None:
            self._reader.join()  # the pipe closed with the process: the reader has ended
        self._conn.close()
        self._process = self._conn = self._reader = None
        self._active = self.torch_loaded = False
        self._run += 1  # anything the stopped run still had queued to us is now stale

    def is_alive(self) -> bool:
        """A run is in progress (its worker is up and it has not ended with an error)."""
        return self._active and self._worker_alive()

    # -- the worker

    def _worker_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _start_worker(self) -> None:
        if self._process is not None:  # it died: clean up before starting another
            self.stop()
        ctx = multiprocessing.get_context(START_METHOD)
        self._worker += 1
        self._conn, child = ctx.Pipe(duplex=True)
        self._process = ctx.Process(
            target=serve,
            args=(child, self.snapshot_interval),
            name="rnnviz-training",
            daemon=True,  # never outlives a crashed app
        )
        self._process.start()
        child.close()  # ours is the only other end: the reader sees EOF when the worker ends
        self._reader = threading.Thread(
            target=_read,
            args=(self._conn, self._message, self._worker),
            name="rnnviz-reader",
            daemon=True,
        )
        self._reader.start()

    def _post(self, message: ToWorker) -> None:
        try:
            self._conn.send(message)
        except (OSError, ValueError):  # the worker has gone; stop() and the error say so
            pass

    @Slot(object)
    def _on_message(self, message) -> None:
        match message:
            case Gone(worker=worker, reason=reason):
                if worker == self._worker:
                    self._lost(reason)
                return
        self._heard()
        match message:
            case Devices(names=names):  # the worker's, whichever run it came with
                self.torch_loaded = True
                self.devices.emit(names)
            case SnapshotPayload(run=run, payload=payload) if run == self._run:
                try:
                    snapshot = self._decoder.decode(payload)
                except StreamError as e:
                    self._abandon(f"Snapshots from the training process arrived out of step ({e}).")
                    return
                self._watch(snapshot.state == "running")
                self.snapshot.emit(snapshot)
            case Captured(run=run, runs=runs) if run == self._run:
                self.captured.emit(runs)
            case RunStarted(run=run, config=config) if run == self._run:
                self.started.emit(config)
            case RunEnded(run=run, message=text) if run == self._run:
                self._active = False
                self._quiet()
                self.error.emit(text)
            case _:  # a replaced run's late message
                pass

    def _lost(self, reason: str) -> None:
        """The current worker can no longer be heard: end it (it may live on, e.g. after
        sending what could not be read), so the next start begins a fresh one."""
        active = self._active
        self.stop()
        if active:
            self.error.emit(f"{reason}. {AGAIN}")

    def _abandon(self, reason: str) -> None:
        """End the current run (paused, its later messages dropped) and say why."""
        self._post(ForRun(self._run, Pause()))
        self._run += 1
        self._active = False
        self._quiet()
        self.error.emit(f"{reason} {AGAIN}")

    # -- silence

    def _heard(self) -> None:
        if self._silent:
            self._silent = False
            self.responding.emit(True)

    def _watch(self, training: bool) -> None:
        """While the run trains, every message restarts the silence clock."""
        if training:
            self._silence.start()
        else:
            self._silence.stop()

    def _quiet(self) -> None:
        """Nothing runs: silence means nothing."""
        self._silence.stop()
        self._heard()

    @Slot()
    def _on_silence(self) -> None:
        if self.is_alive():
            self._silent = True
            self.responding.emit(False)


def _read(conn, signal, worker: int) -> None:
    """The reader thread: forward every message from the worker until the pipe closes or
    fails; whatever ends it, its last message is Gone."""
    reason = "The training process ended unexpectedly"
    try:
        while True:
            signal.emit(conn.recv())
    except (EOFError, OSError):
        pass  # the worker has ended (or stop() closed the pipe)
    except Exception as e:  # e.g. a message that cannot be unpickled
        log.error("unreadable message from the training process\n%s", traceback.format_exc())
        reason = f"The training process sent a message that could not be read ({type(e).__name__})"
    finally:
        signal.emit(Gone(worker, reason))
