"""Robustness: thousands of seeded random user actions on the real window, and what went wrong.

The monkey (tests/qt/monkey.py; the suite runs 300 of its actions) presses keys, changes and
applies settings, starts presets, exports panels into a temporary folder, enters and leaves
presentation mode, floats, hides and shows docks and resizes the window, training during about
half of the actions. Counted: exceptions (raised, or printed by pyqtgraph), Qt warnings,
numerical warnings (RuntimeWarning: a NaN drawn, …) and event-loop stalls over 2 s. Bar: 0 of
each over >= 2,000 actions.

    .venv/bin/python benchmarks/bench_monkey.py [--actions 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "qt"))

import rnnviz.qt  # noqa: E402, F401 (as in the app, before numpy loads: one BLAS thread)

NAME = "bench_monkey"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--actions", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from monkey import Monkey
    from PySide6.QtCore import QSettings
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from stall_stacks import StallSampler

    from rnnviz.core.config import Config
    from rnnviz.qt import theme
    from rnnviz.qt.main_window import MainWindow
    from rnnviz.qt.teardown import release_graphics

    app = QApplication.instance() or QApplication([sys.argv[0]])
    theme.apply()
    with tempfile.TemporaryDirectory() as tmp:
        store = QSettings(str(Path(tmp) / "rnnviz.ini"), QSettings.Format.IniFormat)
        window = MainWindow(Config(device="cpu"), settings=store)
        window.show()
        while window.snapshot is None:
            QTest.qWait(50)
        sampler = StallSampler()
        sampler.start()
        report = Monkey(window, args.seed, export_dir=Path(tmp) / "exports").run(args.actions)
        sampler.stop()
        window.close()
        app.processEvents()
        release_graphics()  # as the app does after its event loop (rnnviz/qt/teardown.py)
    print(f"== {NAME}: seed {args.seed}")
    print(report.summary())
    found = (
        ("exception", report.exceptions),
        ("Qt warning", report.warnings),
        ("numerical warning", report.numerical),
    )
    for kind, items in found:
        for item in items[:20]:
            print(f"  {kind}: {item}")
    for what, late in report.stalls:
        print(f"  stall: {what}, {late:.2f} s")
    print("longest delays: " + ", ".join(f"{what} {s:.2f} s" for s, what in report.slowest))
    print(sampler.report())
    print("actions: " + ", ".join(f"{k} {n}" for k, n in report.actions.most_common()))
    return {
        "actions": sum(report.actions.values()),
        "exceptions": len(report.exceptions),
        "warnings": len(report.warnings),
        "numerical": len(report.numerical),
        "stalls": len(report.stalls),
        "max_late_s": report.max_late_s,
        "stalled": [what for what, _ in report.stalls],
        "seconds": report.seconds,
    }


if __name__ == "__main__":
    result = main()
    failed = ("exceptions", "warnings", "numerical", "stalls")
    sys.exit(1 if any(result[k] for k in failed) else 0)
