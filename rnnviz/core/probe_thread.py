"""Recording the probe batch on a second thread while training goes on (issue 14).

Between training steps, at 20% of the time, recordings of ~100 ms (LSTM H = 128, T = 200)
came at most twice a second and every one stopped training for its length. Here the session
(core/loop.py) hands a recording to a thread of its own and picks the trace up at a later
iteration: training runs on one core, the recording on another.

What is recorded is exactly the model at the step the recording is for: each run has a copy
of its model, into which the session copies the weights (and buffers) at that step, between
two training steps, while the thread is idle; the thread reads only the copies, the probe
batch and the task, never the model training changes. The trace is logged in the run's
probe history on the session's thread when it is picked up (`take`), so the logs, snapshots
and captures never race with the thread; the log's row is computed on the thread (its W_hh
spectral radii took ~25 ms of the training thread's time a recording at H = 128). torch's
kernels and numpy's release the interpreter lock; the Python between them is what the two
threads share.

torch's intra-op thread count (core/threads.py: one on a 2-core machine) is set again on the
thread, to the same value: the count is process-wide for torch's own loops, but OpenMP's is
per thread, and oneDNN's kernels (the fused LSTM, its backward) on a new thread ran a team of
one thread per core, spinning at each barrier: 630 ms of CPU a call instead of 2 on a busy
machine (the first recording of a thread took 680 ms of CPU instead of 15). A recording's cost
is the thread's CPU time, not its wall time: what the budget bounds is the core taken from
the window, and waiting (for the interpreter lock, or for a core on a busy machine) takes
none: on this busy 2-core machine (load 4) a recording of LSTM H = 32, T = 50 took 11-15 ms
of CPU and 20-70 ms by the wall clock.

The thread runs in Linux's idle scheduling class: it records on what the window and training
leave of the cores. At normal priority it took them from the window on this shared machine
(bench_app.py, LSTM H = 128, T = 200, load 2-4: event-loop p99 53-123 ms against 35-73 ms
recording between steps); in the idle class p99 was 15-31 ms (base 14-44 ms). So it is never
waited for: a command's recording abandons the one it holds (`abandon`), and closing does not
wait for it either. The interpreter lock is no obstacle: while it records (H = 128, T = 200),
a thread waiting for the lock gets it 0.07 ms late (median; p99 0.55 ms).
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import torch

from rnnviz.core.logs import probe_row

if TYPE_CHECKING:
    from rnnviz.core.trace import Trace
    from rnnviz.core.train import Trainer

# (traces, one per run; the CPU seconds the recording took)
Recorded = tuple[list["Trace"], float]
_Job = tuple[list["Trace"], list[dict], float]  # the traces, their probe-log rows, CPU s


class ProbeThread:
    """One recording at a time of every run's probe batch, on a thread, from frozen weights."""

    def __init__(self, trainers: Sequence[Trainer]) -> None:
        self._trainers = list(trainers)
        self._copies = [_frozen_copy(t.model) for t in self._trainers]
        self._pool = ThreadPoolExecutor(
            1,
            thread_name_prefix="rnnviz-recording",
            initializer=_start_thread,
            initargs=(torch.get_num_threads(),),
        )
        self._job: Future[_Job] | None = None
        self._wanted = False  # whether the job's result is still to be taken

    @property
    def pending(self) -> bool:
        """A recording was handed over and its trace is still to be taken."""
        return self._job is not None and self._wanted

    @property
    def busy(self) -> bool:
        """The thread holds a recording, wanted or abandoned, not yet finished: the copies
        it reads must not be written."""
        if self._job is not None and not self._wanted and self._job.done():
            self._job = None  # an abandoned recording has finished
        return self._job is not None

    def submit(self, options: Mapping[str, object]) -> None:
        """Start recording every run as its weights are now (`options`: Trainer.record's)."""
        if self.busy:
            raise RuntimeError("the thread is still recording")
        steps = []
        for t, frozen in zip(self._trainers, self._copies, strict=True):
            _copy_weights(t.model, frozen)
            steps.append(t.step_count)
        self._job, self._wanted = self._pool.submit(self._record, steps, dict(options)), True

    def take(self) -> Recorded | None:
        """The finished recording, logged in each run's probe history; None while it runs or
        when none is pending. An error in the recording is raised here."""
        job = self._job
        if not self.pending or not job.done():
            return None
        self._job = None
        traces, rows, cost = job.result()
        for t, row in zip(self._trainers, rows, strict=True):
            t.probe_log.add(row)
        return traces, cost

    def abandon(self) -> None:
        """Never take the recording pending (of weights a Reset removed, or older than one
        made now): it runs to its end on the thread, unseen. Not waited for: the thread runs
        in the idle class and may wait long for a core on a busy machine."""
        self._wanted = False

    def close(self) -> None:
        self.abandon()
        self._pool.shutdown(wait=False)  # the thread ends after the recording it holds

    def _record(self, steps: list[int], options: dict) -> _Job:
        t0 = time.thread_time()
        traces = [
            t.trace_of(frozen, step, **options)
            for t, frozen, step in zip(self._trainers, self._copies, steps, strict=True)
        ]
        rows = [probe_row(trace) for trace in traces]
        return traces, rows, time.thread_time() - t0


def _start_thread(threads: int) -> None:
    """On the recording thread, before its first recording: training's thread count for
    OpenMP here; and, where the system has it, the idle scheduling class, so the recording
    runs on what the window and training leave of the cores, never delaying either."""
    torch.set_num_threads(threads)
    if hasattr(os, "SCHED_IDLE"):  # Linux: the policy of this thread alone
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))


def _frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` for recording: same structure and device, no gradients of its own."""
    frozen = copy.deepcopy(model)
    for p in frozen.parameters():
        p.grad = None
    return frozen.eval()


def _copy_weights(source: torch.nn.Module, target: torch.nn.Module) -> None:
    """`source`'s parameters and buffers into `target`'s tensors, in place (0.3 ms for an
    LSTM H = 128: no new model, and torch's fused kernels keep their view of the weights)."""
    with torch.no_grad():
        theirs = source.state_dict(keep_vars=True)
        for name, mine in target.state_dict(keep_vars=True).items():
            mine.copy_(theirs[name])
