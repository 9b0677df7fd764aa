"""Decoding step by step (core/seq2seq/steps.py): the tree's best hypothesis is beam search's
answer, the top-k along it are the softmax of the model's own logits, and a pinned attention
row is used exactly at its step and changes nothing before it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.core.config import Config
from rnnviz.core.seq2seq.decoded import TOP_K
from rnnviz.core.seq2seq.decoding import Pin, beam_search
from rnnviz.core.seq2seq.model import PAD
from rnnviz.core.seq2seq.steps import decode_steps
from rnnviz.core.train import Trainer


def trained(steps: int = 30, **overrides) -> Trainer:
    cfg = {"task": "reverse", "seq_len": 5, "hidden": 8, "batch": 16, "device": "cpu"}
    trainer = Trainer(Config(**{**cfg, **overrides}))
    for _ in range(steps):
        trainer.train_step()
    trainer.model.eval()
    return trainer


@pytest.fixture(scope="module")
def additive() -> Trainer:
    return trained(attention="additive")


def decoded(trainer: Trainer, width: int, pin: Pin | None = None):
    t = trainer
    steps = t.probe_batch.y.shape[1]
    vocabs = (t.task.input_vocab, t.task.output_vocab)
    return decode_steps(t.model, t.probe_batch.x, steps, width, *vocabs, pin)


@pytest.mark.parametrize(("attention", "width"), [("additive", 1), ("dot", 3), ("none", 5)])
def test_best_hypothesis_is_beam_searchs_answer_and_topk_the_models_softmax(attention, width):
    t = trained(attention=attention)
    x = t.probe_batch.x
    answers = decoded(t, width)
    expected = beam_search(t.model, x, t.probe_batch.y.shape[1], width)
    assert [list(d.ids) for d in answers] == expected.tolist()
    # the same prefixes under teacher forcing: one fused pass, another path through the model
    with torch.no_grad():
        p = t.model(x, expected).softmax(-1).numpy()  # (B, T, O)
    vocab = t.task.output_vocab
    for b, d in enumerate(answers):
        assert len(d.topk) == d.steps and d.tokens[-1] in ("<eos>", vocab[d.ids[-1]])
        for step, top in enumerate(d.topk):
            order = np.argsort(-p[b, step])[:TOP_K]
            assert [tok for tok, _ in top] == [vocab[i] for i in order]
            np.testing.assert_allclose([q for _, q in top], p[b, step, order], atol=1e-6)
        # the tree: the best nodes spell the best hypothesis, their log p is its log p
        best = sorted((n for n in d.nodes if n.best), key=lambda n: n.step)
        assert [n.token for n in best] == list(d.tokens)
        logp = np.log(p[b, np.arange(d.steps), list(d.ids[: d.steps])]).sum()
        assert best[-1].logp == pytest.approx(d.logp, abs=1e-6)
        assert d.logp == pytest.approx(logp, abs=1e-4)
        for n in d.nodes:
            assert n.parent < 0 if n.step == 0 else d.nodes[n.parent].step < n.step
        for step in range(d.steps):
            assert 1 <= sum(n.kept for n in d.nodes if n.step == step) <= width
        if attention == "none":
            assert d.attn is None
        else:
            assert np.allclose(np.sum(d.attn, 1), 1.0, atol=1e-6)
            assert len(d.attn[0]) == len(d.inputs) == int((x[b] != PAD).sum())


def test_a_wider_beam_keeps_dropped_candidates_in_the_tree(additive):
    d = decoded(additive, 3)[0]
    assert any(not n.kept for n in d.nodes) and sum(n.kept for n in d.nodes if n.step == 1) == 3


@pytest.mark.parametrize("width", [1, 2])
def test_a_pinned_row_is_used_exactly_and_the_steps_before_are_unchanged(width, additive):
    t = additive
    x = t.probe_batch.x[:1]  # (1, N)
    real = np.flatnonzero(x[0].numpy() != PAD)
    row = torch.zeros(1, x.shape[1])
    row[0, real[0]], row[0, real[-1]] = 0.25, 0.75  # both exact in float32
    steps, at = t.probe_batch.y.shape[1], 1
    vocabs = (t.task.input_vocab, t.task.output_vocab)
    free = decode_steps(t.model, x, steps, width, *vocabs)[0]
    pinned = decode_steps(t.model, x, steps, width, *vocabs, Pin(at, row))[0]
    assert pinned.pinned == at and pinned.attn[at] == tuple(row[0, real].tolist())
    assert pinned.ids[:at] == free.ids[:at] and pinned.topk[:at] == free.topk[:at]
    assert pinned.attn[:at] == free.attn[:at]
    # step `at` by hand: the decoder state after the pinned hypothesis' prefix, read out
    # with the pinned context c = row · h
    m = t.model
    with torch.no_grad():
        h, state, _ = m.start(x)
        inputs = torch.tensor([[m.bos, *pinned.ids[:at]]])  # <bos>, then the prefix
        s, _ = m.dec_rnn(m.dec_embed(inputs), state)  # (1, at + 1, H)
        logits = m.head(torch.cat([s[:, at], row @ h[0]], -1))  # (1, O)
        p = logits.softmax(-1)[0].numpy()
    order = np.argsort(-p)[:TOP_K]
    np.testing.assert_allclose([q for _, q in pinned.topk[at]], p[order], atol=1e-6)
    assert beam_search(m, x, steps, width, Pin(at, row))[0].tolist() == list(pinned.ids)
