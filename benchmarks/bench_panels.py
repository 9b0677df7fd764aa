"""What one redraw round costs the GUI thread: each panel's redraw and repaint, offscreen.

The window redraws one dirty, visible panel a tick in turn (rnnviz/qt/redraw_ticks.py), so
every visible panel refreshes at the same rate, one over the sum of their redraw + repaint
times: the bar of >= 10 Hz with the training worker sharing the machine needs that sum well
under 100 ms. bench_app measures the rate in the running window, which a busy machine
(another process, the worker itself) moves a lot; this measures the sum itself, in CPU time
of this thread, so that a change to a panel can be judged at any load.

Each panel is built alone at --size, shown, given two recordings to settle, then for --n
later recordings (a few training steps apart, as in a live run): set_snapshot + refresh
(the redraw, show_time and the layout the window's tick runs), then a synchronous repaint.
Medians per panel, and their sum.

    .venv/bin/python benchmarks/bench_panels.py --task charlm --panels graph gates states \
        gradients training itemized memory_reach
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rnnviz.qt  # noqa: E402, F401 (as in the app, before numpy loads: one BLAS thread)

NAME = "bench_panels"
DEFAULT_PANELS = ("graph", "gates", "states", "gradients", "training")


def measure(task: str, keys: list[str], n: int, size: tuple[int, int]) -> dict[str, dict]:
    """Per panel key: the median redraw and repaint CPU milliseconds and their samples."""
    from PySide6.QtWidgets import QApplication

    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer
    from rnnviz.qt import theme
    from rnnviz.qt.panels import LAB_PANELS, PANELS
    from rnnviz.qt.timeline import TimeCursor

    app = QApplication.instance() or QApplication([sys.argv[0]])
    theme.apply()
    classes = {c.key: c for c in (*PANELS, *LAB_PANELS)}
    trainer = Trainer(Config(task=task, device="cpu"))
    for _ in range(150):  # past the first steps, where everything on screen still jumps
        trainer.train_step()
    snapshots = []
    for _ in range(n + 2):
        for _ in range(10):
            trainer.train_step()
        snapshots.append(trainer.snapshot(state="running", trace=trainer.record(), steps_per_s=0))
    out = {}
    for key in keys:
        cursor = TimeCursor()
        cursor.set_length(snapshots[0].trace.T)
        panel = classes[key](cursor)
        panel.resize(*size)
        panel.show()
        for s in snapshots[:2]:
            panel.set_snapshot(s)
            panel.refresh()
            panel.repaint()
        redraw, paint = [], []
        for s in snapshots[2:]:
            panel.set_snapshot(s)
            t0 = time.thread_time()
            panel.refresh()
            t1 = time.thread_time()
            panel.repaint()
            app.processEvents()
            t2 = time.thread_time()
            redraw.append(1e3 * (t1 - t0))
            paint.append(1e3 * (t2 - t1))
        out[key] = {
            "redraw_ms": statistics.median(redraw),
            "paint_ms": statistics.median(paint),
            "redraw_samples": redraw,
            "paint_samples": paint,
        }
        panel.close()
        panel.deleteLater()
        app.processEvents()
    return out


def main(argv=None) -> dict:
    from _common import append_json, environment, print_header, table

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", default="charlm")
    ap.add_argument("--panels", nargs="+", default=list(DEFAULT_PANELS), metavar="KEY")
    ap.add_argument("--n", type=int, default=24, help="recordings redrawn per panel")
    ap.add_argument("--size", type=int, nargs=2, default=(800, 450), metavar=("W", "H"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    from rnnviz.qt.panels import LAB_PANELS, PANELS

    known = [c.key for c in (*PANELS, *LAB_PANELS)]
    unknown = [k for k in args.panels if k not in known]
    if unknown:
        ap.error(f"unknown panel(s): {', '.join(unknown)}; known: {', '.join(known)}")
    env = environment("cpu")
    print_header("panels: redraw + repaint per recording (GUI-thread CPU time)", env)
    r = measure(args.task, args.panels, args.n, tuple(args.size))
    rows = [
        [
            k,
            f"{v['redraw_ms']:.1f}",
            f"{v['paint_ms']:.1f}",
            f"{v['redraw_ms'] + v['paint_ms']:.1f}",
        ]
        for k, v in r.items()
    ]
    total = sum(v["redraw_ms"] + v["paint_ms"] for v in r.values())
    rows.append(["round (sum)", "", "", f"{total:.1f}"])
    print(table(["panel", "redraw ms", "repaint ms", "total ms"], rows))
    print(f"one round of these panels: {total:.0f} ms of the GUI thread (<= {1000 / total:.1f} Hz)")
    record = {"env": env, "args": vars(args), "panels": r, "round_ms": total}
    append_json(args.json, NAME, record)
    return record


if __name__ == "__main__":
    main()
