"""The decoding panel shows, at the decoder step under the cursor, the top-5 next tokens with
the probabilities the model gives them, and the beam search tree whose best hypothesis is
beam search's answer; it says why it is empty for a single stack."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from rnnviz.core.config import Config
from rnnviz.core.seq2seq.decoding import beam_search
from rnnviz.core.seq2seq.live import DecodingWatch
from rnnviz.core.train import Trainer
from rnnviz.qt import theme
from rnnviz.qt.panels.seq2seq.decoding import NOT_SEQ2SEQ, DecodingPanel


@pytest.fixture
def seq2seq_snapshot():
    """seq2seq_snapshot(**config) -> (trainer, a Snapshot with the session's decoding extras)."""

    def make(**overrides):
        cfg = {"task": "reverse", "seq_len": 5, "hidden": 8, "batch": 16, "device": "cpu"}
        trainer = Trainer(Config(**{**cfg, **overrides}))
        for _ in range(20):
            trainer.train_step()
        trace = trainer.record()
        extras = DecodingWatch(trainer).extras(trace, 0.0)
        return trainer, trainer.snapshot(state="paused", trace=trace, steps_per_s=0, extras=extras)

    return make


def bar_tokens(panel) -> list[str]:
    return [label for _, label in panel.topk.plot.getAxis("left")._tickLevels[0]]


def test_topk_are_the_models_softmax_and_the_tree_best_is_beam_search(
    seq2seq_snapshot, show_panel, tmp_path
):
    trainer, snap = seq2seq_snapshot(beam=3, attention="additive")
    panel = show_panel(DecodingPanel, snap, size=(1100, 550), t=1)
    panel.sequence.setCurrentIndex(2)
    x, steps = trainer.probe_batch.x, trainer.probe_batch.y.shape[1]
    best = beam_search(trainer.model, x, steps, 3)  # (B, T)
    assert list(panel.decoded.ids) == best[2].tolist()
    with torch.no_grad():
        p = trainer.model(x, best).softmax(-1)[2, 1].numpy()  # step 1 of sequence 2
    vocab = trainer.task.output_vocab
    order = np.argsort(-p)[:5]
    np.testing.assert_allclose(panel.topk.p, p[order], atol=1e-6)
    assert bar_tokens(panel) == [vocab[i].replace("<", "⟨").replace(">", "⟩") for i in order]
    colours = panel.topk.bars.opts["brushes"]  # the chosen token's bar is blue
    assert colours[[vocab[i] for i in order].index(vocab[best[2, 1]])] == theme.BLUE
    # the thick path joins the best hypothesis' nodes, one segment a step after the first
    d = panel.decoded
    xs, _ = panel.tree.best_edges.getData()
    assert len(xs) == 2 * (d.steps - 1) and panel.tree.cursor.value() == 1
    assert "beam search, width K = 3" in panel.tree.plot.titleLabel.text
    panel.cursor.set(4)
    assert panel.tree.cursor.value() == min(4, d.steps - 1)
    topk_csv, tree_csv = panel.export_data(tmp_path / "decoding.csv")
    rows = list(csv.DictReader(tree_csv.open(encoding="utf-8")))
    assert [r["token"] for r in rows if r["best"] == "1"] == list(d.tokens)
    topk = list(csv.DictReader(topk_csv.open(encoding="utf-8")))
    assert float(topk[1][f"p '{vocab[order[0]]}'"]) == pytest.approx(p[order[0]], abs=1e-6)


def test_greedy_exports_and_a_single_stack_says_why_it_is_empty(
    seq2seq_snapshot, show_panel, make_snapshot, tmp_path
):
    _, snap = seq2seq_snapshot(beam=1, attention="none")
    panel = show_panel(DecodingPanel, snap, size=(1000, 500))
    assert "greedy decoding" in panel.tree.plot.titleLabel.text
    assert sum(n.kept for n in panel.decoded.nodes if n.step == 0) == 1
    assert panel.export(tmp_path / "decoding.png").stat().st_size > 1000
    svg = panel.export(tmp_path / "decoding.svg").read_text(encoding="utf-8")
    assert svg.count("<path") > len(panel.decoded.nodes)  # the nodes, as shapes
    assert svg.count("<image") <= 1, "a node drawn as an embedded picture"
    panel.set_snapshot(make_snapshot(task="copy", seq_len=6, steps=1))
    assert panel.refresh()
    assert panel.note.isVisible() and panel.note.text() == NOT_SEQ2SEQ
