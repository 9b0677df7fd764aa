"""The `rnnviz` command: the desktop app, or headless training and trace recording.

    rnnviz [app [ARGS...]]              open the desktop app (ARGS go to the app)
    rnnviz train [OPTIONS] [--save CK]  train --steps K steps, showing progress
    rnnviz trace [OPTIONS] --out F.npz  train --steps K (default 0), record the probe batch

The OPTIONS are the fields of `rnnviz.core.config.Config` with dashes for underscores
(`--clip-threshold` sets `clip_threshold`). Their defaults live in Config alone: every option
defaults to None here and only what the user typed overrides Config's value.

Errors a user can cause (a bad value, a missing file, an unavailable device) print one line
`rnnviz: error: …` on stderr and exit with status 2; diverged training exits with 1 and
Ctrl-C with 130. torch is imported inside the subcommands so `rnnviz --help` is quick.
"""

from __future__ import annotations

import argparse
import ctypes.util
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import rnnviz
from rnnviz.core import config as cfgmod
from rnnviz.core.config import Config, ConfigError

if TYPE_CHECKING:
    from rnnviz.core.train import Snapshot, Trainer

PROG = "rnnviz"
EXIT_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 1, 130

# One row per Config field: (option group, help, metavar). Choices come from config.py.
OPTION_HELP: dict[str, tuple[str, str, str | None]] = {
    "cell": ("model", "recurrent cell", None),
    "nonlinearity": ("model", "Elman RNN activation", None),
    "hidden": ("model", "hidden units per layer and direction", "N"),
    "layers": ("model", "stacked layers (1-4)", "N"),
    "bidirectional": ("model", "run every layer in both directions", None),
    "encoder": ("model", "input encoder (auto: one-hot, embedding or identity by task)", None),
    "embed_dim": ("model", "width of the embedding / linear encoder", "N"),
    "init": ("model", "weight initialisation", None),
    "spectral_radius": ("model", "rescale every W_hh gate block to this spectral radius", "R"),
    "forget_bias": ("model", "LSTM forget-gate bias (default: the initialiser's)", "X"),
    "task": ("task", "built-in task", None),
    "text": (
        "task",
        "charlm: a UTF-8 text file to learn, implies --task charlm (default: the bundled text)",
        "FILE",
    ),
    "seq_len": ("task", "sequence length T", "T"),
    "batch": ("task", "batch size B", "B"),
    "steps": ("optimisation", "training steps", "K"),
    "optimizer": ("optimisation", "optimiser", None),
    "lr": ("optimisation", "learning rate", "X"),
    "momentum": ("optimisation", "SGD momentum", "X"),
    "clip": ("optimisation", "gradient clipping", None),
    "clip_threshold": ("optimisation", "clipping threshold (global norm or element value)", "X"),
    "seed": ("optimisation", "random seed: same seed, same run", "S"),
    "device": ("optimisation", "where to train (auto: cuda, then mps, then cpu)", None),
    "probe_batch": ("optimisation", "sequences recorded for the trace", "N"),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "cell": cfgmod.CELLS,
    "nonlinearity": cfgmod.NONLINEARITIES,
    "encoder": cfgmod.ENCODERS,
    "init": cfgmod.INITS,
    "task": cfgmod.TASKS,
    "optimizer": cfgmod.OPTIMIZERS,
    "clip": cfgmod.CLIPS,
    "device": cfgmod.DEVICES,
}
# Types by annotation (config.py uses postponed annotations, so these are strings).
TYPES: dict[str, Any] = {
    "int": int,
    "float": float,
    "float | None": float,
    "str": str,
    "str | None": str,
}


class UsageError(Exception):
    """A mistake on the command line; the message is the whole explanation."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `rnnviz: error: … (see rnnviz train --help)`."""

    def error(self, message: str) -> NoReturn:
        hint = f"see `{self.prog} --help`"
        fail(f"{' '.join(message.split())} ({hint})")


def fail(message: str) -> NoReturn:
    """Print one error line on stderr and exit with status 2."""
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(EXIT_ERROR)


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """The top-level parser and its subcommand parsers by name."""
    parser = Parser(
        prog=PROG,
        description="Watch recurrent neural networks learn: gates, states and per-timestep "
        "gradients. With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {rnnviz.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{app,train,trace}")
    # `rnnviz app ARGS…` never reaches this parser (main hands ARGS to the app untouched);
    # it is here for the list in --help.
    sub.add_parser("app", help="open the desktop app (the default)")

    train = sub.add_parser(
        "train",
        help="train on the terminal, showing progress",
        description="Train a model for --steps steps, showing progress on the terminal.",
    )
    add_config_options(train, steps_default=Config.steps)
    train.add_argument("--save", metavar="FILE", help="write a checkpoint here after training")

    trace = sub.add_parser(
        "trace",
        help="record every internal value of the probe batch to an NPZ file",
        description="Train for --steps steps (default 0), record the probe batch and write "
        "every recorded array to an NPZ file that numpy.load reads.",
    )
    add_config_options(trace, steps_default=0)
    trace.add_argument("--out", metavar="FILE.npz", required=True, help="NPZ file to write")
    return parser, {"train": train, "trace": trace}


def add_config_options(parser: argparse.ArgumentParser, *, steps_default: int) -> None:
    """One option per Config field; default None so that only typed values override Config."""
    groups: dict[str, Any] = {}
    for f in fields(Config):
        group_name, text, metavar = OPTION_HELP[f.name]
        if group_name not in groups:
            groups[group_name] = parser.add_argument_group(f"{group_name} options")
        default = steps_default if f.name == "steps" else f.default
        shown = "off" if default is False else ("none" if default is None else default)
        kwargs: dict[str, Any] = {"dest": f.name, "default": None}
        kwargs["help"] = text if "default" in text else f"{text} (default: {shown})"
        if f.type == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = TYPES[f.type]
            kwargs["choices"] = CHOICES.get(f.name)
            kwargs["metavar"] = metavar
        groups[group_name].add_argument("--" + f.name.replace("_", "-"), **kwargs)


def config_from_args(args: argparse.Namespace, **fallbacks: Any) -> Config:
    """Config's defaults, overridden by `fallbacks` and then by what the user typed."""
    given = {f.name: getattr(args, f.name) for f in fields(Config)}
    given = {k: v for k, v in given.items() if v is not None}
    if "text" in given:
        if given.setdefault("task", "charlm") != "charlm":
            raise ConfigError(f"--text is only used by the charlm task, not {given['task']}")
    return Config(**{**fallbacks, **given}).validate()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if not argv or argv[0] == "app":
            return run_app(argv[1:])
        parser, commands = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:  # blame the subcommand, whose --help lists its options
            commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
        if args.command == "train":
            return run_train(args)
        return run_trace(args)
    except (ConfigError, UsageError) as e:
        fail(str(e))
    except KeyboardInterrupt:  # before or after training (torch import, recording)
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# ---------------------------------------------------------------------------- app


def run_app(app_args: list[str]) -> int:
    """Open the window; `app_args` are Qt's own options (e.g. `-platform offscreen`)."""
    problem = None if "-platform" in app_args else display_problem()
    if problem:
        raise UsageError(f"cannot open the desktop app: {problem}")
    try:
        from rnnviz.app import main as app_main
    except ImportError as e:
        if (e.name or "").startswith("rnnviz"):
            raise  # our own module is missing: a broken installation, not the user's machine
        hint = ""
        if "shared object" in str(e):
            hint = "; on Debian/Ubuntu: sudo apt install libegl1 libxkbcommon-x11-0 libxcb-cursor0"
        raise UsageError(
            f"cannot start the desktop app: {e}{hint} (`rnnviz train` works without it)"
        ) from None
    return int(app_main(app_args) or 0)


def display_problem() -> str | None:
    """Why Qt could not open a window here (it would abort the process), or None."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    wayland = bool(os.environ.get("WAYLAND_DISPLAY"))
    x11 = bool(os.environ.get("DISPLAY"))
    if platform and not platform.startswith(("xcb", "wayland")):
        return None  # offscreen, vnc, eglfs…: the user chose deliberately
    if not (wayland or x11):
        return (
            "no display (neither DISPLAY nor WAYLAND_DISPLAY is set); "
            "`rnnviz train` and `rnnviz trace` work without one"
        )
    uses_xcb = platform.startswith("xcb") or not wayland
    # find_library asks ldconfig; where that knows nothing (not even libc) do not guess.
    if uses_xcb and ctypes.util.find_library("c"):
        missing = [
            pkg
            for lib, pkg in (
                ("xcb-cursor", "libxcb-cursor0"),
                ("xkbcommon-x11", "libxkbcommon-x11-0"),
            )
            if not ctypes.util.find_library(lib)
        ]
        if missing:
            return (
                f"Qt's X11 platform needs system libraries that are missing: "
                f"install {' '.join(missing)} (Debian/Ubuntu: sudo apt install {' '.join(missing)})"
            )
    return None


# ---------------------------------------------------------------------------- train / trace


def run_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    save = Path(args.save) if args.save else None
    if save is not None:
        check_writable(save, "checkpoint")
    trainer = make_trainer(config)
    status = train(trainer, config.steps)
    if status:
        return status
    if save is not None:
        write(lambda: trainer.save_checkpoint(save), save)
        print(f"saved checkpoint {save} (step {trainer.step_count})")
    return 0


def run_trace(args: argparse.Namespace) -> int:
    config = config_from_args(args, steps=0)
    out = Path(args.out)
    if out.suffix != ".npz":  # numpy would append it anyway; say the name it really gets
        out = out.with_name(out.name + ".npz")
    check_writable(out, "trace")
    trainer = make_trainer(config)
    status = train(trainer, config.steps)
    if status:
        return status
    trace = trainer.record()
    write(lambda: trace.save_npz(out), out)
    B, T = trace.loss_mask.shape
    print(
        f"wrote {out}: {len(trace.to_arrays())} arrays, {B} sequences x {T} steps "
        f"after {trainer.step_count} training steps, loss {trace.loss:.6g}"
    )
    return 0


def check_writable(path: Path, what: str) -> None:
    """Fail before training, not after, when the output can't be written."""
    if path.is_dir():
        raise UsageError(f"cannot write the {what} {path}: it is a directory")
    if not path.parent.is_dir():
        raise UsageError(f"cannot write the {what} {path}: no directory {path.parent}")


def write(save: Callable[[], None], path: Path) -> None:
    """Run `save`; a failure to write is a one-line error, not a traceback."""
    try:
        save()
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None


def make_trainer(config: Config) -> Trainer:
    from rnnviz.core.train import Trainer, resolve_device

    resolve_device(config.device)  # a missing GPU is the user's error, said before any work
    trainer = Trainer(config)
    cfg = trainer.config
    layers = f"{cfg.layers} layer{'s' if cfg.layers > 1 else ''}"
    bi = ", bidirectional" if cfg.bidirectional else ""
    print(
        f"{cfg.cell} (hidden {cfg.hidden}, {layers}{bi}) on {cfg.task}, T={cfg.seq_len}, "
        f"B={cfg.batch}, {cfg.optimizer} lr {cfg.lr:g}, clip {cfg.clip}, seed {cfg.seed}, "
        f"on {trainer.device}",
        flush=True,
    )
    return trainer


def train(trainer: Trainer, steps: int) -> int:
    """Train `steps` steps with progress on stdout. Returns the exit status: 0 when done,
    EXIT_DIVERGED (with the trainer's message) or EXIT_INTERRUPTED (Ctrl-C).

    On a terminal one line updates in place about ten times a second; into a file or a pipe
    a line is printed at every tenth of the run.
    """
    if steps <= 0:
        return 0
    import numpy as np

    from rnnviz.core.train import Snapshot, session

    tty = sys.stdout.isatty()
    # No probes or samples during the run: nothing here shows them, and they cost time.
    run = session(
        trainer,
        running=True,
        snapshot_interval=0.1,
        probe_interval=math.inf,
        sample_interval=math.inf,
    )
    shown, tenth = "", 1
    try:
        # A diverging run overflows on its way to inf; the message below says so in words.
        with np.errstate(all="ignore"):
            next(run)  # records the probe batch once: not part of the training rate
            start = time.monotonic()
            while trainer.step_count < steps and not trainer.diverged:
                item = run.send(None)
                n = trainer.step_count
                if tty and (isinstance(item, Snapshot) or n == steps):
                    line = progress_line(_snapshot(trainer, start), steps)
                    print("\r" + line.ljust(len(shown)), end="", flush=True)
                    shown = line
                elif not tty and n >= math.ceil(steps * tenth / 10):
                    print(progress_line(_snapshot(trainer, start), steps), flush=True)
                    while n >= math.ceil(steps * tenth / 10):
                        tenth += 1
    except KeyboardInterrupt:
        if shown:
            print()
        print(
            f"{PROG}: interrupted at step {trainer.step_count} of {steps}; nothing was written",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        run.close()
    if shown:
        print()
    snap = _snapshot(trainer, start)
    if trainer.diverged:
        print(f"{PROG}: {snap.message}", file=sys.stderr)
        return EXIT_DIVERGED
    print(summary_line(snap, time.monotonic() - start))
    return 0


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
