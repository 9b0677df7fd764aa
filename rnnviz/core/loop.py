"""The training session: the generator that drives a Trainer (or several, compared), yields
snapshots and takes commands.

It knows nothing of who watches it: the same generator runs synchronously in tests and in the
CLI, and in a worker process in the app (rnnviz/core/worker.py). Snapshots and commands are
defined in rnnviz/core/protocol.py; the Trainer in rnnviz/core/train.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING

from rnnviz.core.config import ConfigError, check_temperature
from rnnviz.core.probe_thread import ProbeThread
from rnnviz.core.protocol import (
    CONNECTIVITY_UNWATCHED,
    GRAD_ITEMS_UNWATCHED,
    IDLE,
    Command,
    MeasureBottleneck,
    Pause,
    Probe,
    Reset,
    Run,
    RunView,
    SetClipping,
    SetConnectivity,
    SetGradItems,
    SetLearningRate,
    SetTemperature,
    Snapshot,
    Step,
)
from rnnviz.core.sampling import sample_extras
from rnnviz.core.seq2seq.bottleneck import BottleneckWatch
from rnnviz.core.seq2seq.live import DecodingWatch
from rnnviz.core.seq2seq.whatif import WhatIf

if TYPE_CHECKING:
    from rnnviz.core.trace import Trace
    from rnnviz.core.train import Trainer


def session(
    trainer: Trainer,
    *,
    running: bool = False,
    snapshot_interval: float = 0.1,
    probe_interval: float = 0.25,
    probe_budget: float = 0.2,
    sample_interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    label: str = "",
    companions: Sequence[tuple[str, Trainer]] = (),
    connectivity: bool = True,
    grad_items: bool = True,
    probe_thread_budget: float | None = None,
    probe_thread_from: float = 0.0,
) -> Generator[Snapshot | str | None, Command | None, None]:
    """Drive `trainer`: each `send(command or None)` does at most one training step.

    Yields a Snapshot when one is due (every `snapshot_interval` seconds of wall clock, and
    at once after any command), None after a step with nothing to report, and IDLE when
    paused with nothing to do: the caller should then wait for the next command.
    The probe batch is recorded (||dh_T/dh_t|| for sequence 0 only, the one the panels
    show) at most every `probe_interval` seconds and, when recording is slow (long
    sequences), no more than `probe_budget` of the time on average. For a task that
    generates (the character LM, music), a 200-symbol sample at the current temperature
    rides along in `extras` (refreshed at most every `sample_interval` seconds while the
    weights change). A live setting the trainer
    cannot use (a temperature, learning rate or clipping) is refused, never ends the run: the
    next snapshot's `extras["refused"]` says why, and training goes on with the old value.

    `companions` are further (label, trainer) runs compared with this one: each step steps
    every run that has not diverged, each recording records them all, and snapshots list
    them in `runs`. Run/Pause/Step/Reset act on all; live settings on `trainer` alone.
    Recordings hold the connectivity while `connectivity` (SetConnectivity switches it), the
    itemized gradients while `grad_items` (SetGradItems).

    With `probe_thread_budget` (the app's training process, where training leaves a core
    free) the recordings due on their own clock are made on a second thread from a copy of
    the weights at the step they are for (core/probe_thread.py), taking at most that share
    of a core (the thread's CPU time), while training goes on: a snapshot carries the latest
    finished one. Only while a recording costs at least `probe_thread_from` seconds of CPU:
    a cheap one between steps costs training less than a second thread does (the two take
    turns at the interpreter lock, and with the window's process there is more work than
    cores).
    Recordings a command asks for (Probe, Reset, a Step's last step, a divergence, a panel
    shown) are still made at once, between steps, as are those due while paused; the one
    on the thread then is abandoned, never waited for.
    """
    others = [t for _, t in companions]
    labels = [label, *(lab for lab, _ in companions)]

    def options() -> dict:  # read at each recording
        return {
            "jacobian_sequences": 1,
            "skip_connectivity": None if connectivity else CONNECTIVITY_UNWATCHED,
            "skip_grad_items": None if grad_items else GRAD_ITEMS_UNWATCHED,
        }

    def record_all() -> tuple[Trace, list[Trace]]:
        traces = [t.record(**options()) for t in (trainer, *others)]
        return traces[0], traces[1:]

    t0, cpu0 = clock(), time.thread_time()
    trace, other_traces = record_all()
    probe_cpu = time.thread_time() - cpu0  # the latest recording's CPU time: where it goes
    # The budget as a credit of recording time (a leaky bucket): probe_budget of every second
    # is granted, a recording spends its cost, and at most two recordings' worth is kept
    # (no burst after a pause). Recordings fall between training steps, and a fixed wait of
    # cost / budget after each loses up to a step per recording: 35 ms recordings between
    # 83 ms steps came every three steps, 3.5/s and 12% of the time, where the budget allows
    # 5.7/s (tests/core/test_probe_cadence.py). On a thread of its own the recording's
    # budget is a share of a core: what it leaves of the one the window uses.
    thread = None if probe_thread_budget is None else ProbeThread([trainer, *others])

    def beside() -> bool:  # whether recordings due on their own clock go to the thread now
        # by CPU time: by the wall clock, waiting for a core would send a cheap one there
        return thread is not None and probe_cpu >= probe_thread_from

    credit_t = clock()
    probe_cost, credit = credit_t - t0, 0.0
    sampling = trainer.task.spec.generates
    extras: dict = {}
    bottleneck = BottleneckWatch([(label, trainer), *companions])  # measured on demand
    decoding = DecodingWatch(trainer)  # an encoder-decoder's decoding panels
    temperature, sampled_step, last_sample = 1.0, None, -math.inf
    refused = ""  # why the last command's value was refused, for the next snapshot
    last_snap = clock()
    probe_due = last_snap + probe_interval  # when a recording on its own clock is due next
    rate_t, rate_steps, rate = clock(), trainer.step_count, 0.0
    pending = 0
    force = True
    try:
        while True:
            now = clock()
            if sampling and (
                sampled_step is None
                or (sampled_step != trainer.step_count and now - last_sample >= sample_interval)
            ):
                extras = sample_extras(trainer, temperature)
                sampled_step, last_sample = trainer.step_count, now
            if force:
                last_snap = now
                runs = ()
                if others:
                    runs = tuple(
                        RunView(
                            lab, t.step_count, t.diverged, t.history.view(), tr, t.probe_log.view()
                        )
                        for lab, t, tr in zip(
                            labels, [trainer, *others], [trace, *other_traces], strict=True
                        )
                    )
                shown = {**extras, **decoding.extras(trace, now)}
                cmd = yield trainer.snapshot(
                    state="running" if running or pending else "paused",
                    trace=trace,
                    steps_per_s=rate if running or pending else 0.0,
                    extras={**shown, "refused": refused} if refused else shown,
                    runs=runs,
                )
                refused = ""
            else:
                cmd = yield None if (running or pending) else IDLE
            force = cmd is not None
            probe_now = False
            if isinstance(cmd, Run):
                running = True
            elif isinstance(cmd, Pause):
                running, pending = False, 0
            elif isinstance(cmd, Step):
                running, pending = False, pending + cmd.n
            elif isinstance(cmd, SetLearningRate):
                refused = _refusal(trainer.set_lr, cmd.lr)
            elif isinstance(cmd, SetClipping):
                refused = _refusal(trainer.set_clipping, cmd.mode, cmd.threshold)
            elif isinstance(cmd, Reset):
                if thread is not None:
                    thread.abandon()  # of the weights before the reset
                for t in (trainer, *others):
                    t.reset()
                running, pending, probe_now, sampled_step = False, 0, True, None
                rate_t, rate_steps, rate = clock(), 0, 0.0
            elif isinstance(cmd, Probe):
                probe_now = True
            elif isinstance(cmd, SetTemperature):
                refused = _refusal(check_temperature, cmd.temperature)
                if not refused:
                    temperature, sampled_step = cmd.temperature, None
            elif isinstance(cmd, WhatIf):
                decoding.ask(cmd)
            elif isinstance(cmd, MeasureBottleneck):
                bottleneck.ask(cmd.request)
            elif isinstance(cmd, SetConnectivity):
                probe_now = cmd.record and not connectivity  # the panel waits for it
                connectivity = cmd.record
            elif isinstance(cmd, SetGradItems):
                probe_now = cmd.record and not grad_items
                grad_items = cmd.record
            alive = [t for t in (trainer, *others) if not t.diverged]
            if (running or pending) and alive:
                for t in alive:
                    t.train_step()
                pending = max(0, pending - 1)
                if not pending and not running:
                    force = probe_now = True  # the last of a few single steps shows at once
                if any(t.diverged for t in alive):
                    force = probe_now = True  # show a divergence at once
            if (running or pending) and not any(not t.diverged for t in (trainer, *others)):
                running, pending = False, 0
            now = clock()
            if now - rate_t >= 0.5:
                rate = (trainer.step_count - rate_steps) / (now - rate_t)
                rate_t, rate_steps = now, trainer.step_count
            due = now - last_snap >= snapshot_interval
            budget = probe_thread_budget if beside() else probe_budget
            credit = min(credit + budget * (now - credit_t), 2 * probe_cost)
            credit_t = now
            training = running or pending
            if thread is not None and thread.pending:  # before any other: logs in order
                done = thread.take()
                if done is not None:
                    (trace, *other_traces), probe_cost = done
                    probe_cpu = probe_cost  # the thread's cost is its CPU time
                    credit -= probe_cost
                    force = True
                elif probe_now or not training:  # one is made now, or none (idle) follows
                    thread.abandon()
            if not probe_now and trace.meta["step"] != trainer.step_count:  # on its own clock
                probe_now = now >= probe_due and credit >= probe_cost
                if probe_now and beside() and training:
                    probe_now = False
                    if not thread.busy:
                        thread.submit(options())  # taken at a later iteration
                        probe_due = _next_due(probe_due, now, probe_interval)
            if probe_now:
                t0, cpu0 = clock(), time.thread_time()
                trace, other_traces = record_all()
                probe_cpu, probe_cost = time.thread_time() - cpu0, clock() - t0
                credit -= probe_cost
                probe_due = _next_due(probe_due, t0, probe_interval)
            if bottleneck.busy:  # one run a step: the snapshot after each shows the progress
                extras, force = bottleneck.step(extras), True
            force = force or due or probe_now
    finally:
        if thread is not None:
            thread.close()


def _next_due(due: float, started: float, interval: float) -> float:
    """When the recording after one that was `due` and started at `started` is due: an
    interval after `due`, at a fixed rate. Timed from when each recording ended, the wait
    for the step under way was added to every interval: 25 ms steps and 9 ms recordings
    (music) made 70 ms into 84 (tests/core/test_probe_cadence.py). Never sooner than half an
    interval after `started`: no run of recordings to catch up after a pause."""
    return max(due + interval, started + interval / 2)


def _refusal(setter: Callable[..., object], *values: object) -> str:
    """Apply a live setting; a value it cannot use is refused in words (the snapshot's
    extras["refused"]) and training goes on with the old one, never ends."""
    try:
        setter(*values)
    except ConfigError as e:
        return str(e)
    return ""
