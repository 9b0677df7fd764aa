"""Cost of recording an encoder-decoder's probe batch, relative to one fused forward+backward.

For each setting (task, cell, attention) a Trainer builds the model (default initialisation)
and its probe batch (Config.probe_batch sequences); two methods are timed on the same weights
and batch, round-robin within each repetition:

    fused      model(x, y) under teacher forcing -> task loss -> loss.backward(): what a
               training step's gradient costs for this batch (nn.LSTM/GRU kernels), 1x
    record     seq2seq.record.record_seq2seq: both halves' states, gates, attention, context,
               outputs, loss and dL/dh_t, dL/dc_t (what the panels show)

The table shows median milliseconds and the median over repetitions of record / fused of the
same repetition. Target (issue 11): record <= 3x. numpy runs on one OpenBLAS thread, as in
the app's training process; --threads sets torch's.

    .venv/bin/python benchmarks/bench_record_seq2seq.py [--threads 1] [--reps 7]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads (bench_record.py)

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

from rnnviz.core.config import Config  # noqa: E402
from rnnviz.core.seq2seq.record import record_seq2seq  # noqa: E402
from rnnviz.core.train import Trainer  # noqa: E402

NAME = "bench_record_seq2seq"
TARGET = 3.0
DEFAULT_SETTINGS = [
    (task, cell, attention)
    for task in ("dates", "reverse")
    for cell in ("lstm", "gru")
    for attention in ("none", "additive", "dot")
]


def bench_setting(task: str, cell: str, attention: str, args) -> dict:
    trainer = Trainer(
        Config(task=task, cell=cell, attention=attention, seed=args.seed, device=args.device)
    )
    model, tk, batch = trainer.model, trainer.task, trainer.probe_batch
    model.eval()  # as Trainer.record does

    def fused():
        model.zero_grad(set_to_none=True)
        tk.loss(model(*tk.model_inputs(batch)), batch.y, batch.mask).backward()

    def record():
        record_seq2seq(model, tk, batch)

    fns = {"fused": fused, "record": record}
    inner = {}
    for name, fn in fns.items():  # warm up, size each repetition to --min-rep-s
        fn()
        t0 = time.perf_counter()
        fn()
        inner[name] = max(1, round(args.min_rep_s / max(time.perf_counter() - t0, 1e-6)))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(args.reps):
        for name, fn in fns.items():
            n = inner[name]
            samples[name].append(
                C.time_call(lambda fn=fn, n=n: [fn() for _ in range(n)], args.device) / n
            )
    ratios = [r / f for r, f in zip(samples["record"], samples["fused"], strict=True)]
    return {
        "task": task,
        "cell": cell,
        "attention": attention,
        "batch": int(batch.x.shape[0]),
        "enc_steps": int(batch.x.shape[1]),
        "dec_steps": int(batch.y.shape[1]),
        "fused_ms": 1e3 * C.median(samples["fused"]),
        "record_ms": 1e3 * C.median(samples["record"]),
        "ratio": C.median(ratios),
        "samples_s": samples,
    }


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--full", action="store_true", help="more repetitions")
    ap.add_argument("--reps", type=int, default=None, help="default 7 (15 with --full)")
    ap.add_argument("--min-rep-s", type=float, default=0.03)
    ap.add_argument("--threads", type=int, default=None, help="default: machine default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--settings", nargs="+", default=None, metavar="TASK,CELL,ATTENTION",
        help="e.g. dates,lstm,additive (default: dates and reverse x lstm, gru x none, "
        "additive, dot)",
    )  # fmt: skip
    ap.add_argument("--json", default=None, help=f"results file (default results/{NAME}.json)")
    args = ap.parse_args(argv)
    args.reps = args.reps or (15 if args.full else 7)
    settings = [tuple(s.split(",")) for s in args.settings] if args.settings else DEFAULT_SETTINGS
    env = C.environment(C.resolve_device(args.device), args.threads)
    C.print_header(
        f"bench_record_seq2seq: recording an encoder-decoder's probe batch vs one fused "
        f"forward+backward ({args.reps} reps, median of paired ratios)",
        env,
    )
    rows = [bench_setting(*s, args) for s in settings]
    print(
        C.table(
            ["task", "cell", "attention", "B", "N", "T", "fused ms", "record ms", "ratio", "<= 3x"],
            [
                [
                    r["task"],
                    r["cell"],
                    r["attention"],
                    r["batch"],
                    r["enc_steps"],
                    r["dec_steps"],
                    f"{r['fused_ms']:.2f}",
                    f"{r['record_ms']:.2f}",
                    f"{r['ratio']:.2f}x",
                    "ok" if r["ratio"] <= TARGET else "OVER",
                ]
                for r in rows
            ],  # fmt: skip
        )
    )
    load = C.load_average()
    if load is not None:
        print(f"load average (1 min) at end: {load:.2f}")
    path = C.append_json(args.json, NAME, {"env": env, "settings": vars(args), "results": rows})
    print(f"results appended to {path}")
    return rows


if __name__ == "__main__":
    main()
