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

The thread runs at a lower priority (Linux: nice +10 for this thread alone), so the window and
training come first: at normal priority it took cores from the window on this shared machine
(bench_app.py, LSTM H = 128, T = 200, load 2-4: event-loop p99 53-123 ms against 35-73 ms
recording between steps). Not Linux's idle scheduling class, though it kept p99 at 15-31 ms:
the thread holds the interpreter lock between its kernels, and a thread that gets no core
while it holds the lock stops the training thread with it. Beside two busy loops on this
2-core machine an idle-class recording thread stopped training for 13 s (nothing ran but the
loops); at nice +10 the longest wait between training steps was 170-250 ms, at normal priority
100 ms, and at nice +19 up to 630 ms. The thread is never waited for: a command's recording
abandons the one it holds (`abandon`), and closing does not wait for it either.
"""

from __future__ import annotations

import copy
import os
import sys
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
NICE = 10  # the recording thread's priority below training's (module docstring)
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
        at a lower priority and may wait long for a core on a busy machine."""
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
    OpenMP here; and on Linux a nice value NICE higher than the process's, so the window and
    training come first (see the module docstring for why not the idle class)."""
    torch.set_num_threads(threads)
    if sys.platform.startswith("linux"):  # elsewhere PRIO_PROCESS would renice the process
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + NICE))


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
