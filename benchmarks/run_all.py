"""Run every benchmark (quick settings by default) and print their tables and a summary.

    .venv/bin/python benchmarks/run_all.py                 # quick, CPU (what `make bench` runs)
    .venv/bin/python benchmarks/run_all.py --full          # more and longer repetitions
    .venv/bin/python benchmarks/run_all.py --device cuda
    .venv/bin/python benchmarks/run_all.py --only record   # one benchmark

Results are appended to benchmarks/results/bench_train.json and bench_record.json (or to
files in --json-dir). Exit status 0 whatever the numbers: the targets are reported, not
enforced (timings on a shared machine are too noisy to fail a build on).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_record  # noqa: E402
import bench_train  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="more and longer repetitions")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--threads", type=int, default=None, help="default: machine default")
    ap.add_argument("--only", choices=("train", "record"), default=None)
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
    train_rows = record_rows = None
    if args.only in (None, "train"):
        train_rows = bench_train.main(common + json_arg(bench_train.NAME))
        print()
    if args.only in (None, "record"):
        record_rows = bench_record.main(common + json_arg(bench_record.NAME))
        print()

    print("== summary")
    if train_rows:
        worst = min(train_rows, key=lambda r: r["ratio"])
        print(
            f"training, rnnviz / plain torch steps/s: {min(r['ratio'] for r in train_rows):.2f}"
            f"..{max(r['ratio'] for r in train_rows):.2f} (target >= {bench_train.TARGET}); "
            f"worst H={worst['hidden']} T={worst['seq_len']} clip={worst['clip']}"
        )
    if record_rows:
        for key, label in (("rec_ratio", "without Jacobians"), ("rec+jac_ratio", "with Jacobians")):
            worst = max(record_rows, key=lambda r: r[key])
            over = [r for r in record_rows if r[key] > bench_record.TARGET]
            print(
                f"recording {label}, x one fused fwd+bwd: "
                f"{min(r[key] for r in record_rows):.2f}..{worst[key]:.2f} "
                f"(target <= {bench_record.TARGET:g}); worst {worst['cell']} H={worst['hidden']} "
                f"T={worst['seq_len']}; {len(over)} of {len(record_rows)} cells over"
            )
    print(f"(all benchmarks: {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
