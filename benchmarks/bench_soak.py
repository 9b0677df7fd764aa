"""Soak: train for a long time with every core panel visible; does memory grow, and does
quitting leave anything behind?

Opens the real window (offscreen unless a display is set) on the app's default model, trains
at full speed for --minutes and samples the resident memory (RSS, /proc) of the window's
process and of the training process every --every seconds. Reported: growth from the first
sample after one minute (start-up, torch and the first recordings are settled by then) to the
last, the steps trained, and the training history's rows; after quitting, any child process
still alive. Bars: growth <= 50 MB for each process; no process left.

    .venv/bin/python benchmarks/bench_soak.py [--minutes 30] [--every 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import rnnviz.qt  # noqa: E402, F401 (as in the app, before numpy loads: one BLAS thread)

NAME = "bench_soak"
BAR_MB = 50.0
SETTLE_S = 60.0


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (zombies excluded), but for multiprocessing's
    resource tracker: it belongs to the interpreter, not to a run, and ends with it."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z" or int(fields[1]) != pid:
            continue
        if b"resource_tracker" not in (entry / "cmdline").read_bytes():
            out.append(int(entry.name))
    return out


def quiet_offscreen(mode, context, message: str) -> None:
    """Qt's messages, but for the offscreen platform's note on size hints (one per dock)."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    args = ap.parse_args(argv)

    from PySide6.QtCore import QSettings, qInstallMessageHandler
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from rnnviz.app import freeze_long_lived_objects
    from rnnviz.core.config import Config
    from rnnviz.qt import theme
    from rnnviz.qt.main_window import MainWindow

    qInstallMessageHandler(quiet_offscreen)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    theme.apply()
    tmp = tempfile.TemporaryDirectory()
    store = QSettings(str(Path(tmp.name) / "rnnviz.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Config(device="cpu"), settings=store)
    window.show()
    while window.snapshot is None:
        QTest.qWait(50)
    freeze_long_lived_objects()
    worker = window.runner._process.pid
    window.actions.train.trigger()
    me = os.getpid()
    samples = []  # (seconds, window MB, worker MB, step, history rows)
    t0 = time.perf_counter()
    end = t0 + 60 * args.minutes
    print(f"== {NAME}: {args.minutes:g} min, default model; samples every {args.every:g} s")
    print(f"{'min':>6} {'window MB':>10} {'worker MB':>10} {'step':>9} {'rows':>9}")
    while True:
        QTest.qWait(round(1000 * args.every))
        now = time.perf_counter()
        s = window.snapshot
        row = (now - t0, rss_mb(me), rss_mb(worker), s.step, len(s.history))
        samples.append(row)
        print(f"{row[0] / 60:6.1f} {row[1]:10.1f} {row[2]:10.1f} {row[3]:9d} {row[4]:9d}")
        if now >= end:
            break
    window.close()
    app.processEvents()
    left = children(me)
    tmp.cleanup()
    base = next((r for r in samples if r[0] >= SETTLE_S), samples[0])
    last = samples[-1]
    result = {
        "minutes": args.minutes,
        "steps": last[3],
        "history_rows": last[4],
        "window_growth_mb": last[1] - base[1],
        "worker_growth_mb": last[2] - base[2],
        "window_mb": last[1],
        "worker_mb": last[2],
        "processes_left": len(left),
    }
    print(
        f"growth after the first minute: window {result['window_growth_mb']:+.1f} MB, worker "
        f"{result['worker_growth_mb']:+.1f} MB (bar {BAR_MB:g} MB each); {last[3]} steps; "
        f"{len(left)} processes left after quitting (bar 0)"
    )
    return result


if __name__ == "__main__":
    r = main()
    ok = max(r["window_growth_mb"], r["worker_growth_mb"]) <= BAR_MB and not r["processes_left"]
    sys.exit(0 if ok else 1)
