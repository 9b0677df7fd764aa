"""A model without recurrent layers (the bag-of-words baseline, a setting and half of the
'Order matters' preset) in every panel: each draws it or says in place of its figure why there
is nothing to draw, and none raises (the monkey found three panels raising on it, and the
unrolled graph crashing the interpreter)."""

from __future__ import annotations

import pytest

from rnnviz.core.config import Config
from rnnviz.core.protocol import RunView
from rnnviz.core.train import Trainer
from rnnviz.qt.export import ExportError
from rnnviz.qt.panels import LAB_PANELS, PANELS
from rnnviz.qt.panels.base import NO_LAYERS
from rnnviz.qt.panels.core.gates import GateActivationsPanel


def snapshot_of(cell: str):
    trainer = Trainer(
        Config(task="sentiment", cell=cell, hidden=6, seq_len=19, batch=4, device="cpu")
    )
    trainer.train_step()
    return trainer.snapshot(state="paused", trace=trainer.record(), steps_per_s=0.0)


@pytest.fixture(scope="module")
def bow():
    return snapshot_of("bow")


@pytest.mark.parametrize("panel_class", PANELS + LAB_PANELS, ids=lambda c: c.key)
def test_every_panel_draws_a_bag_of_words_or_says_why_not(panel_class, bow, show_panel, tmp_path):
    panel = show_panel(panel_class, bow)
    for t in (3, bow.trace.T - 1, 0):
        panel.cursor.set(t)
    assert panel.is_blank == panel_class.needs_layers
    if panel.is_blank:
        assert panel.blank.text() == NO_LAYERS
        with pytest.raises(ExportError, match="no recurrent layers"):
            panel.export_data(tmp_path / "x.csv")  # not the numbers of an earlier model


def test_the_note_gives_way_to_the_figure_when_a_recurrent_model_comes(bow, show_panel):
    panel = show_panel(GateActivationsPanel, bow)
    assert panel.is_blank
    panel.set_snapshot(snapshot_of("lstm"))
    assert panel.refresh()
    assert not panel.is_blank and panel.layer is not None


@pytest.fixture(scope="module")
def beside():
    """'Order matters' in miniature: an LSTM and the bag-of-words baseline side by side."""
    trainers = [
        Trainer(Config(task="sentiment", cell=c, hidden=6, seq_len=19, batch=4, device="cpu"))
        for c in ("lstm", "bow")
    ]
    traces = []
    for t in trainers:
        t.train_step()
        traces.append(t.record())
    runs = tuple(
        RunView(t.config.cell, t.step_count, False, t.history.view(), tr, t.probe_log.view())
        for t, tr in zip(trainers, traces, strict=True)
    )
    return trainers[0].snapshot(state="paused", trace=traces[0], steps_per_s=0.0, runs=runs)


@pytest.mark.parametrize("panel_class", PANELS + LAB_PANELS, ids=lambda c: c.key)
def test_every_panel_draws_a_recurrent_run_beside_a_bag_of_words(panel_class, beside, show_panel):
    panel = show_panel(panel_class, beside)  # raised in the itemized panel (the monkey)
    for t in (3, beside.trace.T - 1, 0):
        panel.cursor.set(t)
    assert not panel.is_blank
