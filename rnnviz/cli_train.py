"""Training on the terminal: the header line, progress while it trains, the summary after.

On a terminal one progress line updates in place about ten times a second; into a file or a
pipe a line is printed at every tenth of the run (a log stays short whatever --steps is).
"""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING

from rnnviz.cli_common import EXIT_DIVERGED, EXIT_INTERRUPTED, PROG
from rnnviz.core.config import Config

if TYPE_CHECKING:
    from rnnviz.core.train import Snapshot, Trainer


def make_trainer(config: Config, threads: int | None = None) -> Trainer:
    """The trainer for `config`, on `threads` CPU threads (None: the app's rule, see
    rnnviz.core.threads), announced in one line."""
    from rnnviz.core.devices import resolve_device
    from rnnviz.core.threads import use_training_threads
    from rnnviz.core.train import Trainer

    resolve_device(config.device)  # a missing GPU is the user's error, said before any work
    threads = use_training_threads(threads)
    trainer = Trainer(config)
    cfg = trainer.config
    layers = f"{cfg.layers} layer{'s' if cfg.layers > 1 else ''}"
    bi = ", bidirectional" if cfg.bidirectional else ""
    decay = f" weight decay {cfg.weight_decay:g}" if cfg.weight_decay else ""
    print(
        f"{cfg.cell} (hidden {cfg.hidden}, {layers}{bi}) on {cfg.task}, T={cfg.seq_len}, "
        f"B={cfg.batch}, {cfg.optimizer} lr {cfg.lr:g}{decay}, clip {cfg.clip}, seed {cfg.seed}, "
        f"on {trainer.device} ({threads} thread{'s' if threads > 1 else ''})",
        flush=True,
    )
    return trainer


def train(trainer: Trainer, steps: int) -> int:
    """Train `steps` steps with progress on stdout. Returns the exit status: 0 when done,
    EXIT_DIVERGED (with the trainer's message) or EXIT_INTERRUPTED (Ctrl-C)."""
    if steps <= 0:
        return 0
    import numpy as np

    from rnnviz.core.loop import session

    # No probes or samples during the run: nothing here shows them, and they cost time.
    run = session(
        trainer,
        running=True,
        snapshot_interval=0.1,
        probe_interval=math.inf,
        sample_interval=math.inf,
    )
    shown = ProgressLine(steps)
    try:
        # A diverging run overflows on its way to inf; the message below says so in words.
        with np.errstate(all="ignore"):
            next(run)  # records the probe batch once: not part of the training rate
            start = time.monotonic()
            while trainer.step_count < steps and not trainer.diverged:
                run.send(None)
                if shown.due(trainer.step_count):
                    shown.show(progress_line(_snapshot(trainer, start), steps), trainer.step_count)
    except KeyboardInterrupt:
        shown.end()
        print(
            f"{PROG}: interrupted at step {trainer.step_count} of {steps}; nothing was written",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        run.close()
    shown.end()
    snap = _snapshot(trainer, start)
    if trainer.diverged:
        print(f"{PROG}: {snap.message}", file=sys.stderr)
        return EXIT_DIVERGED
    print(summary_line(snap, time.monotonic() - start))
    return 0


class ProgressLine:
    """A progress line on stdout for a run of `total` steps: on a terminal rewritten in place
    about ten times a second, into a file or a pipe printed at every tenth of the run."""

    def __init__(self, total: int) -> None:
        self.total, self.tty = total, sys.stdout.isatty()
        self.shown, self.tenth, self.at = "", 1, -math.inf

    def due(self, done: int) -> bool:
        """Whether the line is to be shown after `done` steps."""
        if self.tty:
            return done == self.total or time.monotonic() - self.at >= 0.1
        return done >= math.ceil(self.total * self.tenth / 10)

    def show(self, line: str, done: int) -> None:
        if self.tty:
            print("\r" + line.ljust(len(self.shown)), end="", flush=True)
            self.shown, self.at = line, time.monotonic()
            return
        print(line, flush=True)
        while done >= math.ceil(self.total * self.tenth / 10):
            self.tenth += 1

    def end(self) -> None:
        """Finish a line shown in place, so that what follows starts on a line of its own."""
        if self.shown:
            print()
            self.shown = ""


def _snapshot(trainer: Trainer, start: float) -> Snapshot:
    """The trainer's numbers, with the mean rate since `start` (steadier than a window)."""
    rate = trainer.step_count / max(time.monotonic() - start, 1e-9)
    return trainer.snapshot(state="running", trace=None, steps_per_s=rate)


def progress_line(s: Snapshot, steps: int) -> str:
    width = len(str(steps))
    left = (steps - s.step) / s.steps_per_s if s.steps_per_s > 0 else math.nan
    return (
        f"step {s.step:>{width}}/{steps}  loss {s.loss:.4g}  grad norm {s.grad_norm:.3g}  "
        f"clipped {s.clip_rate:4.0%}  {s.steps_per_s:.0f} steps/s  left {duration(left)}"
    )


def summary_line(s: Snapshot, seconds: float) -> str:
    chance = f" (chance {s.chance_loss:.4g})" if s.chance_loss is not None else ""
    return (
        f"trained {s.step} steps in {seconds:.1f} s ({s.steps_per_s:.0f} steps/s): "
        f"loss {s.loss:.4g}{chance}, grad norm {s.grad_norm:.3g}, "
        f"clipped {s.clip_rate:.0%} of the last {min(s.step, 100)} steps"
    )


def duration(seconds: float) -> str:
    """'0:07', '12:30', '1:02:03'; '?' when unknown."""
    if not math.isfinite(seconds):
        return "?"
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
