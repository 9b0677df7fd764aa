"""The bottleneck curve on demand: MeasureBottleneck makes a session measure every run's held-out
exact match by input length, one run a step, and hand the curves out in the snapshots."""

from __future__ import annotations

import pytest

from rnnviz.core.config import Config
from rnnviz.core.loop import session
from rnnviz.core.protocol import IDLE, MeasureBottleneck
from rnnviz.core.seq2seq.bottleneck import EXTRAS_KEY, bottleneck_curve
from rnnviz.core.train import Trainer

TINY = {"task": "reverse", "seq_len": 5, "hidden": 8, "batch": 8}


@pytest.fixture(scope="module")
def trainers():
    bare = Trainer(Config(**TINY, attention="none"))
    attended = Trainer(Config(**TINY, attention="dot"))
    for t in (bare, attended):
        for _ in range(20):
            t.train_step()
    return bare, attended


def test_measuring_answers_the_request_one_run_a_step_then_rests(trainers):
    bare, attended = trainers
    still = lambda: 0.0  # noqa: E731 (a clock that stands still: no snapshot falls due)
    steps = session(bare, label="none", companions=[("dot", attended)], clock=still)
    assert EXTRAS_KEY not in next(steps).extras  # only on demand
    first = steps.send(MeasureBottleneck(request=7)).extras[EXTRAS_KEY]
    assert (first.request, first.pending, [c.label for c in first.runs]) == (7, 1, ["none"])
    done = steps.send(None).extras[EXTRAS_KEY]
    assert done.done and [c.label for c in done.runs] == ["none", "dot"]
    for curve, trainer in zip(done.runs, trainers, strict=True):
        expected = bottleneck_curve(trainer.model, trainer.task)
        assert curve.lengths == tuple(s.length for s in expected) == (1, 2, 3, 4, 5)
        assert curve.exact == tuple(s.exact for s in expected)
        assert curve.step == 20 and curve.attention == trainer.config.attention
    assert steps.send(None) == IDLE  # nothing more to do: paused
    steps.close()


def test_a_model_without_a_decoder_is_not_measured():
    steps = session(Trainer(Config(task="sine", seq_len=10, hidden=4)))
    next(steps)
    assert EXTRAS_KEY not in steps.send(MeasureBottleneck()).extras
    steps.close()
