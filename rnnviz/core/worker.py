"""The training process of the desktop app: it drives `loop.session` and talks to the window
over one duplex pipe (a `multiprocessing.Connection`). No Qt here.

Why a process and not a thread: both the training loop and the plots spend much of their time
in Python, and Python runs one thread at a time. In one process a busy window slows training
and a busy trainer makes the window stutter; in two, each has a core of its own.

Messages are the typed dataclasses of `core.protocol`, pickled by the connection:

    window -> worker   StartRun(run, config, running, label, companions,   a new run
                                resume)                                    (or a saved one)
                       ForRun(run, command)                                for that run
                       Capture(run)                                        its whole state
                       StopWorker()                                        end the process
    worker -> window   Devices(names)                  once torch is loaded
                       RunStarted(run, config)         the trainers are built
                       SnapshotPayload(run, payload)   SnapshotEncoder payloads, in order
                       RunEnded(run, message)          the run has ended; says why
                       Captured(run, runs)             every trainer's state (RunState)

A second StartRun replaces the running session without restarting the process: torch stays
loaded and a new model is ready in milliseconds. A message the worker cannot read ends the
process (the pipe can no longer be trusted); the window sees the pipe close and says so.
"""

from __future__ import annotations

import logging
import traceback
from multiprocessing.connection import Connection

from rnnviz.core.config import ConfigError
from rnnviz.core.protocol import (
    IDLE,
    Capture,
    Captured,
    Devices,
    ForRun,
    RunEnded,
    RunStarted,
    Snapshot,
    SnapshotPayload,
    StartRun,
    ToWorker,
)
from rnnviz.core.stream import SnapshotEncoder
from rnnviz.core.threads import usable_cores, use_training_threads

log = logging.getLogger(__name__)

# Where training's threads leave a core free (two cores or more, unless the user's
# OMP_NUM_THREADS takes them all), the probe batch is recorded on a second thread while
# training goes on (core/probe_thread.py), busy at most this share of the time: that core is
# the one the window draws with. Otherwise between training steps, at most PROBE_BUDGET of
# the time (a recording there stops training for its length; two threads on one core would
# take turns at every kernel).
PROBE_THREAD_BUDGET = 0.5
PROBE_BUDGET = 0.2
# ... and on the thread only recordings that cost at least this much CPU: the default model's
# (~12 ms) between steps kept training at 0.85x headless, on the thread at 0.59x
# (bench_app.py, quiet); the character LM's take ~24 ms, LSTM H = 128, T = 200's ~180 ms.
PROBE_THREAD_FROM_S = 0.03
# How a run that an unexpected error ended is announced (a setting that cannot be used is
# announced in its own words instead)
STOPPED_BY_ERROR = "Training stopped: "


def serve(conn: Connection, snapshot_interval: float = 0.05, probe_interval: float = 0.07) -> None:
    """The worker process's main loop: run sessions as the window asks, until StopWorker
    (or the window has gone).

    Snapshots every `snapshot_interval` s, a new recording of the probe batch at most every
    `probe_interval` s (fewer when recording is slow: see `loop.session`), so the panels
    can redraw more than ten times a second."""
    # importing torch takes a second or two: the window is up by now
    from rnnviz.core import devices, train

    threads = use_training_threads()  # all cores but one: the window's process keeps one
    beside = PROBE_THREAD_BUDGET if usable_cores() > threads else None
    message = _receive(conn)
    devices_sent = False
    while True:
        match message:
            case StartRun():
                if not devices_sent:
                    conn.send(Devices(devices.available_devices()))
                    devices_sent = True
                message = _run(conn, train, message, snapshot_interval, probe_interval, beside)
            case ForRun() | Capture():  # for a run that has ended: nothing to do
                message = _receive(conn)
            case _:  # StopWorker, or the window has gone
                return


def _run(
    conn, train, start: StartRun, interval: float, probe: float, beside: float | None
) -> ToWorker | None:
    """Drive one session until a new message replaces it; returns that message (or None
    when the window has gone). `beside`: the recording thread's budget, None for none."""
    from rnnviz.core.resume import capture, restore  # torch is loaded by now

    run = start.run
    try:
        trainer = train.Trainer(start.config)
        others = [(lab, train.Trainer(cfg)) for lab, cfg in start.companions]
        labelled = [(start.label, trainer), *others]
        if start.resume:
            if len(start.resume) != len(labelled):
                raise ConfigError("the saved runs do not match the runs to start")
            for (_, t), state in zip(labelled, start.resume, strict=True):
                restore(t, state)
        conn.send(RunStarted(run, trainer.config))
        from rnnviz.core import loop  # loaded with train, above

        steps = loop.session(
            trainer,
            running=start.running,
            snapshot_interval=interval,
            probe_interval=probe,
            probe_budget=PROBE_BUDGET,
            probe_thread_budget=beside,
            probe_thread_from=PROBE_THREAD_FROM_S,
            label=start.label,
            companions=others,
        )
        encoder = SnapshotEncoder()
        command = None
        while True:
            out = steps.send(command)
            if isinstance(out, Snapshot):
                conn.send(SnapshotPayload(run, encoder.encode(out)))
            command = None
            if out == IDLE or conn.poll():  # idle: sleep until the window says something
                message = _receive(conn)
                match message:
                    case ForRun(run=r, command=c) if r == run:
                        command = c
                    case Capture(run=r) if r == run:
                        conn.send(Captured(run, tuple(capture(t, lab) for lab, t in labelled)))
                    case _:
                        steps.close()
                        return message
    except ConfigError as e:
        conn.send(RunEnded(run, str(e)))
    except (BrokenPipeError, EOFError, OSError):
        return None  # the window has gone
    except Exception as e:  # the run ends cleanly whatever happens; the log has the details
        log.error("training stopped by an unexpected error\n%s", traceback.format_exc())
        conn.send(RunEnded(run, f"{STOPPED_BY_ERROR}{type(e).__name__}: {e}"))
    return _receive(conn)


def _receive(conn: Connection) -> ToWorker | None:
    """The next message, or None when the window has gone or sent what cannot be read."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None
    except Exception:  # e.g. an unpickling error: nothing after it can be trusted
        log.error("unreadable message from the window\n%s", traceback.format_exc())
        return None
