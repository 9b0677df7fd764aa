"""The guesses panel shows, under each input of sequence 0, the model's five most likely next
symbols shaded by probability, boxes the true next symbol, and reads a column on hover."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mouse import move_mouse  # tests/qt is on sys.path
from PySide6.QtCore import QPointF

from rnnviz.qt.panels.text.guesses import NEEDS_SYMBOLS, NextGuessesPanel


@pytest.fixture
def show(show_panel):
    return lambda snapshot, t=0: show_panel(NextGuessesPanel, snapshot, t=t)


def hover(grid, t: int) -> None:
    move_mouse(grid.viewport(), QPointF(grid.cell_rect(2, t).center()))


def test_the_top_five_under_every_input_shaded_by_probability(charlm, show):
    panel = show(charlm, t=7)
    trace = charlm.trace
    vocab = trace.meta["output_vocab"]
    p, ids = torch.softmax(torch.tensor(trace.y_hat[0], dtype=torch.float64), -1).topk(5, -1)
    grid = panel.grid
    assert list(grid.texts[0]) == [trace.meta["input_vocab"][int(i)] for i in trace.x_raw[0]]
    for r in range(5):
        assert list(grid.texts[r + 1]) == [vocab[int(i)] for i in ids[:, r]]
        assert list(grid.fills[r + 1]) == [panel.fill_of(float(v)) for v in p[:, r]]
    hit = ids.numpy() == trace.y[0][:, None]  # (T, 5): the true next symbol among them
    np.testing.assert_array_equal(grid.boxed[1:], hit.T)
    assert f"at {hit.any(1).mean():.0%} of the steps the loss counts" in panel.heading.text()
    assert panel.fill_of(1.0).lightness() < panel.fill_of(0.2).lightness()  # likelier: darker
    assert grid.marked == 7
    panel.cursor.set(30)
    assert grid.marked == 30


def test_hover_reads_the_column(charlm, show):
    panel = show(charlm)
    panel.grab()
    hover(panel.grid, 12)
    trace = charlm.trace
    vocab = trace.meta["output_vocab"]
    p = torch.softmax(torch.tensor(trace.y_hat[0, 12], dtype=torch.float64), -1)
    top = int(p.argmax())
    text = panel.hover_label.text()
    assert text.startswith(f"t = 12, after '{trace.meta['input_vocab'][int(trace.x_raw[0, 12])]}'")
    assert f"'{vocab[top]}' {float(p[top]):.2f}" in text
    assert f"next is '{vocab[int(trace.y[0, 12])]}'" in text


def test_a_long_sequence_wraps_and_the_cursor_scrolls_into_view(make_snapshot, show):
    panel = show(make_snapshot(task="copy", seq_len=600, hidden=4, steps=1))
    grid = panel.grid
    assert grid.content_height() > grid.viewport().height()  # scrolls
    panel.cursor.set(590)
    rect = grid.cell_rect(0, 590)
    assert grid.viewport().rect().contains(rect.center())
    assert grid.column_at(grid.cell_rect(3, 590).center()) == 590
    assert grid.faded.any()  # the copy task's steps without a loss are pale


def test_other_tasks_show_a_note(make_snapshot, show):
    panel = show(make_snapshot(task="sine", seq_len=10))
    assert panel.stack.currentWidget() is panel.note and panel.note.text() == NEEDS_SYMBOLS


def test_an_encoder_decoder_shows_its_output_steps(make_snapshot, show):
    snap = make_snapshot(task="dates", hidden=8, steps=1)
    panel = show(snap)
    T_out = snap.trace.y_hat.shape[1]
    assert T_out != snap.trace.x_raw.shape[1]
    assert [len(row) for row in panel.grid.texts] == [T_out] * 6
    assert list(panel.grid.texts[0]) == [str(t) for t in range(T_out)]


def test_a_padded_sentence_is_shown_up_to_its_end(make_snapshot, show):
    snap = make_snapshot(task="tagging", hidden=6, steps=1)
    n = int(snap.trace.input_mask[0].sum())
    assert n < snap.trace.T  # sequence 0 is padded
    panel = show(snap)
    k = min(5, len(snap.trace.meta["output_vocab"]))  # a few tags: fewer guesses
    assert [len(row) for row in panel.grid.texts] == [n] * (1 + k)
    assert "<pad>" not in panel.grid.texts[0]


def test_the_heading_says_next_symbol_only_where_the_target_is_the_next_input(
    charlm, make_snapshot, show
):
    """A name tagger's target is the tag of the word above it, not the next symbol (the Why
    bidirectional preset's figure said "guesses for the next symbol" over PER and O)."""
    lm, tagger = show(charlm), show(make_snapshot(task="tagging", hidden=6, steps=1))
    assert "guesses for the next symbol" in lm.heading.text()
    assert "guesses for the output" in tagger.heading.text()
    assert "next" not in tagger.heading.text()


@pytest.mark.parametrize("panel_key", ["guesses", "connectivity"])
def test_the_heading_keeps_clear_of_the_info_button(charlm, show_panel, panel_key):
    """Neither panel has controls above its figure: the info button sat over the heading's
    end at 1280x720 ("as a share of the ro[i]")."""
    from PySide6.QtCore import QRect

    from rnnviz.qt.panels.text.connectivity import ConnectivityPanel

    panel_class = NextGuessesPanel if panel_key == "guesses" else ConnectivityPanel
    panel = show_panel(panel_class, charlm, size=(460, 300))
    heading = panel.heading
    text = heading.contentsRect()
    text = QRect(heading.mapTo(panel, text.topLeft()), text.size())
    assert heading.isVisible() and not text.intersects(panel.info_button.geometry())


def test_a_melody_shows_the_lookback_its_model_reads_under_each_note(make_snapshot, show):
    """Music: a "lookback" row under the inputs, the note after the same two notes ("E4") or
    the same note ("(E4)"), blank where the melody has no earlier match; the guesses follow
    it, the hover and the table say it. A plain embedding shows no such row."""
    snapshot = make_snapshot(task="music", steps=1)
    panel = show(snapshot)
    trace = snapshot.trace
    vocab = trace.meta["input_vocab"]
    x = [vocab[int(i)] for i in trace.x_raw[0]]
    grid = panel.grid
    assert list(grid.texts[0]) == x and grid.headers[:3] == ["input", "lookback", "1st"]
    row = list(grid.texts[1])
    for t in range(2, len(x)):  # the two-note matches, by hand
        earlier = [s for s in range(1, t) if x[s - 1 : s + 1] == x[t - 1 : t + 1]]
        melody_start = max((s for s in range(t) if x[s] == "|"), default=0)
        earlier = [s for s in earlier if s - 1 >= melody_start and "|" not in x[s - 1 : s + 1]]
        if x[t] != "|" and x[t - 1] != "|" and earlier:
            assert row[t] == x[earlier[-1] + 1], t
    assert any(r and not r.startswith("(") for r in row) and "" in row
    assert not grid.boxed[:2].any()  # the inputs are never a guess
    t = next(t for t, r in enumerate(row) if r)
    panel.grab()
    hover(panel.grid, t)
    assert f"(lookback {row[t]})" in panel.hover_label.text()
    assert list(panel.data_tables()["time"]["lookback"]) == row
    plain = show(make_snapshot(task="music", encoder="embedding", steps=1))
    assert plain.grid.headers[1] == "1st" and "lookback" not in plain.data_tables()["time"]
