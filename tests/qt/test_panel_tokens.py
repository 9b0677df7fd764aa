"""Tokens, not indices: the core panels name each t by its word and draw a padded sentence
up to its last word, never its <pad> steps (a sentiment run, sequence 0 shorter than T)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.qt.panels.core.gates import GateActivationsPanel
from rnnviz.qt.panels.core.gradients import GradientNormsPanel
from rnnviz.qt.panels.core.graph import UnrolledGraphPanel
from rnnviz.qt.panels.core.states import StateTrajectoriesPanel
from rnnviz.qt.tokens import at_t, cursor_length, steps_shown, time_ticks
from rnnviz.qt.transport import describe_timestep


@pytest.fixture(scope="module")
def sentence():
    """A sentiment snapshot whose sequence 0 is padded: (snapshot, its words)."""
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer

    trainer = Trainer(Config(task="sentiment", hidden=6, batch=8, seq_len=20, device="cpu"))
    trainer.train_step()
    for _ in range(20):  # a batch whose first sentence is not its longest
        trace = trainer.record()
        n = int(trace.input_mask[0].sum())
        if n < trace.T:
            break
        trainer.train_step()
    assert n < trace.T
    snapshot = trainer.snapshot(state="paused", trace=trace, steps_per_s=0.0)
    return snapshot, [str(w) for w in trace.tokens[0, :n]]


def _labels(axis) -> list[str]:
    return [text for level in axis._tickLevels for _, text in level]


def test_steps_and_readouts_name_the_words(sentence):
    snapshot, words = sentence
    trace = snapshot.trace
    assert steps_shown(trace) == cursor_length(trace) == len(words)
    assert "<pad>" not in words
    assert at_t(trace, 2) == f"t = 2: '{words[2]}'"
    assert at_t(trace, 2, compact=True) == f"t = 2 '{words[2]}'"
    assert at_t(trace, 2, compact=True, eq="=") == f"t=2 '{words[2]}'"
    # the transport's line counts the sentence's steps, not the batch's padded T
    assert describe_timestep(trace, 99).startswith(f"t = {len(words) - 1} / {len(words) - 1}")
    ticks = time_ticks(trace, len(words))
    assert sorted(t for level in ticks for t, _ in level) == list(range(len(words)))
    assert ticks[0][0] == (0.0, f"0\n{words[0]}")  # the sparsest level first: t = 0, 8, …


def test_numbers_stay_numbers(make_snapshot):
    trace = make_snapshot(steps=1, hidden=4, seq_len=12).trace  # the adding problem
    assert time_ticks(trace, trace.T) is None
    assert at_t(trace, 3) == "t = 3" and steps_shown(trace) == 12


def test_gates_leave_padding_out_and_name_t(sentence, show_panel):
    snapshot, words = sentence
    panel = show_panel(GateActivationsPanel, snapshot, size=(900, 500), t=99)
    n = len(words)
    for g in panel.names:
        assert panel.images[g].image.shape == (6, n)  # (H, words): no <pad> column
        assert panel.cursor_lines[g].value() == n - 1
    labels = _labels(panel.plots[panel.names[-1]].getAxis("bottom"))
    assert f"0\n{words[0]}" in labels and not any("<pad>" in s for s in labels)
    assert panel.describe("f", 1, 1).startswith(f"f, unit 1, t=1 '{words[1]}': ")


def test_states_and_gradients_end_at_the_last_word(sentence, show_panel):
    snapshot, words = sentence
    n = len(words)
    states = show_panel(StateTrajectoriesPanel, snapshot, t=1)
    assert len(states.h_curves[0].getData()[0]) == n
    assert len(states.pca_points) == n
    assert states.end_label.toPlainText() == f"t = {n - 1}: '{words[-1]}'"
    assert _labels(states.h_plot.getAxis("bottom"))
    grads = show_panel(GradientNormsPanel, snapshot, t=1)
    assert len(grads._grad) == n
    # the gradient at the last word is the loss's own: nonzero, unlike a <pad> step's
    assert grads._grad[-1] > 0
    assert f"t = 1: &#x27;{words[1]}&#x27;" in grads.readout.text()


def test_graph_columns_stop_at_the_last_word(sentence, show_panel):
    snapshot, words = sentence
    panel = show_panel(UnrolledGraphPanel, snapshot, size=(900, 550), t=99)
    n = len(words)
    assert panel.window[-1] == n - 1
    x_labels = [panel.labels[0, c].toPlainText() for c in range(panel.columns)]
    assert "<pad>" not in " ".join(x_labels)
    assert words[-1] in x_labels[-1]
    assert all(len(v) == n for v in panel.values.values())
    assert panel.describe(len(panel.rows) - 2, n - 1).startswith(
        f"{panel.rows[-2].label} at t={n - 1} '{words[-1]}'"
    )
    np.testing.assert_array_equal(panel.data_tables()["time"]["t"], np.arange(n))


def test_training_rows_show_whole_words_up_to_the_last(sentence, show_panel):
    from rnnviz.qt.panels.core.training import TrainingPanel

    snapshot, words = sentence
    panel = show_panel(TrainingPanel, snapshot, t=2)
    rows = {name: symbols for name, symbols, _ in panel._rows}
    assert [s.strip() for s in rows["input"]] == words  # not '·' for every word, no <pad>
    predicted = [s.strip() for s in rows["predicted"]]
    assert set(predicted) <= {"positive", "negative"} and len(predicted) == len(words)
    # the columns line up: each as wide in every row
    assert [len(s) for s in rows["input"]] == [len(s) for s in rows["predicted"]]
