"""What the music task's held-out melodies allow: the NLL per note that count-based models
reach on the same split and the same scored symbols as `rnnviz train --task music --report`
(every held-out tune from its start, its notes and its closing "|"), beside the report's
baseline, the unigram of the training notes as written (add-1/2 over the W symbols the melodies
use as written). Every count model below smooths over those W symbols too.

    unigram, held-out's own   the entropy of the held-out symbols' frequencies: a unigram
                              fitted on the very notes it scores (no model can know them)
    unigram, 12 keys          fitted on the training tunes in all 12 keys (smoothed over the
                              model's vocabulary of every key and tempo)
    trigram                   1-, 2- and 3-gram of the training tunes as written, interpolated
    trigram + tune cache      the same, mixed with a trigram and a unigram of the tune's own
                              notes so far (tunes repeat their phrases)

The mixture weights were chosen on the held-out tunes themselves, so the last two rows are
optimistic: what such a model could reach at best. Python counting only; a second to run.

    .venv/bin/python benchmarks/bench_music_ceiling.py [--data FILE] [--json FILE]
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from collections.abc import Sequence

from _common import append_json, environment, print_header, table

from rnnviz.core.notation import bundled_melodies, read_melodies
from rnnviz.core.tasks.music import TRANSPOSE, MusicTask

NGRAM_WEIGHTS = (0.15, 0.45, 0.4)  # unigram, bigram, trigram of the training tunes
NGRAM_K = 0.01  # add-k inside each order; the interpolation does the smoothing
CACHE_WEIGHTS = (0.6, 0.2)  # the tune's own trigram and unigram, once they have counts

Tune = list[int]  # symbol ids: "|" notes "|"


def counts(tunes: Sequence[Tune], n: int) -> tuple[Counter, Counter]:
    """(context, symbol) and context counts of order n over every symbol after the first."""
    joint, ctx = Counter(), Counter()
    for s in tunes:
        for i in range(1, len(s)):
            h = tuple(s[max(0, i - n + 1) : i])
            joint[h, s[i]] += 1
            ctx[h] += 1
    return joint, ctx


def nll(tunes: Sequence[Tune], prob) -> float:
    """Mean -log prob(history, symbol) over every symbol after each tune's first."""
    logs = [-math.log(prob(s[:i], s[i])) for s in tunes for i in range(1, len(s))]
    return sum(logs) / len(logs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="melodies in the notation (default: the bundled ones)")
    ap.add_argument("--json", help="append results here (default: benchmarks/results/)")
    args = ap.parse_args()
    env = environment("cpu")
    print_header("music: held-out NLL of count-based models", env)
    task = MusicTask(2, read_melodies(args.data) if args.data else bundled_melodies())
    W = task.written_size  # the symbols the melodies use as written, and "|"
    train = [task._stream([m]).tolist() for m in task.train_melodies]
    held = [task._stream([m]).tolist() for m in task.heldout_melodies]
    keys = [[int(task.shift[k, i]) for i in s] for k in range(len(TRANSPOSE)) for s in train]
    tables = [counts(train, n) for n in (1, 2, 3)]

    def unigram(tunes: Sequence[Tune], k: float, vocab: int = W):
        joint, ctx = counts(tunes, 1)
        return lambda h, w: (joint[(), w] + k) / (ctx[()] + k * vocab)

    def trigram(h: Tune, w: int) -> float:
        return sum(
            lam
            * (joint[tuple(h[len(h) - n + 1 :]) if n > 1 else (), w] + NGRAM_K)
            / (ctx[tuple(h[len(h) - n + 1 :]) if n > 1 else ()] + NGRAM_K * W)
            for n, lam, (joint, ctx) in zip((1, 2, 3), NGRAM_WEIGHTS, tables, strict=True)
        )

    def cached(h: Tune, w: int) -> float:
        joint, ctx = counts([h], 3)  # the tune so far
        c, past = tuple(h[-2:]), h[1:]
        a = CACHE_WEIGHTS[0] if ctx[c] else 0.0
        b = CACHE_WEIGHTS[1] if past else 0.0
        tri = joint[c, w] / ctx[c] if ctx[c] else 0.0
        uni = past.count(w) / len(past) if past else 0.0
        return (1 - a - b) * trigram(h, w) + a * tri + b * uni

    base = task.heldout_baseline(task.heldout())
    assert math.isclose(base, nll(held, unigram(train, 0.5)))  # the report's, recounted here
    own = Counter(w for s in held for w in s[1:])
    total = sum(own.values())
    rows = [
        ("unigram, held-out's own", sum(-c / total * math.log(c / total) for c in own.values())),
        ("unigram, add-1/2 (the report's baseline)", base),
        ("unigram, 12 keys, add-1/2", nll(held, unigram(keys, 0.5, len(task.notes)))),
        ("trigram", nll(held, trigram)),
        ("trigram + tune cache", nll(held, cached)),
    ]
    print(
        f"{len(train)} training tunes ({sum(len(s) - 1 for s in train)} symbols), "
        f"{len(held)} held-out ({total} scored symbols), {W} symbols as written, "
        f"vocabulary {len(task.notes)}\n"
    )
    print(
        table(
            ["model", "NLL/note", "x baseline"],
            [(n, f"{v:.3f}", f"{v / base:.2f}") for n, v in rows],
        )
    )
    append_json(args.json, "music_ceiling", {"env": env, "data": args.data, "nll": dict(rows)})


if __name__ == "__main__":
    main()
