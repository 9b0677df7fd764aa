"""The connectivity panel shades every input by how much the prediction at the chosen step
depends on it (Madsen 2019), for each run of a comparison, and says when it was not recorded."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np
import pytest
from mouse import move_mouse  # tests/qt is on sys.path
from PySide6.QtCore import QPointF

from rnnviz.core.protocol import RunView
from rnnviz.qt.panels.text.connectivity import ConnectivityPanel
from rnnviz.qt.panels.text.guesses import NEEDS_SYMBOLS


@pytest.fixture
def show(show_panel):
    return lambda snapshot, t=0: show_panel(ConnectivityPanel, snapshot, t=t)


def hover(grid, t: int) -> None:
    move_mouse(grid.viewport(), QPointF(grid.cell_rect(0, t).center()))


def test_inputs_are_shaded_by_the_row_of_the_chosen_step(charlm, show):
    panel = show(charlm, t=20)
    trace = charlm.trace
    C = trace.connectivity  # (T, T)
    (grid,) = panel.grids
    assert list(grid.texts[0]) == [trace.meta["input_vocab"][int(i)] for i in trace.x_raw[0]]
    share = C[20] / C[20].max()
    assert list(grid.fills[0]) == [panel.fill_of(v) for v in share]
    assert all(f == panel.fill_of(0.0) for f in grid.fills[0][21:])  # the future: white
    assert grid.marked == 20
    s = int(np.argmax(C[20]))
    title = panel.titles[0].text()
    assert f"= {C[20, s]:.3g} at s = {s};" in title
    strong = np.flatnonzero(share >= 0.1)
    assert f"reaches {20 - strong[0]} back" in title
    panel.cursor.set(33)  # the time cursor chooses the step too
    assert panel.query == 33 and grid.marked == 33
    panel.grab()
    hover(grid, 9)
    assert panel.query == 9
    assert list(grid.fills[0]) == [panel.fill_of(v) for v in C[9] / C[9].max()]
    assert panel.hover_label.text().startswith("t = 9: this run: largest at s = ")


def test_runs_side_by_side_and_a_run_without_connectivity(charlm, show):
    trace = charlm.trace
    T = trace.T
    near = np.tril(np.triu(np.ones((T, T)), -2))  # a short memory: the last three inputs
    short = dataclasses.replace(trace, connectivity=near)
    meta = MappingProxyType({**trace.meta, "connectivity": "skipped: over the budget"})
    skipped = dataclasses.replace(trace, connectivity=None, meta=meta)
    runs = tuple(
        RunView(label, 3, False, charlm.history, tr)
        for label, tr in (("LSTM", trace), ("short", short), ("big", skipped))
    )
    snap = dataclasses.replace(charlm, runs=runs)
    panel = show(snap, t=30)
    assert len(panel.grids) == 3 and all(g.isVisible() for g in panel.grids)
    fills = panel.grids[1].fills[0]
    dark = panel.fill_of(1.0)
    assert [i for i, f in enumerate(fills) if f == dark] == [28, 29, 30]
    assert "reaches 2 back" in panel.titles[1].text() and "<b>short</b>" in panel.titles[1].text()
    assert "skipped: over the budget" in panel.titles[2].text()
    assert all(f is None for f in panel.grids[2].fills[0])
    panel.set_snapshot(charlm)  # back to one run: the others' rows go
    panel.refresh()
    assert [g.isVisible() for g in panel.grids] == [True, False, False]


def test_other_tasks_show_a_note(make_snapshot, show):
    panel = show(make_snapshot(task="sine", seq_len=10))
    assert panel.stack.currentWidget() is panel.note and panel.note.text() == NEEDS_SYMBOLS


def test_an_encoder_decoder_says_it_has_none(make_snapshot, show):
    panel = show(make_snapshot(task="dates", hidden=8, steps=1), t=3)
    assert "connectivity" in panel.titles[0].text() and panel.grids[0].marked == 3


def test_a_padded_sentence_is_shown_up_to_its_end(make_snapshot, show):
    snap = make_snapshot(task="wordlm", hidden=6, steps=1)
    n = int(snap.trace.input_mask[0].sum())
    assert n < snap.trace.T and snap.trace.connectivity is not None
    panel = show(snap, t=n - 1)
    (grid,) = panel.grids
    assert grid.columns == n and "<pad>" not in grid.texts[0]
    C = snap.trace.connectivity[n - 1, :n]
    assert list(grid.fills[0]) == [panel.fill_of(v) for v in C / C.max()]


def test_a_tagger_reaching_ahead_says_so_and_predicts_at_t(make_snapshot, show_panel):
    """Why bidirectional: the tag at t depends on later words; each run's line says how far
    ahead it reaches (the forward run: 0), and a tag is predicted at t, not after it."""
    runs = []
    for label, two_way in (("bidirectional", True), ("forward only", False)):
        snap = make_snapshot(task="tagging", hidden=6, steps=2, bidirectional=two_way)
        runs.append(RunView(label, snap.step, False, snap.history, snap.trace, None))
    snap = dataclasses.replace(snap, trace=runs[0].trace, runs=tuple(runs))
    panel = show_panel(ConnectivityPanel, snap, t=1)
    both, forward = (title.text() for title in panel.titles[:2])
    assert "at t = 1" in both and "after t" not in both
    assert " ahead" in both and "and 0 ahead" in forward
    C = np.asarray(runs[0].trace.connectivity[1], dtype=np.float64)
    later = np.flatnonzero(C[2:] >= 0.1 * C.max())
    assert f"and {int(later[-1]) + 1 if len(later) else 0} ahead" in both
