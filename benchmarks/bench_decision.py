"""Cost of a sentence's evidence over time and integrated-gradients attribution (issue 10),
relative to one fused forward+backward of the probe batch.

For each (cell, H, bidirectional) on the sentiment task: one model and the probe batch (the
app's size), timed round-robin (median of --reps repetitions, each method repeated until it
lasts --min-rep-s):

    fusedB   one fused forward+backward of the probe batch (packed, as training runs it)
    rec      record_words.record_padded(jacobians=False, connectivity=False) of the batch
    evid     evidence_over_time of sequence 0 (its T prefixes)
    ig       integrated_gradients of sequence 0 (points as the recorder chooses them)
    map      embedding_map.project of the vocabulary's embedding (what the panel computes)

    .venv/bin/python benchmarks/bench_decision.py    # LSTM, GRU; H 32, 128; one, two directions
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

from rnnviz.core.attribution import integrated_gradients
from rnnviz.core.config import Config
from rnnviz.core.embedding_map import project, symbol_vectors
from rnnviz.core.evidence import evidence_over_time
from rnnviz.core.model import build_model
from rnnviz.core.record_decision import attribution_steps
from rnnviz.core.record_words import record_padded
from rnnviz.core.tasks import make_task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timed  # noqa: E402


def measure(cell: str, hidden: int, bidirectional: bool, args) -> None:
    cfg = Config(task="sentiment", cell=cell, hidden=hidden, bidirectional=bidirectional,
                 device="cpu")  # fmt: skip
    task = make_task(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, task.input_size, task.output_size)
    batch = task.sample(cfg.probe_batch, torch.Generator().manual_seed(1))
    n = int((batch.x[0] != 0).sum())
    with torch.no_grad():
        x0 = model.encode(batch.x[0, :n])
    steps = attribution_steps(cfg, x0.shape[-1], n)
    ig = integrated_gradients(model, x0, max_steps=steps)

    def fused():
        model.zero_grad(set_to_none=True)
        task.loss(model(batch.x), batch.y, batch.mask).backward()

    def rec():
        record_padded(model, task, batch, jacobians=False, connectivity=False)

    vectors = symbol_vectors({"encoder.weight": model.encoder.weight.detach().numpy()},
                             task.input_size).vectors  # fmt: skip
    methods = {
        "fusedB": fused,
        "rec": rec,
        "evid": lambda: evidence_over_time(model, batch.x[:1]),
        "ig": lambda: integrated_gradients(model, x0, max_steps=steps),
        "map": lambda: project(vectors),
    }
    times = {k: [] for k in methods}
    for _ in range(args.reps):
        for k, fn in methods.items():
            times[k].append(timed(fn, args.min_rep_s))
    ms = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    f = ms["fusedB"]
    print(
        f"{cell:<5} {hidden:>4} {'bi' if bidirectional else 'uni':>4} {batch.x.shape[0]:>3} "
        f"{n:>3} {ig.steps:>4} {f:>8.2f} {ms['rec'] / f:>7.1f} {ms['evid'] / f:>7.2f} "
        f"{ms['ig'] / f:>7.2f} {ms['map'] / f:>7.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="lstm,gru")
    ap.add_argument("--hidden", default="32,128")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--min-rep-s", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s); times relative to fusedB")
    print("cell     H  dir   B   n  pts  fusedB ms  rec/f  evid/f    ig/f   map/f")
    for cell in args.cells.split(","):
        for hidden in map(int, args.hidden.split(",")):
            for bidirectional in (False, True):
                measure(cell, hidden, bidirectional, args)


if __name__ == "__main__":
    main()
