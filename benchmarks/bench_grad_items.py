"""Cost of the itemized gradients dL_j/dh_t of one sequence (issue 13, core/grad_items.py),
relative to one fused forward+backward.

For each (cell, H, T) on the character LM (a loss at every step: T_loss = T, the most work)
and the adding problem (many-to-one: T_loss = 1): one model and one probe batch (B = 4, the
app's), timed round-robin (median of --reps repetitions, each repeated for --min-rep-s):

    fused1   one fused forward+backward of sequence 0 alone
    fusedB   one fused forward+backward of the probe batch (B sequences)
    rec      record_trace(jacobians=False, connectivity=False, grad_items=False)
    items    grad_items.grad_items of sequence 0

    .venv/bin/python benchmarks/bench_grad_items.py            # T = 50, 100, 200; H = 32, 128
"""

from __future__ import annotations

import os

# numpy's OpenBLAS on one thread, before numpy loads, as in the app (see bench_record.py): the
# items' recursion is many small products, which its spinning threads slow down 20-100x here
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from rnnviz.core.cells import CELLS  # noqa: E402
from rnnviz.core.config import Config  # noqa: E402
from rnnviz.core.grad_items import grad_items, grad_items_work, loss_steps  # noqa: E402
from rnnviz.core.model import RecurrentModel  # noqa: E402
from rnnviz.core.record import record_explicit, record_fused, record_trace  # noqa: E402
from rnnviz.core.tasks import make_task  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_connectivity import timed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="charlm,adding")
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--hidden", default="32,128")
    ap.add_argument("--seq-len", default="50,100,200")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--min-rep-s", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    print("task   cell      H    T  fused1 ms  fusedB ms   rec ms items ms  items/fused1 "
          "items/fusedB items/rec     work")  # fmt: skip
    for task in args.tasks.split(","):
        for cell in args.cells.split(","):
            for hidden in map(int, args.hidden.split(",")):
                for T in map(int, args.seq_len.split(",")):
                    measure(task, cell, hidden, T, args)


def measure(task_name: str, cell: str, hidden: int, T: int, args) -> None:
    cfg = Config(task=task_name, cell=cell, hidden=hidden, seq_len=T, device="cpu")
    task = make_task(cfg)
    torch.manual_seed(0)
    model = RecurrentModel(cfg, task.input_size, task.output_size, task.note_parts)
    model.eval()
    batch = task.sample(cfg.probe_batch, torch.Generator().manual_seed(1))
    one = batch[0:1]
    past = model.past_of(batch.x)  # a melody model's lookback and cache, else None
    with torch.no_grad():
        x = model.encode(batch.x, past=past)
    record = record_fused if CELLS[cfg.cell].fused else record_explicit
    y_hat, _, layers = record(model, task, batch, x, past)  # the layers the items start from

    def fused(b=batch):
        model.zero_grad(set_to_none=True)
        task.loss(model(b.x), b.y, b.mask).backward()

    methods = {
        "fused1": lambda: fused(one),
        "fusedB": fused,
        "rec": lambda: record_trace(
            model, task, batch, jacobians=False, connectivity=False, grad_items=False
        ),
        "items": lambda: grad_items(
            model, task, batch, y_hat, layers, None if past is None else past.select(0)
        ),
    }
    for fn in methods.values():
        fn()  # warm-up
    times = {k: [] for k in methods}
    for _ in range(args.reps):
        for k, fn in methods.items():
            times[k].append(timed(fn, args.min_rep_s))
    ms = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    work = grad_items_work(cfg, x.shape[-1], loss_steps(batch.mask).tolist(), T)
    print(
        f"{task_name:6} {cell:6} {hidden:>4} {T:>4} {ms['fused1']:>10.2f} {ms['fusedB']:>10.2f} "
        f"{ms['rec']:>8.2f} {ms['items']:>8.2f} {ms['items'] / ms['fused1']:>12.1f}x "
        f"{ms['items'] / ms['fusedB']:>11.1f}x {ms['items'] / ms['rec']:>8.1f}x {work:>8.2g}",
        flush=True,
    )


if __name__ == "__main__":
    main()
