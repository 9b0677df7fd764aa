"""Gradient history panel: each pixel is log10 of the recorded norm at its training step and
timestep, rows sit at their true steps, colour levels only widen, thousands of recordings stay
one bounded image, and the panel exports."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF

from rnnviz.qt.panels.lab.gradient_history import (
    MAX_ROWS,
    ZERO,
    GradientHistoryPanel,
    layer_name,
    step_grid,
)


@pytest.fixture
def show(show_panel):
    """show(snapshot, panel=None) -> a laid-out GradientHistoryPanel drawing `snapshot`."""

    def make(snapshot, panel=None):
        if panel is None:  # the cursor's length is the probes' T, not the trace's
            panel = show_panel(GradientHistoryPanel, size=(900, 500))
        if snapshot.probes is not None and snapshot.probes.grad_norms:
            T = next(iter(snapshot.probes.grad_norms.values())).shape[1]
            panel.cursor.set_length(T)
        panel.set_snapshot(snapshot)
        panel.refresh(force=True)
        return panel

    return make


def with_norms(snap, steps, norms: dict[str, np.ndarray]):
    """`snap` with a made-up probe history: recordings at `steps` with these norms."""
    from rnnviz.core.train import ProbeHistory

    probes = ProbeHistory(
        step=np.asarray(steps, dtype=np.int64), grad_norms=MappingProxyType(norms), radii={}
    )
    return dataclasses.replace(snap, probes=probes)


def shown(panel, step: float, t: int) -> float:
    """The image value drawn at (t, step), found through the image's own placement."""
    p = panel.image.mapFromParent(QPointF(t, step))  # view -> pixel coordinates (col, row)
    return panel.image.image[int(np.floor(p.y())), int(np.floor(p.x()))]


def test_step_grid_rows_show_the_latest_recording_at_their_true_steps():
    y0, dy, rows = step_grid(np.array([0, 2, 3, 7, 20]))
    # One row per step up to the last recording plus the median gap (3).
    assert (y0, dy, len(rows)) == (0.0, 1.0, 23)
    np.testing.assert_array_equal(rows[:8], [0, 0, 1, 2, 2, 2, 2, 3])
    assert (rows[7:20] == 3).all() and (rows[20:] == 4).all()
    steps = np.cumsum(np.random.default_rng(0).integers(1, 50, 5000))  # irregular
    y0, dy, rows = step_grid(steps)
    assert len(rows) == MAX_ROWS and y0 == steps[0]
    ends = y0 + dy * np.arange(1, MAX_ROWS + 1)
    assert (steps[rows] < ends).all()  # made before the row's end …
    later = np.minimum(rows + 1, len(steps) - 1)
    assert ((steps[later] >= ends) | (rows == len(steps) - 1)).all()  # … and the latest such
    assert step_grid(np.array([5]))[:2] == (5.0, 1.0)


def test_pixels_are_log10_of_the_norm_at_that_step_and_t(probed_snapshot, show):
    snap = probed_snapshot(record_at=(0, 2, 3, 7, 20), cell="lstm")
    panel = show(snap)
    probes = snap.probes
    norms = probes.grad_norms["l0"]  # (N, T)
    np.testing.assert_array_equal(probes.step, [0, 2, 3, 7, 20])
    for i, step in enumerate(probes.step):
        for t in (0, 5, 19):
            assert shown(panel, step + 0.5, t) == pytest.approx(np.log10(norms[i, t]), rel=1e-12)
    assert shown(panel, 6.5, 3) == pytest.approx(np.log10(norms[2, 3]))  # still step 3's
    # The y axis reads training steps: the image spans the first step to past the last.
    rect = panel.image.mapRectToParent(panel.image.boundingRect())
    assert rect.top() == pytest.approx(0) and rect.bottom() == pytest.approx(23)
    assert rect.left() == pytest.approx(-0.5) and rect.right() == pytest.approx(19.5)
    assert panel.plot.getAxis("left").labelText == "training step"
    ticks = [v for _, vs in panel.plot.getAxis("left").tickValues(0, 3, 400) for v in vs]
    assert ticks and all(float(v).is_integer() for v in ticks)  # whole steps, never 0.2
    assert "5 recordings, steps 0–20" in panel.plot.titleLabel.text
    drawn = panel.image.image
    panel = show(dataclasses.replace(snap), panel)  # a new snapshot, no new recording
    assert panel.image.image is drawn  # not recomputed
    assert "log₁₀ ‖∂L/∂h" in panel.colorbar.getAxis("left").labelText


def test_hover_reads_the_exact_norm_at_step_and_t(probed_snapshot, show):
    snap = probed_snapshot(record_at=(0, 2, 3, 7, 20), cell="gru")
    panel = show(snap)
    panel.grab()  # lay out and auto-range as on screen
    norms = snap.probes.grad_norms["l0"]
    panel.view.scene().sigMouseMoved.emit(panel.plot.vb.mapViewToScene(pg.Point(7.2, 9.5)))
    assert panel.hover_label.text() == f"step 7, t = 7: ‖∂L/∂h_t‖ = {norms[3, 7]:.4g}"


def test_cursor_moves_the_line_and_reads_the_change_over_training(probed_snapshot, show):
    snap = probed_snapshot(record_at=(0, 4), cell="rnn")
    panel = show(snap)
    panel.cursor.set(6)
    assert panel.cursor_line.value() == 6
    text = panel.readout.text()
    assert "at t = 6" in text and "at step 0" in text and "at step 4" in text


def test_levels_are_robust_and_only_widen(make_snapshot, show):
    snap = make_snapshot(cell="rnn", seq_len=10)
    rng = np.random.default_rng(1)
    small = 10 ** rng.uniform(-4, -2, (30, 10))
    panel = show(with_norms(snap, np.arange(30), {"l0": small}))
    lo, hi = panel.colorbar.levels()
    assert lo <= -3.5 and hi >= -2.5 and lo >= -4.5 and hi <= -1.5  # half decades
    outlier = small.copy()
    outlier[5, 5] = 1e30  # one extreme value does not stretch the scale
    panel = show(with_norms(snap, np.arange(30), {"l0": outlier}), panel)
    assert panel.colorbar.levels() == (lo, hi)
    narrow = np.full((30, 10), 1e-3)
    panel = show(with_norms(snap, np.arange(30), {"l0": narrow}), panel)
    assert panel.colorbar.levels() == (lo, hi)  # never narrows
    wide = 10 ** rng.uniform(-8, 0, (30, 10))
    panel = show(with_norms(snap, np.arange(30), {"l0": wide}), panel)
    new_lo, new_hi = panel.colorbar.levels()
    assert new_lo < lo and new_hi > hi


def test_thousands_of_recordings_are_one_bounded_image(make_snapshot, show):
    snap = make_snapshot(cell="rnn", seq_len=1000, hidden=4, steps=0)
    rng = np.random.default_rng(2)
    steps = np.cumsum(rng.integers(1, 20, 5000))
    norms = 10 ** rng.uniform(-6, 0, (5000, 1000))
    panel = show(with_norms(snap, steps, {"l0": norms}))
    items = list(panel.plot.items)
    image = panel.image
    assert image.image.shape == (MAX_ROWS, 1000)
    panel = show(with_norms(snap, steps[:4000], {"l0": norms[:4000]}), panel)
    assert panel.image is image and list(panel.plot.items) == items  # nothing rebuilt
    assert shown(panel, steps[3999] + 0.1, 500) == pytest.approx(np.log10(norms[3999, 500]))


def test_zero_nan_and_inf_norms_are_drawn_without_error(make_snapshot, show):
    snap = make_snapshot(cell="rnn", seq_len=10)
    norms = np.full((3, 10), 1e-3)
    norms[0, 0] = 0.0  # underflowed: the darkest colour
    norms[1, 1] = np.nan  # a diverged recording: transparent
    norms[2, 2] = np.inf
    panel = show(with_norms(snap, [0, 1, 2], {"l0": norms}))
    img = panel.image.image
    assert img[0, 0] == ZERO and np.isnan(img[1, 1]) and img[2, 2] > 100
    assert np.isfinite(panel.colorbar.levels()).all()
    panel.cursor.set(1)
    assert "at t = 1" in panel.readout.text()


def test_bidirectional_three_layers_offer_every_direction(probed_snapshot, show):
    snap = probed_snapshot(
        record_at=(0, 1), cell="simple-gru", task="tagging", layers=3, bidirectional=True
    )
    panel = show(snap)
    names = [panel.layer_combo.itemText(i) for i in range(panel.layer_combo.count())]
    assert names == [layer_name(k) for k in snap.probes.grad_norms]
    assert "layer 2 ←" in names and layer_name("l2_reverse") == "layer 2 ←"
    panel.layer_combo.setCurrentIndex(names.index("layer 2 ←"))
    norms = snap.probes.grad_norms["l2_reverse"]
    assert shown(panel, 1.5, 4) == pytest.approx(np.log10(norms[1, 4]))


def test_no_recordings_yet(make_snapshot, show):
    from rnnviz.core.train import ProbeHistory

    snap = make_snapshot()
    empty = ProbeHistory(step=np.zeros(0, np.int64), grad_norms={}, radii={})
    for probes in (None, empty):
        panel = show(dataclasses.replace(snap, probes=probes))
        assert panel.readout.text() == "no recordings yet"
        assert panel.image.image is None
        assert panel.layer_combo.count() == 0
