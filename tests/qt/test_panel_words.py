"""The word panels: evidence over time against the words, the attribution strip coloured on one
diverging scale, the vocabulary's PCA map with cosine neighbours on hover; each for a
comparison's runs, and each saying why where it has nothing to show."""

from __future__ import annotations

import dataclasses
import warnings
from types import MappingProxyType

import numpy as np
import pytest
from axis_specs import draw_specs  # tests/qt is on sys.path
from PySide6.QtCore import QPointF

from rnnviz.core.config import Config
from rnnviz.core.embedding_map import nearest, project, symbol_vectors
from rnnviz.core.protocol import RunView
from rnnviz.core.train import Trainer
from rnnviz.qt.panels.words.attribution import AttributionPanel
from rnnviz.qt.panels.words.embedding import NO_VOCABULARY, EmbeddingPanel, symbol_labels
from rnnviz.qt.panels.words.evidence import EvidencePanel


def trained(steps: int = 3, **kw) -> Trainer:
    cfg = Config(**{"task": "sentiment", "hidden": 8, "embed_dim": 4, "batch": 4, **kw})
    trainer = Trainer(cfg.replace(device="cpu"))
    for _ in range(steps):
        trainer.train_step()
    return trainer


def snap(trainer: Trainer):
    return trainer.snapshot(state="paused", trace=trainer.record(jacobians=False), steps_per_s=0)


@pytest.fixture(scope="module")
def sentiment():
    return snap(trained())


@pytest.fixture(scope="module")
def comparison(sentiment):
    """The LSTM against the bag of words, the bag's attribution skipped."""
    bow = snap(trained(cell="bow")).trace
    meta = MappingProxyType({**bow.meta, "attribution": "skipped: over the budget"})
    unexplained = dataclasses.replace(bow, attribution=None, meta=meta)
    runs = tuple(
        RunView(label, 3, False, sentiment.history, tr)
        for label, tr in (("LSTM", sentiment.trace), ("bag of words", unexplained))
    )
    return dataclasses.replace(sentiment, runs=runs), bow


def words_of(trace) -> list[str]:
    return [str(w) for w in trace.tokens[0, : int(trace.input_mask[0].sum())]]


def test_evidence_is_drawn_against_the_words(sentiment, show_panel):
    trace = sentiment.trace
    words = words_of(trace)
    panel = show_panel(EvidencePanel, sentiment, t=2)
    (curve, *_) = panel.curves
    x, y = curve.getData()
    pos = trace.meta["output_vocab"].index("positive")
    np.testing.assert_array_equal(y, trace.evidence[: len(words), pos])
    np.testing.assert_array_equal(x, np.arange(len(words)))
    ticks = panel.plot.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == words
    assert "P('positive')" in panel.plot.titleLabel.text
    assert panel.readout.text() == (
        f"after t = 2 '{words[2]}': P('positive') = {trace.evidence[2, pos]:.2f}"
    )


def test_evidence_leaves_out_the_answers_a_diverged_run_lost_and_says_how_many(
    sentiment, show_panel
):
    trace = sentiment.trace
    evidence = np.array(trace.evidence)
    evidence[1:3] = np.nan
    snapshot = dataclasses.replace(sentiment, trace=dataclasses.replace(trace, evidence=evidence))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        panel = show_panel(EvidencePanel, snapshot, t=2)
        panel.grab()
    assert not [str(w.message) for w in caught if w.category is RuntimeWarning]
    (curve, *_) = panel.curves
    x, y = curve.getData()
    np.testing.assert_array_equal(x, np.arange(len(words_of(trace))))  # a gap, not a bridge
    assert np.isnan(y[1:3]).all() and np.isfinite(y[3:]).all()
    assert "(2 not finite: not drawn)" in panel.plot.titleLabel.text
    assert panel.readout.text().endswith("= nan")  # the true value at the cursor


def test_evidence_lays_its_axes_out_again_only_when_the_words_change(show_panel, monkeypatch):
    trainer = trained()
    panel = show_panel(EvidencePanel, snap(trainer))
    laid_out = []
    axis = panel.plot.getAxis("bottom")
    monkeypatch.setattr(axis, "setTicks", lambda ticks: laid_out.append(ticks))
    trainer.train_step()
    later = snap(trainer)  # the same probe sentence, new probabilities
    panel.set_snapshot(later)
    assert panel.refresh(force=True)
    n = len(words_of(later.trace))
    drawn = panel.curves[0].getData()[1]
    np.testing.assert_array_equal(drawn, later.trace.evidence[:n, panel.shown])
    assert laid_out == []  # redrawing the axes cost 2/3 of a refresh (8 of 12 ms)


def test_evidence_of_a_comparison_is_one_curve_a_run(comparison, show_panel):
    snapshot, bow = comparison
    panel = show_panel(EvidencePanel, snapshot, t=1)
    drawn = [c for c in panel.curves if c.isVisible()]
    assert len(drawn) == 2
    np.testing.assert_array_equal(
        drawn[1].getData()[1], bow.evidence[: len(drawn[1].getData()[1]), 1]
    )
    assert "LSTM" in panel.readout.text() and "bag of words" in panel.readout.text()
    assert panel.legend.isVisible()
    named = [label.text for _, label in panel.legend.items]
    assert named == ["LSTM", "bag of words"]
    panel.set_snapshot(dataclasses.replace(snapshot, runs=()))  # one run: no legend
    assert panel.refresh(force=True)
    assert not panel.legend.isVisible() and panel.legend.items == []
    panel.set_snapshot(snapshot)  # the comparison again: the legend built again
    assert panel.refresh(force=True)
    assert [label.text for _, label in panel.legend.items] == named


def test_evidence_says_why_a_task_has_none(make_snapshot, show_panel):
    panel = show_panel(EvidencePanel, make_snapshot(task="tagging", hidden=6, steps=1))
    assert panel.note.isVisible() and not panel.view.isVisible()
    assert "many-to-one" in panel.note.text()


def test_each_word_is_coloured_by_its_attribution(comparison, show_panel):
    snapshot, _ = comparison
    trace = snapshot.runs[0].trace
    panel = show_panel(AttributionPanel, snapshot, t=1)
    words = words_of(trace)
    target = trace.meta["attribution_target"]
    sign = 1.0 if target["class"] == 1 else -1.0  # coloured towards 'positive' always
    values = sign * trace.attribution[: len(words)]
    assert panel.scale == pytest.approx(np.abs(values).max())
    grid = panel.grids[0]
    assert list(grid.texts[0]) == words
    assert list(grid.texts[1]) == [f"{v:+.2f}" for v in values]
    assert list(grid.fills[0]) == [panel.fill_of(v) for v in values]
    top = int(np.argmax(values))
    assert panel.fill_of(values[top]).blue() > panel.fill_of(values[top]).red()  # blue: for
    assert "towards 'positive'" in panel.heading.text()
    assert "towards 'negative'" in panel.heading.text()
    delta = target["f_input"] - target["f_baseline"]
    assert f"f(x) − f(x′) = {delta:.3g}" in panel.titles[0].text()
    assert "skipped: over the budget" in panel.titles[1].text()  # the bag's, said
    assert list(panel.grids[1].texts[0]) == words and grid.marked == 1
    panel._hover(top)
    assert panel.hover_label.text().startswith(f"'{words[top]}' towards 'positive': LSTM: ")


def test_the_embedding_map_is_the_pca_of_the_vectors(sentiment, show_panel):
    trace = sentiment.trace
    panel = show_panel(EmbeddingPanel, sentiment)
    vectors = symbol_vectors(trace.params, len(trace.meta["input_vocab"])).vectors
    p = project(vectors)
    x, y = panel.points.getData()
    keep = np.isfinite(p.points[:, 0])
    np.testing.assert_allclose(np.abs(x), np.abs(p.points[keep, 0]))
    np.testing.assert_allclose(np.abs(y), np.abs(p.points[keep, 1]))
    assert panel.plot.getAxis("bottom").labelText == (
        f"axis 1 ({p.explained[0]:.0%} of the variance)"
    )
    assert "learned embedding" in panel.plot.titleLabel.text
    shown = panel.labels.texts
    assert "<pad>" not in trace.meta["input_vocab"][1:] and len(shown) == keep.sum()
    v = 5
    point = panel.plot.vb.mapViewToScene(QPointF(*panel.projection.points[v]))
    assert panel.hovered_symbol(point) == v
    panel._hover(point)
    near = nearest(vectors, v, 5)
    vocab = trace.meta["input_vocab"]
    assert panel.hover_label.text() == f"'{vocab[v]}': nearest by cosine " + ", ".join(
        f"'{vocab[j]}' {c:.2f}" for j, c in near
    )
    assert len(panel.rings.getData()[0]) == len(near)


def test_the_map_moves_live_without_flipping(show_panel):
    trainer = trained(steps=1, embed_dim=6)
    panel = show_panel(EmbeddingPanel, snap(trainer))
    before = panel.projection
    for _ in range(3):
        trainer.train_step()
    panel.set_snapshot(snap(trainer))
    assert panel.refresh(force=True)
    after = panel.projection
    assert np.all(np.diag(after.axes @ before.axes.T) > 0)  # each axis kept its direction
    moved = np.nanmax(np.abs(after.points - before.points))
    assert 0 < moved < 0.5 * np.nanmax(np.abs(before.points))


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"task": "copy"}, "columns of layer 0's W_ih"),
        ({"task": "charlm"}, "learned embedding"),
        ({"task": "sine"}, None),
    ],
)
def test_the_map_for_other_vocabularies(make_snapshot, show_panel, kw, says):
    panel = show_panel(EmbeddingPanel, make_snapshot(steps=1, **kw))
    if says is None:
        assert panel.note.isVisible() and panel.note.text() == NO_VOCABULARY
    else:
        assert says in panel.plot.titleLabel.text and not panel.note.isVisible()


@pytest.mark.parametrize("task", ["sine", "tagging"])
def test_the_strip_says_why_a_task_has_none(make_snapshot, show_panel, task):
    panel = show_panel(AttributionPanel, make_snapshot(task=task, hidden=6, steps=1))
    assert panel.heading.text().startswith("No attribution: only a many-to-one task")
    assert not any(g.isVisible() for g in panel.grids)


def test_a_large_vocabulary_labels_the_probe_sequence_and_whitespace_shows(
    make_snapshot, show_panel
):
    music = make_snapshot(task="music", steps=1)
    panel = show_panel(EmbeddingPanel, music)
    vocab = music.trace.meta["input_vocab"]
    assert len(vocab) > 80
    labelled = set(panel.labels.texts)
    assert labelled == {vocab[int(i)] for i in np.unique(music.trace.x_raw[0])}
    assert symbol_labels([" ", "\n", "<eos>", "a"]) == ["␣", "⏎", "⟨eos⟩", "a"]


def drawn_tick_labels(axis) -> list[str]:
    """The tick labels the axis draws (after the legibility rule drops overlapping ones)."""
    specs = draw_specs(axis)
    return [] if specs is None else [text.lstrip("\n") for _, _, text in specs[2]]


def long_words(trace):
    """`trace` with every word of its vocabulary but <pad> named as a review's long words."""
    names = ["charming", "hotel", "whole", "terrible", "lovely", "staff"]
    vocab = [
        w if w.startswith("<") else names[i % len(names)]
        for i, w in enumerate(trace.meta["input_vocab"])
    ]
    return dataclasses.replace(trace, meta=MappingProxyType({**trace.meta, "input_vocab": vocab}))


def test_evidence_in_a_small_dock_names_every_word_and_no_name_covers_a_curve(
    comparison, show_panel
):
    """order_matters at 1280x720 gives the panel ~455 x 300: the legend, inside the plot,
    covered the LSTM's curve, and the axis dropped "hotel", "charming" and "whole", whose
    labels would have touched a neighbour."""
    snapshot, _ = comparison
    runs = tuple(dataclasses.replace(r, trace=long_words(r.trace)) for r in snapshot.runs)
    snapshot = dataclasses.replace(snapshot, trace=runs[0].trace, runs=runs)
    words = words_of(snapshot.trace)
    panel = show_panel(EvidencePanel, snapshot, size=(455, 300))
    panel.grab()  # lay out and paint as on screen
    print(
        len(words),
        panel._staggered,
        panel.plot.vb.width(),
        drawn_tick_labels(panel.plot.getAxis("bottom")),
        words,
    )
    assert sorted(drawn_tick_labels(panel.plot.getAxis("bottom"))) == sorted(words)
    legend = panel.legend.sceneBoundingRect()
    vb = panel.plot.vb
    for curve in panel.curves:
        x, y = curve.getData()
        for point in zip(x, y, strict=True):
            assert not legend.contains(vb.mapViewToScene(QPointF(*point)))
    shown = panel.view.mapToScene(panel.view.viewport().rect()).boundingRect()
    assert shown.contains(legend)


def test_the_strip_in_a_small_dock_shows_every_word_whole(comparison, show_panel):
    """order_matters at 1280x720 gives the panel ~455 x 300: each run's strip showed a line
    of 6 words and half of the next behind its own scrollbar. Each strip now shows all its
    lines whole; the runs scroll together where they are taller than the dock."""
    snapshot, _ = comparison
    runs = tuple(dataclasses.replace(r, trace=long_words(r.trace)) for r in snapshot.runs)
    snapshot = dataclasses.replace(snapshot, trace=runs[0].trace, runs=runs)
    panel = show_panel(AttributionPanel, snapshot, size=(455, 300))
    panel.grab()  # lay out and paint as on screen
    for grid in panel.grids:
        assert grid.verticalScrollBar().maximum() == 0  # nothing hidden inside the strip
        inside = grid.viewport().rect()
        rows = len(grid.texts)
        assert all(
            inside.contains(grid.cell_rect(r, t)) for r in range(rows) for t in range(grid.columns)
        )
