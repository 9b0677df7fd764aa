"""The `rnnviz` command: the desktop app, or headless training and trace recording.

    rnnviz [app [ARGS...]]              open the desktop app (ARGS go to the app)
    rnnviz train [OPTIONS] [--save CK]  train --steps K steps, showing progress
    rnnviz trace [OPTIONS] --out F.npz  train --steps K (default 0), record the probe batch
    rnnviz presets                      list the lecture presets
    rnnviz export --preset NAME --out DIR [--steps K]
                                        train a preset, write its panels as PNG and SVG

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
import textwrap
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
    sub = parser.add_subparsers(dest="command", metavar="{app,train,trace,presets,export}")
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

    sub.add_parser(
        "presets",
        help="list the lecture presets",
        description="List the lecture presets: key, title, runs, steps and explanation.",
    )
    export = sub.add_parser(
        "export",
        help="train a lecture preset and write its panels as images for slides",
        description="Train a lecture preset headless (progress on the terminal) and write "
        "each of its panels as PNG and SVG into a folder, with its explanation as text.",
    )
    export.add_argument("--preset", required=True, metavar="NAME", help="see `rnnviz presets`")
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    export.add_argument(
        "--steps",
        type=int,
        default=None,
        metavar="K",
        help="training steps (default: the preset's)",
    )
    export.add_argument(
        "--width", type=int, default=1920, metavar="PX", help="PNG width in pixels (default: 1920)"
    )
    return parser, {
        "train": train,
        "trace": trace,
        "presets": sub.choices["presets"],
        "export": export,
    }


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
        if args.command == "presets":
            return run_presets()
        if args.command == "export":
            return run_export(args)
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


# ---------------------------------------------------------------------------- presets


def run_presets() -> int:
    from rnnviz.core.presets import list_presets

    for p in list_presets():
        runs = " vs ".join(r.label for r in p.runs) if p.compares else p.config.cell
        print(f"{p.key:14s} {p.title}  [{runs}; {p.steps} steps]")
        print(textwrap.fill(p.explanation, 96, initial_indent=" " * 15, subsequent_indent=" " * 15))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from rnnviz.core.presets import check_claim, load_preset, preset_snapshot, train_preset

    preset = load_preset(args.preset)
    steps = preset.steps if args.steps is None else args.steps
    if steps < 0:
        raise UsageError(f"--steps must be 0 or more, got {steps}")
    if not 200 <= args.width <= 16_000:
        raise UsageError(f"--width must be between 200 and 16000 pixels, got {args.width}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"cannot write into {out}: it is a file")
    if not out.parent.is_dir():
        raise UsageError(f"cannot write into {out}: no directory {out.parent}")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # images only: no window, no display
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from rnnviz.core.train import resolve_device
    from rnnviz.qt.export import ExportError, export_panels
    from rnnviz.qt.panels import LAB_PANELS, PANELS

    missing = set(preset.panels) - {cls.key for cls in (*PANELS, *LAB_PANELS)}
    if missing:  # a preset file naming a panel this version lacks: say so before training
        raise UsageError(f"preset {preset.key!r} names unknown panels: {', '.join(missing)}")
    for run in preset.runs:
        resolve_device(run.config.device)
    print(f"{preset.title}: training {len(preset.runs)} run(s) for {steps} steps", flush=True)
    tty, shown = sys.stdout.isatty(), [""]
    start = time.monotonic()

    def progress(done: int, total: int) -> None:
        if done == progress.last:
            return
        progress.last = done
        rate = done / max(time.monotonic() - start, 1e-9)
        left = (total - done) / rate if rate > 0 else math.nan
        line = f"step {done}/{total}  {rate:.0f} steps/s  left {duration(left)}"
        if tty:
            print("\r" + line.ljust(len(shown[0])), end="", flush=True)
            shown[0] = line
        elif done == total or done % max(10, total // 10 // 10 * 10) == 0:
            print(line, flush=True)

    progress.last = -1
    import numpy as np

    try:
        with np.errstate(all="ignore"):  # a run meant to diverge overflows on its way
            trainers, traces = train_preset(preset, steps, progress)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    if shown[0]:
        print()
    claim = check_claim(preset, trainers, traces)
    snapshot = preset_snapshot(preset, trainers, traces)
    qInstallMessageHandler(_quiet_offscreen)
    app = QApplication.instance() or QApplication([PROG])  # noqa: F841 (keeps Qt alive)
    try:
        written = export_panels(snapshot, preset.panels, out, width=args.width)
    except (ExportError, OSError) as e:
        raise UsageError(f"cannot write the images: {e}") from None
    text = out / "explanation.txt"
    write(lambda: text.write_text(explanation_text(preset, steps, claim, snapshot), "utf-8"), text)
    print(f"wrote {len(written)} images and {text.name} to {out}")
    print(f"{'the picture holds' if claim.ok else 'NOT YET SHOWN'}: {claim.text}")
    return 0


def _quiet_offscreen(mode, context, message: str) -> None:
    """Qt's messages on stderr, but for the offscreen platform's note that it cannot resize
    windows to their hints (it has no windows to resize: the images are unaffected)."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def explanation_text(preset, steps: int, claim, snapshot) -> str:
    """The explanation a lecturer pastes next to the images, with what was measured."""
    lines = [preset.title, "=" * len(preset.title), "", textwrap.fill(preset.explanation, 88), ""]
    runs = preset.runs
    for r in runs:
        c = r.config
        lines.append(
            f"- {r.label}: {c.cell}{' (' + c.nonlinearity + ')' if c.cell == 'rnn' else ''}, "
            f"hidden {c.hidden}, {c.task} T={c.seq_len}, {c.optimizer} lr {c.lr:g}, "
            f"clip {c.clip}{'' if c.clip == 'none' else ' at ' + format(c.clip_threshold, 'g')}"
            f"{', spectral radius ' + format(c.spectral_radius, 'g') if c.spectral_radius else ''}"
            f"{', forget bias ' + format(c.forget_bias, 'g') if c.forget_bias is not None else ''}"
            f", seed {c.seed}"
        )
    lines += ["", f"After {steps} training steps: {claim.text}"]
    if not claim.ok:
        lines.append("(the promised picture is not there yet: train more steps)")
    sample = snapshot.extras.get("sample")
    if sample:
        lines += ["", f"Sampled text at temperature {snapshot.extras['temperature']}:", "", sample]
    return "\n".join(lines) + "\n"


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
