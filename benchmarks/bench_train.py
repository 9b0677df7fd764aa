"""Training throughput: rnnviz's `Trainer.train_step()` versus a plain PyTorch loop.

Both sides train the same LSTM (encoder -> torch.nn.LSTM -> nn.Linear head) from the same
initial weights, on the same batches (each side draws them with the task's own `sample` from
a generator with the same seed, as Trainer does), with the same optimiser (Adam, the same
learning rate) and the same clipping. The plain loop is what one would write by hand:

    batch = task.sample(B, gen).to(device)
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(...) / F.mse_loss(...)      # the task's loss, written directly
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, threshold)  # only with --clip norm
    opt.step()

It never reads a value back (no .item()), so it is the strictest baseline; Trainer.train_step
additionally computes the gradient norm before and after clipping, reads the loss and both
norms to the host, checks them for divergence, keeps a copy of the weights and appends a row
of history.

Measurement: warm-up steps on both sides first (their losses are compared step by step, a
check that both sides really compute the same thing), then repetitions interleaved A/B, B/A,
A/B, ... of `steps` steps each; the table shows the median steps/s of each side and the ratio
rnnviz / plain (target >= 0.8).

    .venv/bin/python benchmarks/bench_train.py                 # quick CPU run
    .venv/bin/python benchmarks/bench_train.py --full          # more and longer repetitions
    .venv/bin/python benchmarks/bench_train.py --device cuda --hidden 128 256 --seq-len 100
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

from rnnviz.core.config import Config  # noqa: E402
from rnnviz.core.train import Trainer  # noqa: E402

NAME = "bench_train"
TARGET = 0.8


class PlainModel(nn.Module):
    """The same network written directly; parameter names match RecurrentModel's."""

    def __init__(self, trainer: Trainer) -> None:
        super().__init__()
        cfg, task = trainer.config, trainer.task
        self.encoder_kind = cfg.resolved_encoder
        self.vocab = task.input_size
        if self.encoder_kind == "embedding":
            self.encoder = nn.Embedding(task.input_size, cfg.embed_dim)
        elif self.encoder_kind == "linear":
            self.encoder = nn.Linear(task.input_size, cfg.embed_dim)
        else:
            self.encoder = None
        cell_in = trainer.model.cell_input_size
        self.rnn = nn.LSTM(cell_in, cfg.hidden, num_layers=cfg.layers, batch_first=True)
        self.head = nn.Linear(cfg.hidden, task.output_size)
        self.load_state_dict(trainer.model.state_dict())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.encoder_kind == "onehot":
            x = F.one_hot(x, self.vocab).float()
        elif self.encoder is not None:
            x = self.encoder(x)
        out, _ = self.rnn(x)
        return self.head(out)


def plain_loss(kind: str, y_hat, y, mask):
    """The task's loss as one would write it by hand (masked only where the task masks)."""
    if kind == "classification":
        O = y_hat.shape[-1]
        if mask is None:
            return F.cross_entropy(y_hat.reshape(-1, O), y.reshape(-1))
        per = F.cross_entropy(y_hat.reshape(-1, O), y.reshape(-1), reduction="none")
        return (per * mask.reshape(-1)).sum() / mask.sum()
    if mask is None:
        return F.mse_loss(y_hat, y)
    return ((y_hat - y).pow(2).mean(-1) * mask).sum() / mask.sum()


class Plain:
    def __init__(self, trainer: Trainer) -> None:
        cfg = trainer.config
        self.cfg, self.task, self.device = cfg, trainer.task, trainer.device
        self.model = PlainModel(trainer).to(self.device)
        self.params = list(self.model.parameters())
        self.opt = torch.optim.Adam(self.params, lr=cfg.lr)
        self.gen = torch.Generator().manual_seed(cfg.seed)  # Trainer's data stream
        probe = self.task.sample(2, torch.Generator().manual_seed(0))
        self.full_mask = bool((probe.mask == 1).all())  # sine, charlm: loss at every step

    def step(self) -> torch.Tensor:
        cfg = self.cfg
        batch = self.task.sample(cfg.batch, self.gen).to(self.device)
        self.model.train()
        self.opt.zero_grad(set_to_none=True)
        y_hat = self.model(batch.x)
        loss = plain_loss(self.task.kind, y_hat, batch.y, None if self.full_mask else batch.mask)
        loss.backward()
        if cfg.clip == "norm":
            torch.nn.utils.clip_grad_norm_(self.params, cfg.clip_threshold)
        self.opt.step()
        return loss


def bench_cell(args, hidden: int, seq_len: int, clip: str, env: dict) -> dict:
    device = env["device"]
    cfg = Config(
        cell="lstm",
        task=args.task,
        hidden=hidden,
        seq_len=seq_len,
        batch=args.batch,
        optimizer="adam",
        lr=args.lr,
        clip=clip,
        clip_threshold=args.clip_threshold,
        seed=args.seed,
        device=device,
    )
    trainer = Trainer(cfg)
    plain = Plain(trainer)

    # Warm-up, and a check that both sides compute the same thing: step-by-step losses.
    plain_losses = [float(plain.step().detach()) for _ in range(args.warmup)]
    for _ in range(args.warmup):
        if not trainer.train_step():
            raise SystemExit(f"rnnviz diverged during warm-up: {trainer.message}")
    trainer_losses = list(trainer.history.view().loss[-args.warmup :])
    dloss = max(abs(a - b) for a, b in zip(plain_losses, trainer_losses, strict=True))

    # Steps per repetition: enough for about `rep_s` seconds of the slower side.
    probe_n = 2
    t = (
        max(
            C.time_call(lambda: [trainer.train_step() for _ in range(probe_n)], device),
            C.time_call(lambda: [plain.step() for _ in range(probe_n)], device),
        )
        / probe_n
    )
    steps = max(args.min_steps, math.ceil(args.rep_s / t))

    cap = 4 * args.rep_s  # a repetition slowed down by other processes stops early

    def timed(step_fn) -> float:
        """steps/s over up to `steps` steps (fewer if the repetition passes `cap`)."""
        C.sync(device)
        t0 = time.perf_counter()
        n = 0
        while n < steps:
            step_fn()
            n += 1
            if device == "cpu" and time.perf_counter() - t0 > cap:
                break
        C.sync(device)
        return n / (time.perf_counter() - t0)

    sps = {"rnnviz": [], "plain": []}
    sides = {"rnnviz": trainer.train_step, "plain": plain.step}
    clipped_before = int(trainer.history.view().clipped.sum())
    steps_before = len(trainer.history.view())
    t_cell = time.perf_counter()
    for rep in range(args.reps):
        order = ("rnnviz", "plain") if rep % 2 == 0 else ("plain", "rnnviz")
        for side in order:
            sps[side].append(timed(sides[side]))
        # Past its budget (a loaded machine) a cell stops after two pairs.
        if rep >= 1 and time.perf_counter() - t_cell > args.cell_budget_s:
            break
    if trainer.diverged:
        raise SystemExit(f"rnnviz diverged during the benchmark: {trainer.message}")
    hist = trainer.history.view()
    clip_rate = (int(hist.clipped.sum()) - clipped_before) / max(1, len(hist) - steps_before)
    r, p = C.median(sps["rnnviz"]), C.median(sps["plain"])
    # Each rnnviz repetition next to the plain one run just before or after it: under a
    # load that drifts (a shared machine) the median of these paired ratios is steadier
    # than the ratio of the two medians, and the ratio of the best repetitions is the
    # least disturbed by other processes.
    pair_ratios = [a / b for a, b in zip(sps["rnnviz"], sps["plain"], strict=True)]
    return {
        "cell": "lstm",
        "task": args.task,
        "hidden": hidden,
        "seq_len": seq_len,
        "batch": args.batch,
        "clip": clip,
        "clip_threshold": args.clip_threshold if clip == "norm" else None,
        "clip_rate": clip_rate,
        "steps_per_rep": steps,
        "reps": len(sps["rnnviz"]),
        "rnnviz_steps_per_s": r,
        "plain_steps_per_s": p,
        "ratio": C.median(pair_ratios),
        "ratio_of_medians": r / p,
        "ratio_best": max(sps["rnnviz"]) / max(sps["plain"]),
        "pair_ratio_min": min(pair_ratios),
        "pair_ratio_max": max(pair_ratios),
        "rnnviz_ms_per_step": 1e3 / r,
        "plain_ms_per_step": 1e3 / p,
        "overhead_ms_per_step": 1e3 / r - 1e3 / p,
        "warmup_max_abs_dloss": dloss,
        "rnnviz_samples": sps["rnnviz"],
        "plain_samples": sps["plain"],
    }


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--task", default="charlm", choices=("charlm", "sine", "copy", "adding"))
    ap.add_argument("--hidden", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--seq-len", type=int, nargs="+", default=[50, 100])
    ap.add_argument("--clip", nargs="+", default=["none", "norm"], choices=("none", "norm"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument(
        "--clip-threshold",
        type=float,
        default=0.1,
        help="low by default so that the clipped path (second norm, rescale) runs every step",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=None, help="interleaved repetitions per side")
    ap.add_argument("--rep-s", type=float, default=None, help="target seconds per repetition")
    ap.add_argument("--min-steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument(
        "--cell-budget-s", type=float, default=None, help="stop a cell after 2 pairs past this"
    )
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: machine default)"
    )
    ap.add_argument("--full", action="store_true", help="more and longer repetitions")
    ap.add_argument("--json", default=None, help=f"results file (default results/{NAME}.json)")
    args = ap.parse_args(argv)
    if args.reps is None:
        args.reps = 21 if args.full else 9
    if args.rep_s is None:
        args.rep_s = 0.5 if args.full else 0.12
    if args.cell_budget_s is None:
        args.cell_budget_s = 4 * args.reps * args.rep_s
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    env = C.environment(C.resolve_device(args.device), args.threads)
    C.print_header(
        f"bench_train: Trainer.train_step() vs plain torch loop  (lstm, task {args.task}, "
        f"batch {args.batch}, adam lr {args.lr}, clip-threshold {args.clip_threshold}; "
        f"{args.reps} interleaved reps of ~{args.rep_s:g}s per side, median)",
        env,
    )
    t0 = time.perf_counter()
    rows = []
    for hidden, seq_len, clip in itertools.product(args.hidden, args.seq_len, args.clip):
        rows.append(bench_cell(args, hidden, seq_len, clip, env))
        r = rows[-1]
        print(
            f"  H={hidden:<4} T={seq_len:<5} clip={clip:<5} "
            f"ratio {r['ratio']:.3f}  ({r['rnnviz_steps_per_s']:.1f} vs "
            f"{r['plain_steps_per_s']:.1f} steps/s)",
            flush=True,
        )
    print()
    print(
        C.table(
            [
                "H",
                "T",
                "clip",
                "reps",
                "rnnviz st/s",
                "plain st/s",
                "ratio",
                "best",
                "pairs min..max",
                "rnnviz ms",
                "plain ms",
                "overhead ms",
                "clipped",
                "warm-up |dloss|",
                "",
            ],
            [
                [
                    r["hidden"],
                    r["seq_len"],
                    r["clip"],
                    r["reps"],
                    f"{r['rnnviz_steps_per_s']:.1f}",
                    f"{r['plain_steps_per_s']:.1f}",
                    f"{r['ratio']:.3f}",
                    f"{r['ratio_best']:.3f}",
                    f"{r['pair_ratio_min']:.2f}..{r['pair_ratio_max']:.2f}",
                    f"{r['rnnviz_ms_per_step']:.2f}",
                    f"{r['plain_ms_per_step']:.2f}",
                    f"{r['overhead_ms_per_step']:+.3f}",
                    f"{100 * r['clip_rate']:.0f}%" if r["clip"] == "norm" else "-",
                    f"{r['warmup_max_abs_dloss']:.1e}",
                    "ok" if r["ratio"] >= TARGET else f"BELOW {TARGET}x",
                ]
                for r in rows
            ],
        )
    )
    print(
        "st/s = median steps/s; ratio = median over the interleaved repetition pairs of "
        f"rnnviz/plain steps/s (target >= {TARGET}); best = best rnnviz rep / best plain rep; "
        "ms = median ms per step; overhead = their difference; warm-up |dloss| = largest "
        f"loss difference between the sides over the first {args.warmup} steps (same "
        "weights, same data)."
    )
    load = C.load_average()
    if load is not None:
        print(f"load average (1 min) at end: {load:.2f}")
    elapsed = time.perf_counter() - t0
    print(f"({elapsed:.1f} s)")
    path = C.append_json(
        args.json,
        NAME,
        {"env": env, "settings": {k: v for k, v in vars(args).items()}, "results": rows},
    )
    print(f"results appended to {path}")
    return rows


if __name__ == "__main__":
    main()
