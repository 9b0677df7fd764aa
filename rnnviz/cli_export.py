"""`rnnviz export`: train a lecture preset headless and write its panels as PNG and SVG (and,
with --animate, as GIF or MP4 animations), with its explanation and what was measured as
text, for slides."""

from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
import time
from pathlib import Path

from rnnviz.cli_common import EXIT_INTERRUPTED, PROG, UsageError, check_output, write_output
from rnnviz.cli_train import ProgressLine, duration
from rnnviz.core.threads import use_training_threads


def run_export(args: argparse.Namespace) -> int:
    # before torch is imported: a mistake in the options is said at once
    if (args.animate_over or args.frames is not None) and not args.animate:
        option = "--animate-over" if args.animate_over else "--frames"
        raise UsageError(f"{option} needs --animate gif or --animate mp4")
    if args.frames is not None and args.animate_over == "time":
        raise UsageError("--frames counts training steps: through time there is one a timestep")
    if args.frames is not None and args.frames < 1:
        raise UsageError(f"--frames must be 1 or more, got {args.frames}")
    from rnnviz.core.claims import check_claim
    from rnnviz.core.presets import load_preset, preset_snapshot, train_preset

    preset = load_preset(args.preset)
    steps = preset.steps if args.steps is None else args.steps
    if steps < 0:
        raise UsageError(f"--steps must be 0 or more, got {steps}")
    out = Path(args.out)
    check_output(out, "images into", folder=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # images only: no window, no display
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from rnnviz.core.devices import resolve_device
    from rnnviz.qt.animation import DEFAULT_WIDTH, FPS_RANGE
    from rnnviz.qt.export import ExportError, FigureSize
    from rnnviz.qt.figures import animate_panels, export_panels
    from rnnviz.qt.panels import LAB_PANELS, PANELS

    try:
        size = FigureSize(args.width or FigureSize().width, args.aspect)
        moving = FigureSize(args.width or DEFAULT_WIDTH, args.aspect)
    except ExportError as e:  # "width must be …": the option's name in front
        raise UsageError(f"--{e}") from None
    if args.animate and not FPS_RANGE[0] <= args.fps <= FPS_RANGE[1]:
        raise UsageError(f"--fps must be between {FPS_RANGE[0]} and {FPS_RANGE[1]}, got {args.fps}")
    missing = set(preset.panels) - {cls.key for cls in (*PANELS, *LAB_PANELS)}
    if missing:  # a preset file naming a panel this version lacks: say so before training
        raise UsageError(f"preset {preset.key!r} names unknown panels: {', '.join(missing)}")
    for run in preset.runs:
        resolve_device(run.config.device)
    print(f"{preset.title}: training {len(preset.runs)} run(s) for {steps} steps", flush=True)
    use_training_threads()  # the app's rule: all cores but one
    shown, start = ProgressLine(steps * len(preset.runs)), time.monotonic()

    def progress(done: int, total: int) -> None:
        if shown.due(done):
            rate = done / max(time.monotonic() - start, 1e-9)
            left = (total - done) / rate if rate > 0 else math.nan
            shown.show(f"step {done}/{total}  {rate:.0f} steps/s  left {duration(left)}", done)

    import numpy as np

    try:
        with np.errstate(all="ignore"):  # a run meant to diverge overflows on its way
            trainers, traces = train_preset(preset, steps, progress)
    except KeyboardInterrupt:
        shown.end()
        print(f"{PROG}: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    shown.end()
    snapshot = preset_snapshot(preset, trainers, traces)
    claim = check_claim(preset, snapshot)  # measured on what the figures draw
    qInstallMessageHandler(_quiet_offscreen)
    app = QApplication.instance() or QApplication([PROG])  # noqa: F841 (keeps Qt alive)
    try:
        written = export_panels(snapshot, preset.panels, out, size=size)
        if args.animate:
            print(f"writing the animations ({args.animate})", flush=True)
            animations = animate_panels(
                snapshot,
                preset.panels,
                out,
                args.animate,
                size=moving,
                fps=args.fps,
                axis=args.animate_over,
                frames=args.frames,
            )
            if not animations:
                print(f"no panel of the preset changes over {args.animate_over}", flush=True)
            written += animations
    except (ExportError, OSError) as e:
        raise UsageError(f"cannot write the images: {e}") from None
    text = out / "explanation.txt"
    write_output(
        lambda: text.write_text(explanation_text(preset, steps, claim, snapshot), "utf-8"), text
    )
    print(f"wrote {len(written)} {'files' if args.animate else 'images'} and {text.name} to {out}")
    print(f"{'the picture holds' if claim.ok else 'NOT YET SHOWN'}: {claim.text}")
    return 0


def _quiet_offscreen(mode, context, message: str) -> None:
    """Qt's messages on stderr, but for the offscreen platform's note that it cannot resize
    windows to their hints (it has no windows to resize: the images are unaffected)."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def explanation_text(preset, steps: int, claim, snapshot) -> str:
    """The explanation a lecturer pastes next to the images, with what was measured."""
    from rnnviz.core.presets import run_settings

    lines = [preset.title, "=" * len(preset.title), "", textwrap.fill(preset.explanation, 88), ""]
    lines += [f"- {r.label}: {run_settings(r.config)}" for r in preset.runs]
    lines += ["", f"After {steps} training steps: {claim.text}"]
    if not claim.ok:
        lines.append("(the promised picture is not there yet: train more steps)")
    sample = snapshot.extras.get("sample")
    if sample:
        lines += ["", f"Sampled text at temperature {snapshot.extras['temperature']}:", "", sample]
    return "\n".join(lines) + "\n"
