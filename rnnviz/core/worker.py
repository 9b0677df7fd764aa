"""The training process of the desktop app: it drives `train.session` and talks to the window
over one duplex pipe (a `multiprocessing.Connection`). No Qt here.

Why a process and not a thread: both the training loop and the plots spend much of their time
in Python, and Python runs one thread at a time. In one process a busy window slows training
and a busy trainer makes the window stutter; in two, each has a core of its own.

Messages (tuples, pickled by the connection):

    window -> worker   ("start", run, config, running, label, companions)   a new run
                       ("command", run, command)                            for that run
                       ("stop",)                                            end the process
    worker -> window   ("devices", run, [names])        once torch is loaded
                       ("started", run, config)         the trainers are built
                       ("snapshot", run, payload)       SnapshotEncoder payloads, in order
                       ("error", run, message)          the run has ended; says why

`run` numbers the runs, so the window drops what a replaced run still had in the pipe. A
second "start" replaces the running session without restarting the process: torch stays
loaded and a new model is ready in milliseconds.
"""

from __future__ import annotations

import logging
import os
import traceback
from multiprocessing.connection import Connection

from rnnviz.core.config import Config, ConfigError
from rnnviz.core.protocol import IDLE, Snapshot, SnapshotEncoder

log = logging.getLogger(__name__)


def serve(conn: Connection, snapshot_interval: float = 0.05, probe_interval: float = 0.07) -> None:
    """The worker process's main loop: run sessions as the window asks, until "stop".

    Snapshots every `snapshot_interval` s, a new recording of the probe batch at most every
    `probe_interval` s (fewer when recording is slow: see `train.session`), so the panels
    can redraw more than ten times a second."""
    from rnnviz.core import train  # importing torch takes a second or two: the window is up

    _leave_a_core_for_the_window()
    message = _receive(conn)
    devices_sent = False
    while message is not None and message[0] != "stop":
        if message[0] != "start":  # a command for a run that has ended: nothing to do
            message = _receive(conn)
            continue
        _, run, config, running, label, companions = message
        if not devices_sent:
            conn.send(("devices", run, train.available_devices()))
            devices_sent = True
        message = _run(
            conn, train, run, config, running, label, companions, snapshot_interval, probe_interval
        )


def _run(conn, train, run, config: Config, running, label, companions, interval, probe):
    """Drive one session until a new message replaces it; returns that message (or None
    when the window has gone)."""
    try:
        trainer = train.Trainer(config)
        others = [(lab, train.Trainer(cfg)) for lab, cfg in companions]
        conn.send(("started", run, trainer.config))
        steps = train.session(
            trainer,
            running=running,
            snapshot_interval=interval,
            probe_interval=probe,
            probe_budget=0.2,
            label=label,
            companions=others,
        )
        encoder = SnapshotEncoder()
        command = None
        while True:
            out = steps.send(command)
            if isinstance(out, Snapshot):
                conn.send(("snapshot", run, encoder.encode(out)))
            command = None
            if out == IDLE or conn.poll():  # idle: sleep until the window says something
                message = _receive(conn)
                if message is None or message[0] != "command" or message[1] != run:
                    steps.close()
                    return message
                command = message[2]
    except ConfigError as e:
        conn.send(("error", run, str(e)))
    except (BrokenPipeError, EOFError, OSError):
        return None  # the window has gone
    except Exception as e:  # the run ends cleanly whatever happens; the log has the details
        log.error("training stopped by an unexpected error\n%s", traceback.format_exc())
        conn.send(("error", run, f"Training stopped: {type(e).__name__}: {e}"))
    return _receive(conn)


def _receive(conn: Connection):
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


def _leave_a_core_for_the_window() -> None:
    """Train on all cores but one, so the window's process always has one to draw with. A
    user's OMP_NUM_THREADS wins."""
    if "OMP_NUM_THREADS" in os.environ:
        return
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    torch.set_num_threads(max(1, (cores or 2) - 1))
