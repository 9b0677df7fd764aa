"""The `rnnviz` command: the desktop app, or headless training and trace recording.

    rnnviz [app [OPTIONS | --preset NAME] [QT-ARGS...]]
                                        open the desktop app on a model of OPTIONS, or on a
                                        lecture preset (Qt's own -options pass through)
    rnnviz [app] --session F.rnnviz     open the app on a saved session, to train on from there
    rnnviz train [OPTIONS] [--save CK] [--report R.json]
                                        train --steps K steps, showing progress; the report
                                        holds the held-out score
    rnnviz trace [OPTIONS] --out F.npz  train --steps K (default 0), record the probe batch
    rnnviz trace --model FILE --input X.npy|X.csv|TEXT.txt [--vocab VOCAB.json] --out F.npz
                                        record your own model on your input (cli_model.py)
    rnnviz presets                      list the lecture presets
    rnnviz export --preset NAME --out DIR [--steps K] [--animate {gif,mp4}]
                  [--animate-over {time,steps}] [--frames N]
                                        train a preset, write its panels as PNG and SVG
    rnnviz sample --checkpoint CK [--length N] [--temperature X] [--seed S] [--out FILE]
                                        generate text or a melody (MIDI) from a checkpoint

The OPTIONS are the fields of `rnnviz.core.config.Config` with dashes for underscores
(`--clip-threshold` sets `clip_threshold`). Their defaults live in Config alone: every option
defaults to None here and only what the user typed overrides Config's value.

Errors a user can cause (a bad value, a missing file, an output that cannot be written, an
unavailable device) print one line `rnnviz: error: …` on stderr and exit with status 2, before
any training; diverged training exits with 1, Ctrl-C with 130, and output into a closed pipe
ends quietly with 141. torch is imported inside the subcommands so `rnnviz --help` is quick.

Beside this module: cli_common (exit statuses, the one-line error, output files checked and
written), cli_train (the trainer's header, progress and summary), cli_export (`rnnviz
export`) and display (whether Qt can open a window here, asked before Qt is loaded).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from dataclasses import fields
from pathlib import Path
from typing import Any, NoReturn

# One BLAS thread, as in the window's process (rnnviz/qt/__init__.py), before numpy loads: the
# recorder's Jacobian chain is a long loop of small products, which OpenBLAS's threads ran up
# to 20x slower on a busy machine. A user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import rnnviz
from rnnviz.cli_common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    PROG,
    UsageError,
    check_output,
    fail,
    write_output,
)
from rnnviz.cli_export import run_export
from rnnviz.cli_model import add_model_options, run_model_trace
from rnnviz.cli_sample import add_sample_command, run_sample
from rnnviz.cli_session import (
    SESSION_OPTION,
    add_save_session_option,
    check_session,
    save_session,
    session_output,
)
from rnnviz.cli_train import make_trainer, train
from rnnviz.core import config as cfgmod
from rnnviz.core.config import Config, ConfigError
from rnnviz.core.tasks import TASKS, TaskSpec


def _task_default(name: str) -> str:
    """'0.01; music 0.005': a TaskSpec setting's usual value, then the tasks with their own."""
    usual = getattr(TaskSpec, name)
    own = [f"{t} {getattr(s, name):g}" for t, s in TASKS.items() if getattr(s, name) != usual]
    return "; ".join([f"{usual:g}", *own])


# One row per Config field: (option group, help, metavar). Choices come from config.py.
OPTION_HELP: dict[str, tuple[str, str, str | None]] = {
    "cell": ("model", "recurrent cell", None),
    "nonlinearity": ("model", "Elman RNN activation", None),
    "hidden": ("model", "hidden units per layer and direction", "N"),
    "layers": ("model", "stacked layers (1-4)", "N"),
    "bidirectional": ("model", "run every layer in both directions", None),
    "encoder": (
        "model",
        "input encoder (auto: one-hot, embedding, lookback or identity by task)",
        None,
    ),
    "embed_dim": ("model", "width of the embedding / linear encoder", "N"),
    "init": ("model", "weight initialisation", None),
    "spectral_radius": ("model", "rescale every W_hh gate block to this spectral radius", "R"),
    "forget_bias": ("model", "LSTM forget-gate bias (default: the initialiser's)", "X"),
    "decoder_cell": ("model", "encoder-decoder: the decoder's cell (default: --cell)", None),
    "attention": ("model", "encoder-decoder: attention (none: the bottleneck)", None),
    "beam": ("model", "encoder-decoder: beam width when decoding, 1-5 (1: greedy)", "N"),
    "task": ("task", "built-in task", None),
    "text": (
        "task",
        "charlm: a UTF-8 text file to learn, implies --task charlm (default: the bundled text)",
        "FILE",
    ),
    "data": (
        "task",
        "your own data file for tasks that take one (music: melodies in the notation of "
        "rnnviz/core/notation.py, one per line; default: the bundled data)",
        "FILE",
    ),
    "seq_len": ("task", "sequence length T", "T"),
    "batch": ("task", "batch size B", "B"),
    "steps": ("optimisation", "training steps", "K"),
    "optimizer": ("optimisation", "optimiser", None),
    "lr": ("optimisation", f"learning rate (default: the task's, {_task_default('lr')})", "X"),
    "weight_decay": (
        "optimisation",
        "weight decay: each step shrinks the weights by lr times this (adam: AdamW's "
        f"decoupled decay; default: the task's, {_task_default('weight_decay')})",
        "X",
    ),
    "momentum": ("optimisation", "SGD momentum", "X"),
    "clip": ("optimisation", "gradient clipping", None),
    "clip_threshold": ("optimisation", "clipping threshold (global norm or element value)", "X"),
    "seed": ("optimisation", "random seed: same seed, same run", "S"),
    "device": ("optimisation", "where to train (auto: cuda, then mps, then cpu)", None),
    "probe_batch": ("optimisation", "sequences recorded for the trace", "N"),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "cell": cfgmod.CELL_CHOICES,
    "nonlinearity": cfgmod.NONLINEARITIES,
    "encoder": cfgmod.ENCODERS,
    "init": cfgmod.INITS,
    "task": cfgmod.TASKS,
    "decoder_cell": cfgmod.CELLS,
    "attention": cfgmod.ATTENTIONS,
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


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `rnnviz: error: … (see rnnviz train --help)`."""

    def error(self, message: str) -> NoReturn:
        hint = f"see `{self.prog} --help`"
        fail(f"{' '.join(message.split())} ({hint})")


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """The top-level parser and its subcommand parsers by name."""
    parser = Parser(
        prog=PROG,
        description="Watch recurrent neural networks learn: gates, states and per-timestep "
        "gradients. With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {rnnviz.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{app,train,trace,presets,export,sample}")
    app = sub.add_parser(
        "app",
        help="open the desktop app (the default)",
        description="Open the desktop app on the default model, a model of the options below, "
        "a lecture preset, or a saved session. Qt's own options (-platform NAME, -style S) "
        "pass through to Qt.",
    )
    first_run = app.add_mutually_exclusive_group()
    first_run.add_argument(
        "--preset",
        metavar="NAME",
        help="open on a lecture preset, training to its picture (see `rnnviz presets`)",
    )
    first_run.add_argument(
        SESSION_OPTION,
        metavar="FILE.rnnviz",
        help="open on a saved session, to train on from there",
    )
    add_config_options(app, steps_default=None)  # the app trains until paused: no --steps

    train = sub.add_parser(
        "train",
        help="train on the terminal, showing progress",
        description="Train a model for --steps steps, showing progress on the terminal.",
    )
    add_config_options(train, steps_default=Config.steps)
    add_threads_option(train)
    train.add_argument("--save", metavar="FILE", help="write a checkpoint here after training")
    add_save_session_option(train)
    train.add_argument(
        "--report",
        metavar="FILE.json",
        help="after training, write the step, the last loss and the held-out score (the metric "
        "on sequences never trained on, beside the task's baseline) as JSON",
    )

    trace = sub.add_parser(
        "trace",
        help="record every internal value of the probe batch to an NPZ file",
        description="Train for --steps steps (default 0), record the probe batch and write "
        "every recorded array to an NPZ file that numpy.load reads.",
    )
    add_config_options(trace, steps_default=0)
    add_threads_option(trace)
    trace.add_argument("--out", metavar="FILE.npz", required=True, help="NPZ file to write")
    add_model_options(trace)

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
        "--width",
        type=int,
        default=None,
        metavar="PX",
        help="image width in pixels (default: 1920; 960 for animations)",
    )
    export.add_argument(
        "--aspect",
        default="16:9",
        metavar="W:H",
        help="the figures' shape: 16:9 (default), 4:3, 1:1, or panel (as the app lays it out)",
    )
    export.add_argument(
        "--animate",
        choices=("gif", "mp4"),
        default=None,
        help="also write each panel as an animation: t moving through the sequence (the "
        "training panel: the training steps going by)",
    )
    export.add_argument(
        "--animate-over",
        choices=("time", "steps"),
        default=None,
        help="what the animations move through: time (t across the sequence) or steps "
        "(training going by: the panels that draw a history); only the panels that move "
        "through it are animated (default: each panel's own, time where it has both)",
    )
    export.add_argument(
        "--frames",
        type=int,
        default=None,
        metavar="N",
        help="through training steps: N steps spread evenly over the run (default: 100, "
        "or every step of a shorter run)",
    )
    export.add_argument(
        "--fps", type=int, default=10, metavar="N", help="animation frame rate (default: 10)"
    )
    return parser, {
        "app": app,
        "train": train,
        "trace": trace,
        "presets": sub.choices["presets"],
        "export": export,
        "sample": add_sample_command(sub),
    }


def add_config_options(parser: argparse.ArgumentParser, *, steps_default: int | None) -> None:
    """One option per Config field; default None so that only typed values override Config.
    No --steps where `steps_default` is None."""
    groups: dict[str, Any] = {}
    for f in fields(Config):
        if f.name == "steps" and steps_default is None:
            continue
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


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for training (default: all cores but one, or OMP_NUM_THREADS)",
    )


def threads_from_args(args: argparse.Namespace) -> int | None:
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be 1 or more, got {args.threads}")
    return args.threads


def config_from_args(args: argparse.Namespace, **fallbacks: Any) -> Config:
    """Config's defaults, overridden by `fallbacks` and then by what the user typed."""
    given = {f.name: getattr(args, f.name, None) for f in fields(Config)}
    given = {k: v for k, v in given.items() if v is not None}
    if "text" in given:
        if given.setdefault("task", "charlm") != "charlm":
            raise ConfigError(f"--text is only used by the charlm task, not {given['task']}")
    return Config(**{**fallbacks, **given}).validate()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        try:
            return run_command(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, in main, not at the interpreter's exit
    except BrokenPipeError:  # `rnnviz presets | head -n 1`: the reader has all it wanted
        # Python flushes stdout once more on exit: point it at /dev/null so that this flush
        # cannot raise (and print) the same error again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def entry() -> NoReturn:
    """The process's entry point (the `rnnviz` command, `python -m rnnviz`): main's status as
    its exit code, 130 after Ctrl-C. A Ctrl-C that lands inside torch's import (the first
    second of `rnnviz train`) is caught by main like any other, which prints its one line; but
    CPython has marked that KeyboardInterrupt unhandled where it crossed a PyRun_* call of
    torch's C++ start-up, and after the script returns the interpreter kills itself with
    SIGINT (status -2, measured in 3 of 4 such interrupts), so the status is set here, with
    the streams flushed: nothing is left to write, and no handler should run on the way out."""
    code = main()
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


def run_command(argv: list[str]) -> int:
    """Run the command `argv` names; a user's mistake becomes one line and status 2."""
    try:
        if not argv or argv[0] == "app":
            return run_app(argv[1:])
        if argv[0] in (SESSION_OPTION, "--preset"):
            return run_app(argv)
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
        if args.command == "sample":
            return run_sample(args)
        return run_trace(args)
    except (ConfigError, UsageError) as e:
        fail(str(e))
    except KeyboardInterrupt:  # before or after training (torch import, recording)
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# ---------------------------------------------------------------------------- app


def run_app(app_args: list[str]) -> int:
    """Open the window on the first run `app_args` choose (model options, --preset or
    --session; the default model without them); their other arguments are Qt's own options
    (e.g. `-platform offscreen`). An unknown --option or a bad value is one line and exit 2
    before the window opens: never silently ignored."""
    from rnnviz.display import display_problem, qt_library_hint

    parser = build_parser()[1]["app"]
    args, qt_args = parser.parse_known_args(app_args)
    if stray := [a for a in qt_args if a.startswith("--")]:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    typed = [f.name for f in fields(Config) if getattr(args, f.name, None) is not None]
    if typed and (args.preset or args.session):
        chosen = "--preset" if args.preset else SESSION_OPTION
        option = "--" + typed[0].replace("_", "-")
        raise UsageError(f"{chosen} sets the model itself: leave out {option}")
    config = config_from_args(args) if typed else None
    if args.preset:
        from rnnviz.core.presets import load_preset

        load_preset(args.preset)  # an unknown name is one line here, not in the window
    if args.session:
        check_session(args.session)
    problem = None if "-platform" in qt_args else display_problem()
    if problem:
        raise UsageError(f"cannot open the desktop app: {problem}")
    try:
        from rnnviz.app import main as app_main
    except ImportError as e:
        if (e.name or "").startswith("rnnviz"):
            raise  # our own module is missing: a broken installation, not the user's machine
        hint = qt_library_hint() if "shared object" in str(e) else ""
        raise UsageError(
            f"cannot start the desktop app: {e}{hint} (`rnnviz train` works without it)"
        ) from None
    return int(app_main(qt_args, config=config, session=args.session, preset=args.preset) or 0)


# ---------------------------------------------------------------------------- train / trace


def run_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    save = Path(args.save) if args.save else None
    if save is not None:
        check_output(save, "checkpoint")
    report = Path(args.report) if args.report else None
    if report is not None:
        check_output(report, "report")
    session = session_output(args)
    trainer = make_trainer(config, threads_from_args(args))
    status = train(trainer, config.steps)
    if status:
        return status
    if save is not None:
        write_output(lambda: trainer.save_checkpoint(save), save)
        print(f"saved checkpoint {save} (step {trainer.step_count})")
    if session is not None:
        save_session(trainer, session)
    if report is not None:
        from rnnviz.core.report import heldout_text, training_report, write_json

        data = training_report(trainer)
        write_output(lambda: write_json(report, data), report)
        print(f"wrote {report}: {heldout_text(data)}")
    return 0


def run_trace(args: argparse.Namespace) -> int:
    if {args.model, args.input, args.vocab} != {None}:  # the user's own model
        return run_model_trace(args)
    config = config_from_args(args, steps=0)
    out = Path(args.out)
    if out.suffix != ".npz":  # numpy would append it anyway; say the name it really gets
        out = out.with_name(out.name + ".npz")
    check_output(out, "trace")
    trainer = make_trainer(config, threads_from_args(args))
    status = train(trainer, config.steps)
    if status:
        return status
    trace = trainer.record()
    write_output(lambda: trace.save_npz(out), out)
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
