"""Run every benchmark (quick settings by default) and print their tables and a summary.

    .venv/bin/python benchmarks/run_all.py                 # quick, CPU (what `make bench` runs)
    .venv/bin/python benchmarks/run_all.py --full          # more and longer repetitions
    .venv/bin/python benchmarks/run_all.py --device cuda
    .venv/bin/python benchmarks/run_all.py --only record   # one benchmark

Runs bench_train, bench_record and bench_record_seq2seq, bench_app (the desktop app's
quality bars) and bench_presets (time for each lecture preset to reach its promised
picture): about five minutes on two cores. The robustness runs take longer and run only
when named: `--only monkey` (2,000 random user actions on the real window, bench_monkey)
and `--only soak` (30 minutes of training, memory of both processes, bench_soak). Results
are appended to benchmarks/results/<name>.json (or to files in --json-dir).
Exit status 0 whatever the numbers: the targets are reported, not enforced (timings on a
shared machine are too noisy to fail a build on).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_app  # noqa: E402
import bench_monkey  # noqa: E402
import bench_presets  # noqa: E402
import bench_record  # noqa: E402
import bench_record_seq2seq  # noqa: E402
import bench_soak  # noqa: E402
import bench_train  # noqa: E402

QUICK = ("train", "record", "app", "presets")  # what a plain run runs
LONG = ("monkey", "soak")  # only when named


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="more and longer repetitions")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--threads", type=int, default=None, help="default: machine default")
    ap.add_argument(
        "--only", choices=("train", "record", "app", "presets", "monkey", "soak"), default=None
    )
    ap.add_argument("--json-dir", default=None, help="write results here instead")
    args = ap.parse_args(argv)

    common = ["--device", args.device]
    if args.full:
        common.append("--full")
    if args.threads:
        common += ["--threads", str(args.threads)]

    def json_arg(name: str) -> list[str]:
        return ["--json", str(Path(args.json_dir) / f"{name}.json")] if args.json_dir else []

    t0 = time.perf_counter()
    train_rows = record_rows = seq2seq_rows = None
    if args.only in (None, "train"):
        train_rows = bench_train.main(common + json_arg(bench_train.NAME))
        print()
    if args.only in (None, "record"):
        record_rows = bench_record.main(common + json_arg(bench_record.NAME))
        print()
        seq2seq_rows = bench_record_seq2seq.main(common + json_arg(bench_record_seq2seq.NAME))
        print()
    app = presets = None
    if args.only in (None, "app") and args.device == "cpu":
        app = bench_app.main(json_arg(bench_app.NAME))
        print()
    if args.only in (None, "presets") and args.device == "cpu":
        presets = bench_presets.main(json_arg(bench_presets.NAME))
        print()

    monkey = bench_monkey.main([]) if args.only == "monkey" else None
    soak = bench_soak.main([]) if args.only == "soak" else None

    print("== summary")
    if train_rows:
        worst = min(train_rows, key=lambda r: r["ratio"])
        print(
            f"training, rnnviz / plain torch steps/s: {min(r['ratio'] for r in train_rows):.2f}"
            f"..{max(r['ratio'] for r in train_rows):.2f} (target >= {bench_train.TARGET}); "
            f"worst H={worst['hidden']} T={worst['seq_len']} clip={worst['clip']}"
        )
    if record_rows:
        for method, label in (("rec", "without Jacobians"), ("rec+jac", "with Jacobians")):
            key, target = f"{method}_ratio", bench_record.TARGETS[method]
            worst = max(record_rows, key=lambda r: r[key])
            over = [r for r in record_rows if r[key] > target]
            print(
                f"recording {label}, x one fused fwd+bwd: "
                f"{min(r[key] for r in record_rows):.2f}..{worst[key]:.2f} "
                f"(target <= {target:g}); worst {worst['cell']} H={worst['hidden']} "
                f"T={worst['seq_len']}; {len(over)} of {len(record_rows)} cells over"
            )
    if seq2seq_rows:
        worst = max(seq2seq_rows, key=lambda r: r["ratio"])
        print(
            f"recording an encoder-decoder, x one fused fwd+bwd: "
            f"{min(r['ratio'] for r in seq2seq_rows):.2f}..{worst['ratio']:.2f} (target <= "
            f"{bench_record_seq2seq.TARGET:g}); worst {worst['task']} {worst['cell']} "
            f"{worst['attention']}"
        )
    if app:
        hz = min(app["refresh_hz"].values())
        print(
            f"desktop app: window after {min(app['startup_s']):.2f} s (bar 2 s), event-loop "
            f"latency p99 {app['latency_ms_p99']:.0f} ms (bar 50 ms), slowest panel {hz:.1f} Hz "
            f"(bar 10 Hz), training {app['throughput_ratio']:.2f}x `rnnviz train` (bar 0.7), "
            f"closing {app['close_s']:.2f} s (bar 1 s)"
        )
    if presets:
        slowest = max(presets, key=lambda r: r["seconds"])
        held = sum(r["ok"] for r in presets)
        print(
            f"lecture presets: {held} of {len(presets)} reach their promised picture; slowest "
            f"{slowest['preset']} after {slowest['seconds']:.0f} s "
            f"(bar {bench_presets.BAR_S:.0f} s)"
        )
    if monkey:
        print(
            f"monkey: {monkey['actions']} actions, {monkey['exceptions']} exceptions, "
            f"{monkey['warnings']} Qt warnings, {monkey['stalls']} stalls > 2 s (bar 0 each)"
        )
    if soak:
        print(
            f"soak: {soak['minutes']:g} min, {soak['steps']} steps; growth window "
            f"{soak['window_growth_mb']:+.1f} MB, worker {soak['worker_growth_mb']:+.1f} MB (bar "
            f"{bench_soak.BAR_MB:g} MB each); {soak['processes_left']} processes left (bar 0)"
        )
    print(f"(all benchmarks: {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
