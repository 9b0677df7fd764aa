"""The gate panel shows the recorded gates of the chosen layer, at fixed levels, and t."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from rnnviz.qt.panels.core.gates import GateActivationsPanel


@pytest.fixture
def show(show_panel):
    return lambda snapshot, t=0: show_panel(GateActivationsPanel, snapshot, size=(900, 500), t=t)


def test_lstm_heatmaps_are_the_gates_at_fixed_levels(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=6, seq_len=25)
    panel = show(snap)
    lt = snap.trace.layer(0)
    assert panel.names == ("i", "f", "g", "o")
    for g in panel.names:
        image = panel.images[g].image
        assert image.shape == (6, 25)  # (H, T): units down, time across
        np.testing.assert_array_equal(image, lt.gates[g][0].T)
        expected = (-1.0, 1.0) if g == "g" else (0.0, 1.0)
        assert tuple(panel.colorbars[g].levels()) == expected
        assert tuple(panel.images[g].levels) == expected
    assert "forget gate" in panel.titles["f"].text
    assert "candidate" in panel.titles["g"].text
    assert not panel.note.isVisible()


def test_cursor_lines_and_bars_show_t(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=6, seq_len=25)
    panel = show(snap, t=17)
    lt = snap.trace.layer(0)
    for g in panel.names:
        assert panel.cursor_lines[g].value() == 17
        opts = panel.bars[g].opts
        tips = np.where(lt.gates[g][0, 17] < 0, opts["x0"], opts["x0"] + opts["width"])
        np.testing.assert_allclose(tips, lt.gates[g][0, 17], rtol=1e-6)
    panel.cursor.set(3)
    assert all(panel.cursor_lines[g].value() == 3 for g in panel.names)
    np.testing.assert_allclose(panel.bars["f"].opts["width"], lt.gates["f"][0, 3], rtol=1e-6)


def test_dragging_a_cursor_line_moves_the_time_cursor(make_snapshot, show):
    panel = show(make_snapshot(cell="gru", seq_len=20), t=2)
    line = panel.cursor_lines["z"]
    line.setValue(11.3)
    line.sigDragged.emit(line)
    assert panel.cursor.t == 11
    assert panel.cursor_lines["r"].value() == 11


@pytest.mark.parametrize("cell, names", [("gru", ("r", "z", "n")), ("simple-gru", ("z", "n"))])
def test_gru_gates(make_snapshot, show, cell, names):
    snap = make_snapshot(cell=cell, seq_len=15)
    panel = show(snap)
    assert panel.names == names
    np.testing.assert_array_equal(panel.images["z"].image, snap.trace.layer(0).gates["z"][0].T)
    assert tuple(panel.colorbars["n"].levels()) == (-1.0, 1.0)
    assert "update gate" in panel.titles["z"].text


def test_elman_rnn_shows_preactivation_and_h_with_a_note(make_snapshot, show):
    snap = make_snapshot(cell="rnn", seq_len=15)
    panel = show(snap)
    lt = snap.trace.layer(0)
    assert panel.names == ("a", "h")
    np.testing.assert_array_equal(panel.images["a"].image, lt.preact[0].T)
    np.testing.assert_array_equal(panel.images["h"].image, lt.h[0].T)
    m = float(np.abs(lt.preact[0]).max())
    assert panel.colorbars["a"].levels() == pytest.approx((-m, m))
    assert tuple(panel.colorbars["h"].levels()) == (-1.0, 1.0)
    assert panel.note.isVisible()
    assert "no gates" in panel.note.text() and "pre-activation" in panel.note.text()


def test_relu_rnn_h_levels_start_at_zero(make_snapshot, show):
    snap = make_snapshot(cell="rnn", nonlinearity="relu", seq_len=15)
    panel = show(snap)
    h = snap.trace.layer(0).h[0]
    assert panel.colorbars["h"].levels() == pytest.approx((0.0, float(h.max())))


def test_a_later_recording_sets_its_own_levels_on_the_colour_bar(make_snapshot, show):
    """The colour bars are redrawn only when their scale changes: a recording with another
    pre-activation range still gets its own."""
    first, later = make_snapshot(cell="rnn", seq_len=15), make_snapshot(cell="rnn", steps=40)
    panel = show(first)
    panel.set_snapshot(later)
    assert panel.refresh()
    m = float(np.abs(later.trace.layer(0).preact[0]).max())
    assert m != pytest.approx(float(np.abs(first.trace.layer(0).preact[0]).max()))
    assert panel.colorbars["a"].levels() == pytest.approx((-m, m))
    assert panel.colorbars["a"].axis.range == pytest.approx([-m, m], rel=1e-6)


def test_switching_layer_and_direction(make_snapshot, show):
    snap = make_snapshot(cell="lstm", task="tagging", layers=2, bidirectional=True, seq_len=12)
    panel = show(snap, t=5)
    combo = panel.layer_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        lt.name for lt in snap.trace.layers
    ]
    combo.setCurrentIndex(3)
    lt, n = snap.trace.layer(1, reverse=True), int(snap.trace.input_mask[0].sum())
    assert panel.layer is lt
    np.testing.assert_array_equal(panel.images["f"].image, lt.gates["f"][0, :n].T)
    np.testing.assert_allclose(panel.bars["i"].opts["width"], lt.gates["i"][0, 5], rtol=1e-6)
    # a new snapshot keeps the chosen layer
    snap2 = make_snapshot(
        steps=2, cell="lstm", task="tagging", layers=2, bidirectional=True, seq_len=12
    )
    panel.set_snapshot(snap2)
    panel.refresh()
    assert combo.currentIndex() == 3
    np.testing.assert_array_equal(
        panel.images["o"].image, snap2.trace.layer(1, reverse=True).gates["o"][0, :n].T
    )


def test_hover_shows_the_exact_value(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=6, seq_len=25)
    panel = show(snap)
    vb = panel.plots["f"].getViewBox()
    panel.graphics.scene().sigMouseMoved.emit(vb.mapViewToScene(QPointF(17, 3)))
    value = snap.trace.layer(0).gates["f"][0, 17, 3]
    assert panel.hover_label.text() == f"f, unit 3, t=17: {value:.4g}"


def test_a_new_model_with_another_size_and_cell(make_snapshot, show):
    panel = show(make_snapshot(cell="lstm", hidden=12, seq_len=20), t=15)
    snap = make_snapshot(cell="gru", hidden=8, seq_len=10)
    panel.set_snapshot(snap)
    assert panel.refresh()
    assert panel.names == ("r", "z", "n")
    assert panel.images["n"].image.shape == (8, 10)
    t = panel.cursor.t  # the main window shortens the cursor; the bars show the last step here
    np.testing.assert_allclose(
        panel.bars["z"].opts["width"], snap.trace.layer(0).gates["z"][0, min(t, 9)], rtol=1e-6
    )


def test_one_colour_bar_per_scale_below_the_heatmaps(make_snapshot, show):
    panel = show(make_snapshot(cell="lstm", hidden=6, seq_len=25))
    bars = panel.colorbars
    assert bars["i"] is bars["f"] is bars["o"] and bars["g"] is not bars["i"]
    assert {img for img in (w() for w in bars["i"].img_list)} == {
        panel.images[g] for g in ("i", "f", "o")
    }
    panel.grab()
    bottom = panel.plots["o"].sceneBoundingRect().bottom()
    assert all(bar.sceneBoundingRect().top() >= bottom for bar in (bars["i"], bars["g"]))


def test_narrow_panel_gives_the_heatmaps_the_width_and_equal_heights(make_snapshot, show):
    panel = show(make_snapshot(cell="lstm", hidden=32, seq_len=50), t=10)
    for size in ((360, 420), (900, 550)):  # its size in the default layout, and a larger one
        panel.resize(*size)
        panel.grab()
        boxes = [panel.plots[g].vb.sceneBoundingRect() for g in panel.names]
        assert all(box.width() > 0.55 * panel.width() for box in boxes)
        assert max(b.height() for b in boxes) - min(b.height() for b in boxes) < 1
        for g, box in zip(panel.names, boxes, strict=True):  # each name just above its map
            title = panel.titles[g].sceneBoundingRect()
            assert title.bottom() <= box.top() + 1 and title.left() <= box.left()
    assert "at t = 10" in panel.bars_title.text


def image_visible(panel, name) -> bool:
    """The gate's heatmap lies inside the part of the panel a user sees (not cut off below)."""
    img = panel.images[name]
    view = panel.graphics
    scene_rect = img.mapRectToScene(img.boundingRect())
    box = view.mapFromScene(scene_rect).boundingRect()  # in the view's pixels
    top_left = view.mapTo(panel, box.topLeft())
    rect = box.translated(top_left - box.topLeft())
    visible = panel.rect().intersected(view.geometry())
    return rect.height() >= 2 and visible.adjusted(-1, -1, 1, 1).contains(rect)


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple-gru", "rnn"])
def test_every_gate_stays_visible_as_the_panel_shrinks_and_grows(make_snapshot, show, cell):
    panel = show(make_snapshot(cell=cell, hidden=64, seq_len=20))
    # a large panel first: its rows must not keep their height when the panel shrinks
    for size in ((900, 900), (400, 300), (640, 330), (470, 420), (300, 220), (1200, 700)):
        panel.resize(*size)
        panel.grab()
        hidden = [g for g in panel.names if not image_visible(panel, g)]
        assert not hidden, f"{cell} at {size}: {hidden} cut off"


def test_in_a_short_wide_panel_the_titles_move_beside_their_heatmaps(make_snapshot, show):
    panel = show(make_snapshot(cell="lstm", hidden=64, seq_len=20))
    panel.resize(460, 300)  # a preset's quarter of a 1280x720 projector
    panel.grab()
    assert panel.inline
    for g in panel.names:
        title, box = panel.titles[g].sceneBoundingRect(), panel.plots[g].vb.sceneBoundingRect()
        assert title.right() <= box.left() and box.top() - 1 <= title.top() < box.bottom()
        assert box.height() >= 20  # a heatmap, not a strip
        assert image_visible(panel, g)
    panel.resize(900, 900)  # room again: titles above the heatmaps
    panel.grab()
    assert not panel.inline
    for g in panel.names:
        title, box = panel.titles[g].sceneBoundingRect(), panel.plots[g].sceneBoundingRect()
        assert title.bottom() <= box.top() + 1


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("diverged", ["some", "all"])
def test_a_diverged_elman_run_keeps_finite_levels_and_its_cursor(
    make_snapshot, show, nonlinearity, diverged
):
    """A run that diverged records NaN and inf pre-activations. Their levels had been NaN,
    pyqtgraph refused them ("Not setting range to [nan, nan]") half-way through the redraw,
    and every later move of the time cursor raised KeyError (the monkey, seed 45)."""
    snap = make_snapshot(cell="rnn", nonlinearity=nonlinearity, seq_len=15)
    lt = snap.trace.layer(0)
    a, h = np.array(lt.preact), np.array(lt.h)
    rows = slice(None) if diverged == "all" else slice(0, 4)
    a[0, rows, :2], a[0, rows, 2:] = np.inf, np.nan
    h[0, rows] = np.nan
    layer = dataclasses.replace(lt, preact=a, h=h)
    snap = dataclasses.replace(snap, trace=dataclasses.replace(snap.trace, layers=(layer,)))
    panel = show(snap, t=2)
    finite = a[0][np.isfinite(a[0])]
    m = float(np.abs(finite).max()) if finite.size else 1.0
    assert panel.colorbars["a"].levels() == pytest.approx((-m, m))
    assert np.isfinite(panel.colorbars["h"].levels()).all()
    panel.cursor.set(9)  # the cursor still moves the lines and bars
    assert panel.cursor_lines["h"].value() == 9


def test_a_heatmap_of_values_near_the_float32_limit_paints_without_overflow(
    make_snapshot, show_panel
):
    """Drawn smaller than its data, a heatmap is downsampled by averaging pixels: a diverged
    run's 3e38 pre-activations overflowed float32's sum there (the monkey, seed 45)."""
    snap = make_snapshot(steps=1, cell="rnn", hidden=8, seq_len=600)
    lt = snap.trace.layer(0)
    a = np.array(lt.preact)
    a[0, ::2] = 3e38
    layer = dataclasses.replace(lt, preact=a)
    snap = dataclasses.replace(snap, trace=dataclasses.replace(snap.trace, layers=(layer,)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        panel = show_panel(GateActivationsPanel, snap, size=(300, 300))
        panel.grab()
    assert not [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert panel.colorbars["a"].levels() == pytest.approx((-3e38, 3e38))
