"""Cost of the connectivity C[t, s] = ‖∂ ln p_t(y_t)/∂x_s‖ of one sequence (issue 13), relative
to one fused forward+backward.

For each (cell, H, T) on the character LM: one model and one probe batch (B = 4, the app's),
timed three ways round-robin (median of --reps repetitions, each method repeated until it
lasts --min-rep-s):

    fused1   one fused forward+backward of sequence 0 alone (the reference of bench_record)
    fusedB   one fused forward+backward of the probe batch (B sequences)
    rec      record_trace(jacobians=False, connectivity=False) of the probe batch
    conn     connectivity.connectivity of sequence 0 alone

    .venv/bin/python benchmarks/bench_connectivity.py            # T = 50, 100, 200; H = 32, 128
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

from rnnviz.core.config import Config
from rnnviz.core.connectivity import connectivity_matrix, connectivity_work
from rnnviz.core.model import RecurrentModel
from rnnviz.core.record import record_trace
from rnnviz.core.tasks import make_task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--hidden", default="32,128")
    ap.add_argument("--seq-len", default="50,100,200")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--min-rep-s", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), device {args.device}")
    head = ("cell", "H", "T", "fused1 ms", "fusedB ms", "rec ms", "conn ms", "conn/fused1",
            "conn/fusedB", "conn/rec", "work")  # fmt: skip
    widths = (6, 4, 4, 10, 10, 8, 8, 12, 12, 9, 8)
    cols = [f"{h:>{w}}" for h, w in zip(head, widths, strict=True)]
    print(" ".join([f"{head[0]:<6}", *cols[1:]]))
    for cell in args.cells.split(","):
        for hidden in map(int, args.hidden.split(",")):
            for T in map(int, args.seq_len.split(",")):
                measure(cell, hidden, T, args)


def measure(cell: str, hidden: int, T: int, args) -> None:
    """Time the four methods on one model and probe batch and print a row."""
    cfg = Config(task="charlm", cell=cell, hidden=hidden, seq_len=T, device=args.device)
    task = make_task(cfg)
    torch.manual_seed(0)
    model = RecurrentModel(cfg, task.input_size, task.output_size, task.note_parts).to(args.device)
    model.eval()
    batch = task.sample(cfg.probe_batch, torch.Generator().manual_seed(1)).to(args.device)
    one = batch[0:1]
    with torch.no_grad():
        x0 = model.encode(one.x)[0]

    def fused(b=batch):
        model.zero_grad(set_to_none=True)
        task.loss(model(b.x), b.y, b.mask).backward()

    methods = {
        "fused1": lambda: fused(one),
        "fusedB": fused,
        "rec": lambda: record_trace(model, task, batch, jacobians=False, connectivity=False),
        "conn": lambda: connectivity_matrix(model, x0, one.y[0]),
    }
    for fn in methods.values():
        fn()  # warm-up
    times = {k: [] for k in methods}
    for _ in range(args.reps):
        for k, fn in methods.items():
            times[k].append(timed(fn, args.min_rep_s))
    ms = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    work = connectivity_work(cfg, model.cell_input_size, T)
    print(
        f"{cell:6} {hidden:>4} {T:>4} {ms['fused1']:>10.2f} {ms['fusedB']:>10.2f} "
        f"{ms['rec']:>8.2f} {ms['conn']:>8.2f} {ms['conn'] / ms['fused1']:>11.1f}x "
        f"{ms['conn'] / ms['fusedB']:>11.1f}x {ms['conn'] / ms['rec']:>8.1f}x {work:>8.2g}",
        flush=True,
    )


if __name__ == "__main__":
    main()
