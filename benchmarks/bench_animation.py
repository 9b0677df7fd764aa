"""Exporting animations: seconds to write a 100-frame GIF and MP4 of one panel (the gate
panel, through t) and of the whole window (every default panel, controls left out), this
process's CPU seconds (steadier on a busy machine) and the files' sizes. Frames are painted
here; GIF frames are quantised here, MP4 frames encoded by ffmpeg in its own process (so it
overlaps with the painting on a second core).

Model: LSTM, H = 32, sine, T = --frames (one frame per timestep). Headless (offscreen).

    .venv/bin/python benchmarks/bench_animation.py [--frames 100] [--widths 960,1920]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import rnnviz.qt  # noqa: E402, F401 (as in the app, before numpy loads: one BLAS thread)

NAME = "bench_animation"
# s: wall-clock seconds; cpu s: this process's CPU seconds (ffmpeg's are its own), steadier
# than the wall clock on a busy machine
HEADERS = ["animation", "width", "format", "frames", "s", "cpu s", "KB"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--widths", default="960,1920")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    from _common import append_json, environment, print_header, table
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer
    from rnnviz.qt import theme
    from rnnviz.qt.animation import panel_frames, write_animation
    from rnnviz.qt.export import FigureSize
    from rnnviz.qt.main_window import MainWindow

    env = environment("cpu")
    print_header("Animation export", env)
    app = QApplication.instance() or QApplication([])  # noqa: F841 (keeps Qt alive)
    theme.apply()
    config = Config(hidden=32, seq_len=args.frames, batch=8, device="cpu")
    trainer = Trainer(config)
    for _ in range(20):
        trainer.train_step()
    snapshot = trainer.snapshot(state="paused", trace=trainer.record(), steps_per_s=0.0)

    folder = Path(tempfile.mkdtemp(prefix="rnnviz-bench-"))
    store = QSettings(str(folder / "rnnviz.ini"), QSettings.Format.IniFormat)
    window = MainWindow(config, settings=store)
    window.show()
    window.runner.snapshot.disconnect(window._on_snapshot)  # the snapshot above, only
    window._on_snapshot(snapshot)
    for panel in window.panels:
        panel.refresh(force=True)
    gates = next(p for p in window.panels if p.key == "gates")

    rows, samples = [], []
    for width in (int(w) for w in args.widths.split(",")):
        for what in ("gates panel", "whole window"):
            for fmt in ("gif", "mp4"):
                if what == "gates panel":
                    frames = panel_frames(gates, "time", size=FigureSize(width))
                else:
                    frames = window.exports.window_frames(width=width)
                path = folder / f"{what.split()[0]}-{width}.{fmt}"
                t0, c0 = time.perf_counter(), time.process_time()
                write_animation(frames, path, fmt)
                seconds = time.perf_counter() - t0
                cpu = time.process_time() - c0  # this process: painting (and GIF's palette)
                size_kb = path.stat().st_size / 1024
                rows.append(
                    [
                        what,
                        width,
                        fmt,
                        len(frames),
                        f"{seconds:.2f}",
                        f"{cpu:.2f}",
                        f"{size_kb:.0f}",
                    ]
                )
                samples.append(
                    {
                        "what": what,
                        "width": width,
                        "format": fmt,
                        "frames": len(frames),
                        "seconds": seconds,
                        "cpu_seconds": cpu,
                        "kb": size_kb,
                    }
                )
                print(table(HEADERS, rows[-1:]))
    print()
    print(table(HEADERS, rows))
    window.close()
    path = append_json(args.json, NAME, {"env": env, "settings": vars(args), "samples": samples})
    print(f"\nresults appended to {path}")


if __name__ == "__main__":
    main()
