"""Integrated gradients (completeness, against a direct computation) and the evidence and
attribution a sentiment trace carries through the NPZ and the stream."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from rnnviz.core.attribution import COMPLETENESS, integrated_gradients, log_odds
from rnnviz.core.config import Config
from rnnviz.core.evidence import evidence_over_time
from rnnviz.core.model import build_model, run_explicit
from rnnviz.core.record_decision import decision_skip_reasons
from rnnviz.core.stream import SnapshotDecoder, SnapshotEncoder
from rnnviz.core.tasks import make_task
from rnnviz.core.trace import Trace
from rnnviz.core.train import Trainer


def sentence_model(**kw):
    cfg = Config(task="sentiment", hidden=6, embed_dim=4, device="cpu", **kw)
    task = make_task(cfg)
    torch.manual_seed(1)
    model = build_model(cfg, task.input_size, task.output_size)
    with torch.no_grad():  # larger weights than at initialisation: a far-from-linear f
        for p in model.parameters():
            p.mul_(3.0)
    x_raw = task.sample(1, torch.Generator().manual_seed(4)).x[0]
    n = int((x_raw != 0).sum())
    return model, model.encode(x_raw[:n]).detach()  # (n, I)


@pytest.mark.parametrize(
    "kw",
    [
        {"cell": "lstm"},
        {"cell": "gru"},
        {"cell": "lstm", "bidirectional": True},
        {"cell": "gru", "bidirectional": True, "layers": 2},
        {"cell": "bow"},
    ],
    ids=["lstm", "gru", "bidirectional-lstm", "bidirectional-gru-2", "bow"],
)
def test_the_attributions_add_up_to_the_change_of_the_decision(kw):
    model, x = sentence_model(**kw)
    ig = integrated_gradients(model, x)
    delta = ig.f_input - ig.f_baseline
    assert abs(delta) > 0.01  # a decision that moved: the test is not 0 ≈ 0
    assert abs(ig.values.sum() - delta) <= COMPLETENESS * abs(delta)
    with torch.no_grad():  # f(x) is the model's own answer at the last word
        z = model(model_input(model, x))[0, -1].double()
    assert ig.target == int(z.argmax())
    assert ig.f_input == pytest.approx(float(log_odds(z, ig.target)), rel=1e-5)


def model_input(model, x):
    """The word ids whose encoding is x (n, I)."""
    w = model.encoder.weight  # (V, I)
    return torch.cdist(x, w).argmin(-1)[None]  # (1, n)


def test_a_bag_of_words_attribution_is_its_closed_form():
    """f = (w_c − w_other)·mean(x) + b: linear, so A_s = (w_c − w_other)·x_s / n exactly."""
    model, x = sentence_model(cell="bow")
    ig = integrated_gradients(model, x)
    w = model.head.weight.detach().double()
    c = ig.target
    direct = (x.double() @ (w[c] - w[1 - c])) / len(x)
    np.testing.assert_allclose(ig.values, direct.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_attribution_equals_a_fine_riemann_sum_through_the_textbook_loop(bidirectional):
    """Against the definition, directly: 2000 midpoints of the straight path, each gradient by
    autograd through run_explicit (the per-timestep loop) in float64."""
    model, x = sentence_model(cell="lstm", bidirectional=bidirectional)
    ig = integrated_gradients(model, x)
    m = 2000
    alpha = (torch.arange(m, dtype=torch.float64) + 0.5) / m
    path = (alpha[:, None, None] * x.double()).requires_grad_(True)  # (m, n, I)
    rnn = model.rnn.double()
    head = model.head.double()
    out, _, _ = run_explicit(rnn, path)
    f = log_odds(head(out[:, -1]), ig.target)
    (grad,) = torch.autograd.grad(f.sum(), path)
    direct = (x.double() * grad.mean(0)).sum(-1)
    direct = direct.detach().numpy()  # each word within 0.2% of the largest
    np.testing.assert_allclose(ig.values, direct, rtol=0, atol=2e-3 * np.abs(direct).max())


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_recorded_evidence_is_what_each_prefix_alone_gives(bidirectional):
    """A forward model's evidence is read from its recorded outputs, a bidirectional one's
    from its prefixes run alone (its reverse direction has read the words after t): both
    equal the prefixes' own answers."""
    cfg = Config(task="sentiment", hidden=6, embed_dim=4, bidirectional=bidirectional)
    trainer = Trainer(cfg.replace(device="cpu"))
    trainer.train_step()
    trace = trainer.record(jacobians=False)
    expected = evidence_over_time(trainer.model, trainer.probe_batch.x[:1])[0]  # (T, O)
    np.testing.assert_allclose(trace.evidence, expected, rtol=1e-5, atol=1e-7)


def test_a_sentiment_trace_carries_evidence_and_attribution(tmp_path):
    trainer = Trainer(Config(task="sentiment", hidden=8, embed_dim=4, batch=4, device="cpu"))
    trace = trainer.record(jacobians=False)
    x_raw = trainer.probe_batch.x
    n = int(trace.input_mask[0].sum())
    expected = evidence_over_time(trainer.model, x_raw)[0]  # (T, O)
    np.testing.assert_allclose(trace.evidence, expected, rtol=1e-6)
    ig = integrated_gradients(trainer.model, trainer.model.encode(x_raw[0, :n]).detach())
    np.testing.assert_allclose(trace.attribution[:n], ig.values, rtol=1e-6)
    assert np.isnan(trace.attribution[n:]).all() and np.isnan(trace.evidence[n:]).all()
    target = trace.meta["attribution_target"]
    assert target["class"] == ig.target and target["steps"] == ig.steps
    assert trace.meta["attribution"].startswith("integrated gradients")
    assert trace.meta["evidence"].startswith("computed")
    trace.save_npz(tmp_path / "t.npz")
    back = Trace.load_npz(tmp_path / "t.npz")
    np.testing.assert_array_equal(back.attribution, trace.attribution)
    np.testing.assert_array_equal(back.evidence, trace.evidence)
    assert back.meta["attribution_target"] == target
    snap = trainer.snapshot(state="paused", trace=trace, steps_per_s=0.0)
    sent = SnapshotDecoder().decode(pickle.loads(pickle.dumps(SnapshotEncoder().encode(snap))))
    assert not sent.trace.attribution.flags.writeable and not sent.trace.evidence.flags.writeable
    np.testing.assert_array_equal(sent.trace.evidence, trace.evidence)


def test_other_tasks_and_long_sentences_say_why_there_is_none():
    tagging = Trainer(Config(task="tagging", hidden=6, batch=2, device="cpu")).record(
        jacobians=False
    )
    assert tagging.evidence is None and tagging.attribution is None
    assert (
        "many-to-one" in tagging.meta["evidence"] and "many-to-one" in tagging.meta["attribution"]
    )
    assert "evidence" not in tagging.to_arrays()
    cfg = Config(task="sentiment", hidden=512, layers=3, device="cpu")
    task = make_task(cfg.replace(hidden=8))
    evidence, attribution = decision_skip_reasons(cfg, task, 16, 400)
    assert "over the recording budget" in evidence and "over the recording budget" in attribution
    assert decision_skip_reasons(cfg, task, 16, 5) == (None, None)
