"""Cost of recording one sequence with every internal value, relative to one fused fwd+bwd.

For each cell (cell type, hidden size H, sequence length T) one model (RecurrentModel with
the fused torch.nn.RNN/LSTM/GRU stack and a linear head, default initialisation) and one
sequence (batch B = 1 by default) from the task are timed five ways, on the same weights:

    fused      model(x) -> task loss -> loss.backward(): one fused forward+backward, the
               cost of a training step's gradient for this sequence (the reference, 1x)
    rec+jac    record_trace(..., jacobians=True): states, gates, dL/dh_t, dL/dc_t and the
               Jacobian norms ||dh_final/dh_t|| -- everything the panels show but the items
    rec        record_trace(..., jacobians=False): the same without the Jacobian norms
    jac        the Jacobian-norm chain alone (jacobian.jacobian_norms on every layer)
    items      sequence 0's itemized gradients dL_j/dh_t alone (grad_items.grad_items), where
               they fit their budget (else "skipped"); record_trace adds them to rec+jac
    explicit   the naive design: the per-timestep loop of rnnviz.core.model.run_explicit with
               autograd (zero perturbations on h_t and c_t, gates recorded), then the loss and
               torch.autograd.grad to the perturbations, which gives dL/dh_t and dL/dc_t

The methods run round-robin within each repetition (so a drifting load hits all alike); a
repetition of a fast method repeats it until it lasts at least --min-rep-s. The table shows
median milliseconds per call and the median over repetitions of each method's time divided by
the fused time of the same repetition. Targets (issue 14): rec+jac <= 10x and rec <= 2x.

numpy's OpenBLAS runs on one thread, as in the app's training process (rnnviz/qt/__init__.py
sets OPENBLAS_NUM_THREADS=1 there): on a busy machine its spinning threads otherwise make the
recorder's many small products up to twenty times slower. --threads sets torch's threads.

    .venv/bin/python benchmarks/bench_record.py             # quick
    .venv/bin/python benchmarks/bench_record.py --full      # more repetitions
    .venv/bin/python benchmarks/bench_record.py --profile lstm,128,1000   # cProfile one call
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads (see above)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import math  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

from rnnviz.core import grad_items  # noqa: E402
from rnnviz.core import record as rec_mod  # noqa: E402
from rnnviz.core.cells import CELLS  # noqa: E402
from rnnviz.core.config import Config  # noqa: E402
from rnnviz.core.jacobian import jacobian_norms  # noqa: E402
from rnnviz.core.model import RecurrentModel, run_explicit  # noqa: E402
from rnnviz.core.record import record_trace  # noqa: E402
from rnnviz.core.tasks import TASKS, make_task  # noqa: E402

NAME = "bench_record"
TARGETS = {"rec+jac": 10.0, "rec": 2.0}
METHODS = ("fused", "rec+jac", "rec", "jac", "items", "explicit")
DEFAULT_CELLS = [  # issue 14's table
    (cell, h, t) for cell in ("lstm", "gru", "rnn") for h in (64, 128) for t in (50, 200, 1000)
]


def setup(cell: str, hidden: int, seq_len: int, args, device: str):
    cfg = Config(
        cell=cell, task=args.task, hidden=hidden, seq_len=seq_len, batch=args.batch,
        seed=args.seed, device=device,
    )  # fmt: skip
    task = make_task(cfg)
    torch.manual_seed(cfg.seed)
    model = RecurrentModel(cfg, task.input_size, task.output_size, task.note_parts).to(device)
    model.eval()  # as Trainer.record does (no dropout here, so train/eval compute the same)
    batch = task.sample(args.batch, torch.Generator().manual_seed(cfg.seed + 1)).to(device)
    return cfg, task, model, batch


def methods(cfg, task, model, batch) -> dict:
    """The five timed callables on one model and one batch."""

    def fused():
        model.zero_grad(set_to_none=True)
        loss = task.loss(model(batch.x), batch.y, batch.mask)
        loss.backward()

    def rec_jac():
        record_trace(model, task, batch, jacobians=True, grad_items=False)

    def rec_nojac():
        record_trace(model, task, batch, jacobians=False, grad_items=False)

    items = None
    past = model.past_of(batch.x)  # a melody model's lookback and cache, else None
    past_0 = None if past is None else past.select(0)
    with torch.no_grad():
        x = model.encode(batch.x, past=past)
    record = rec_mod.record_fused if CELLS[cfg.cell].fused else rec_mod.record_explicit
    y_hat, _, recorded = record(model, task, batch, x, past)  # the layers the items start from
    steps = grad_items.loss_steps(batch.mask).tolist()
    if not grad_items.grad_items_skip_reason(cfg, x.shape[-1], steps, x.shape[1]):

        def items():
            grad_items.grad_items(model, task, batch, y_hat, recorded, past_0)

    # The Jacobian part alone: the per-layer dicts the recorder builds, then the chain.
    # (If record_fused changes, fall back to rec+jac minus rec.)
    jac = None
    if CELLS[cfg.cell].fused and hasattr(rec_mod, "record_fused"):
        try:
            _, _, layers = rec_mod.record_fused(model, task, batch, x, past)
            model.zero_grad(set_to_none=True)

            def jac():
                for lt in layers:
                    jacobian_norms(cfg.cell, model, lt)

            jac()
        except Exception as e:  # noqa: BLE001
            print(f"  (jacobian part: private API changed ({e!r}); using rec+jac - rec)")
            jac = None

    rnn, has_c = model.rnn, CELLS[cfg.cell].cell_state
    D = model.directions

    def explicit():
        B, T = batch.x.shape[:2]
        with torch.no_grad():
            x = model.encode(batch.x)
        pert = {}
        for k in range(cfg.layers):
            for d in range(D):
                ph = x.new_zeros(B, T, cfg.hidden, requires_grad=True)
                pc = x.new_zeros(B, T, cfg.hidden, requires_grad=True) if has_c else None
                pert[(k, d == 1)] = (ph, pc)
        record: dict = {}
        out, _, _ = run_explicit(rnn, x, perturb=pert, record=record)
        loss = task.loss(model.head(out), batch.y, batch.mask)
        grads = torch.autograd.grad(loss, [t for p in pert.values() for t in p if t is not None])
        with torch.no_grad():
            {key: {n: torch.stack(v, 1) for n, v in r.items()} for key, r in record.items()}
        return grads

    return {"fused": fused, "rec+jac": rec_jac, "rec": rec_nojac, "jac": jac, "items": items,
            "explicit": explicit}  # fmt: skip


def timed(fn, device: str, cpu_time: bool) -> float:
    """Seconds of one call: wall clock, or with `cpu_time` this process's CPU time (on one
    thread, what the call itself cost, however busy the shared machine is)."""
    if not cpu_time:
        return C.time_call(fn, device)
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def bench_cell(cell: str, hidden: int, seq_len: int, args, device: str) -> dict:
    cfg, task, model, batch = setup(cell, hidden, seq_len, args, device)
    fns = methods(cfg, task, model, batch)
    reps = args.reps_long if seq_len >= args.long_from else args.reps
    # Warm up every method once and size its repetition.
    inner = {}
    for name, fn in fns.items():
        if fn is None:
            continue
        t = timed(fn, device, args.cpu_time)
        t = min(t, timed(fn, device, args.cpu_time)) if t < args.min_rep_s else t
        inner[name] = max(1, math.ceil(args.min_rep_s / max(t, 1e-7)))
    samples: dict[str, list[float]] = {m: [] for m in METHODS}
    t_cell = time.perf_counter()
    for _ in range(reps):
        for name in METHODS:
            fn = fns[name]
            if fn is None:
                continue
            n = inner[name]
            samples[name].append(
                timed(lambda fn=fn, n=n: [fn() for _ in range(n)], device, args.cpu_time) / n
            )
        # A loaded machine can make a cell take many times longer than planned: past its
        # budget a cell stops (after one repetition at least; see the "reps" column).
        if time.perf_counter() - t_cell > args.cell_budget_s:
            break
    reps = len(samples["fused"])
    if fns["jac"] is None:  # fallback: the difference of the two recordings
        samples["jac"] = [
            max(0.0, a - b) for a, b in zip(samples["rec+jac"], samples["rec"], strict=True)
        ]
    fused = samples["fused"]
    res = {
        "cell": cell,
        "hidden": hidden,
        "seq_len": seq_len,
        "batch": args.batch,
        "task": args.task,
        "reps": reps,
        "inner": inner,
        "samples_s": samples,
    }
    for name in METHODS:
        if not samples[name]:  # the items, where they do not fit their budget
            res[f"{name}_ms"] = res[f"{name}_ratio"] = math.nan
            continue
        res[f"{name}_ms"] = 1e3 * C.median(samples[name])
        if name != "fused":
            res[f"{name}_ratio"] = C.median(
                [a / b for a, b in zip(samples[name], fused, strict=True)]
            )
    return res


def profile(spec: str, args, device: str, top: int = 20) -> str:
    cell, hidden, seq_len = spec.split(",")
    cfg, task, model, batch = setup(cell, int(hidden), int(seq_len), args, device)
    record_trace(model, task, batch, jacobians=True)  # warm-up
    pr = cProfile.Profile()
    t0 = time.perf_counter()
    pr.enable()
    record_trace(model, task, batch, jacobians=True)
    C.sync(device)
    pr.disable()
    wall = time.perf_counter() - t0
    s = io.StringIO()
    stats = pstats.Stats(pr, stream=s)
    stats.sort_stats("tottime").print_stats(top)
    text = s.getvalue()
    return (
        f"cProfile of record_trace(jacobians=True), {spec}, B={args.batch}: {wall:.3f} s\n"
        + (text[text.find("   ncalls") :])
    )


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--task", default="sine", choices=tuple(TASKS))
    ap.add_argument("--batch", type=int, default=1, help="sequences recorded (probe batch)")
    ap.add_argument(
        "--cells",
        nargs="+",
        default=None,
        metavar="CELL,H,T",
        help="e.g. lstm,128,1000 (default: lstm, gru and rnn x H 64/128 x T 50/200/1000)",
    )
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--reps-long", type=int, default=None, help="repetitions for T >= long-from")
    ap.add_argument("--long-from", type=int, default=1000)
    ap.add_argument("--min-rep-s", type=float, default=None)
    ap.add_argument(
        "--cell-budget-s", type=float, default=None, help="stop a cell's repetitions past this"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="default: machine default")
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="time by this process's CPU time, not the wall clock (with --threads 1: steady "
        "on a busy machine)",
    )
    ap.add_argument("--profile", metavar="CELL,H,T", default=None, help="cProfile one recording")
    ap.add_argument("--full", action="store_true", help="more repetitions")
    ap.add_argument("--json", default=None, help=f"results file (default results/{NAME}.json)")
    args = ap.parse_args(argv)
    args.reps = args.reps or (11 if args.full else 5)
    args.reps_long = args.reps_long or (5 if args.full else 3)
    args.min_rep_s = args.min_rep_s or (0.1 if args.full else 0.03)
    args.cell_budget_s = args.cell_budget_s or (120.0 if args.full else 15.0)
    if args.cells is None:
        args.cells = [f"{c},{h},{t}" for c, h, t in DEFAULT_CELLS]
    return args


def fmt_ratio(x: float) -> str:
    if math.isnan(x):
        return "skipped"
    return f"{x:.2f}x" if x < 100 else f"{x:.0f}x"


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    env = C.environment(C.resolve_device(args.device), args.threads)
    C.print_header(
        f"bench_record: recording one batch (B={args.batch}, task {args.task}) vs one fused "
        f"forward+backward  ({args.reps} reps, {args.reps_long} for T >= {args.long_from}; "
        "median)",
        env,
    )
    t0 = time.perf_counter()
    rows = []
    for spec in args.cells:
        cell, h, t = spec.split(",")
        r = bench_cell(cell, int(h), int(t), args, env["device"])
        rows.append(r)
        print(
            f"  {cell:<5} H={h:<4} T={t:<5} fused {r['fused_ms']:.2f} ms | rec+jac "
            f"{fmt_ratio(r['rec+jac_ratio'])} | rec {fmt_ratio(r['rec_ratio'])} | explicit "
            f"{fmt_ratio(r['explicit_ratio'])}",
            flush=True,
        )
    print()
    print("milliseconds per call (median)")
    print(
        C.table(
            ["cell", "H", "T", "reps", "fused", "rec+jac", "rec", "jac", "items", "explicit"],
            [
                [r["cell"], r["hidden"], r["seq_len"], r["reps"]]
                + [f"{r[f'{m}_ms']:.2f}" for m in METHODS]
                for r in rows
            ],
        )
    )
    print()
    print("time relative to one fused forward+backward (median of paired ratios; targets: "
          f"rec+jac <= {TARGETS['rec+jac']:g}x, rec <= {TARGETS['rec']:g}x)")  # fmt: skip
    print(
        C.table(
            ["cell", "H", "T", "rec+jac", "rec", "jac", "items", "explicit", "rec+jac", "rec"],
            [
                [r["cell"], r["hidden"], r["seq_len"]]
                + [fmt_ratio(r[f"{m}_ratio"]) for m in METHODS[1:]]
                + ["ok" if r[f"{m}_ratio"] <= lim else "OVER" for m, lim in TARGETS.items()]
                for r in rows
            ],
        )
    )
    print(
        "rec+jac = record_trace(jacobians=True), rec = record_trace(jacobians=False), both "
        "without the itemized gradients; jac = the Jacobian-norm chain alone; items = the "
        "itemized gradients alone (skipped: over their budget); explicit = run_explicit loop "
        "+ autograd.grad."
    )
    load = C.load_average()
    if load is not None:
        print(f"load average (1 min) at end: {load:.2f}")
    prof = None
    if args.profile:
        prof = profile(args.profile, args, env["device"])
        print()
        print(prof)
    print(f"({time.perf_counter() - t0:.1f} s)")
    path = C.append_json(
        args.json,
        NAME,
        {"env": env, "settings": vars(args), "results": rows, "profile": prof},
    )
    print(f"results appended to {path}")
    return rows


if __name__ == "__main__":
    main()
