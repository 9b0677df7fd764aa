"""Time for each lecture preset to reach its promised picture, with its default settings.

Trains every run of a preset (one after another, as `rnnviz export` does), checking the
preset's claim (rnnviz.core.claims.check_claim) every `--check-every` steps, and reports
the steps and wall-clock seconds until the claim first holds, against the bar of 120 s on
the project's 2-core machine. A preset whose claim does not hold within its default steps
is reported as such.

    .venv/bin/python benchmarks/bench_presets.py [--only KEY ...] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import append_json, environment, print_header, table  # noqa: E402

from rnnviz.core.claims import check_claim  # noqa: E402
from rnnviz.core.presets import list_presets, preset_snapshot  # noqa: E402
from rnnviz.core.train import Trainer  # noqa: E402

NAME = "bench_presets"
BAR_S = 120.0


def time_to_claim(preset, check_every: int) -> dict:
    """Train all runs in lock-step chunks; return when the claim first holds."""
    t0 = time.perf_counter()
    trainers = [Trainer(r.config) for r in preset.runs]
    steps, result = 0, None
    while steps < preset.steps:
        chunk = min(check_every, preset.steps - steps)
        for t in trainers:
            for _ in range(chunk):
                if not t.train_step():
                    break
        steps += chunk
        traces = [t.record() for t in trainers]
        result = check_claim(preset, preset_snapshot(preset, trainers, traces))
        if result.ok:
            break
    return {
        "preset": preset.key,
        "ok": bool(result and result.ok),
        "steps": steps,
        "seconds": time.perf_counter() - t0,
        "claim": result.text if result else "",
    }


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=None, help="preset keys (default: all)")
    ap.add_argument("--check-every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    env = environment("cpu", args.threads)
    print_header("lecture presets: time to the promised picture", env)
    rows = []
    for p in list_presets():
        if args.only and p.key not in args.only:
            continue
        r = time_to_claim(p, args.check_every)
        rows.append(r)
        mark = "yes" if r["ok"] else "NO"
        print(
            f"{p.key:14s} {mark:3s} {r['steps']:5d} steps {r['seconds']:6.1f} s  {r['claim']}",
            flush=True,
        )
    print()
    print(
        table(
            ["preset", "claim holds", "steps", "seconds", f"<= {BAR_S:.0f} s"],
            [
                [
                    r["preset"],
                    "yes" if r["ok"] else "NO",
                    r["steps"],
                    f"{r['seconds']:.1f}",
                    "yes" if r["ok"] and r["seconds"] <= BAR_S else "NO",
                ]
                for r in rows
            ],
        )
    )
    append_json(args.json, NAME, {"env": env, "rows": rows})
    return rows


if __name__ == "__main__":
    main()
