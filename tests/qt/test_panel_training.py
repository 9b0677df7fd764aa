"""Training panel: the loss history, the chance line, and each task's view of predictions."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF, Qt

from rnnviz.qt import theme
from rnnviz.qt.panels.core.training import NO_SAMPLE, TrainingPanel
from rnnviz.qt.timeline import TimeCursor


@pytest.fixture
def show(show_panel):
    """show(snapshot, panel=None) -> a laid-out TrainingPanel drawing `snapshot`."""

    def make(snapshot, panel=None):
        if panel is None:
            panel = show_panel(TrainingPanel, size=(900, 500))
        panel.cursor.set_length(snapshot.trace.T)
        panel.set_snapshot(snapshot)
        panel.refresh(force=True)
        return panel

    return make


def test_loss_curve_has_every_step_and_chance_is_one_sixth_for_adding(make_snapshot, show):
    snap = make_snapshot(steps=7, task="adding")
    panel = show(snap)
    assert len(panel.loss_curve.xData) == len(snap.history) == 7
    np.testing.assert_array_equal(panel.loss_curve.yData, snap.history.loss)
    assert panel.loss_plot.getAxis("left").logMode  # regression: log by default
    assert panel.chance_line.isVisible()
    assert 10 ** panel.chance_line.value() == pytest.approx(1 / 6)
    panel.log_check.setChecked(False)
    assert not panel.loss_plot.getAxis("left").logMode
    assert panel.chance_line.value() == pytest.approx(1 / 6)


def test_adding_scatters_prediction_against_target_where_scored(make_snapshot, show):
    snap = make_snapshot(task="adding", seq_len=16, probe_batch=5)
    panel = show(snap)
    x, y = panel.scatter.getData()
    tr = snap.trace
    np.testing.assert_allclose(x, tr.y[:, -1, 0])
    np.testing.assert_allclose(y, tr.y_hat[:, -1, 0])
    marks = np.flatnonzero(tr.x_raw[0, :, 1])
    np.testing.assert_array_equal(panel.marked.xData, marks)
    np.testing.assert_allclose(panel.marked.yData, tr.x_raw[0, marks, 0])


@pytest.mark.parametrize("diverged", [2, 5])
def test_a_diverged_adding_run_scatters_only_its_finite_predictions(make_snapshot, show, diverged):
    """ŷ = NaN (a diverged run) is no point: pyqtgraph warned "All-NaN slice" at every paint
    of a scatter of NaN. The title says how many are left out; none left: no point at all."""
    snap = make_snapshot(task="adding", seq_len=16, probe_batch=5)
    y_hat = np.array(snap.trace.y_hat)
    y_hat[:diverged] = np.nan
    snap = dataclasses.replace(snap, trace=dataclasses.replace(snap.trace, y_hat=y_hat))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = show(snap)
        panel.grab()  # paints: the scatter's bounds
    assert not [w for w in caught if "NaN" in str(w.message)]
    _, y = panel.scatter.getData()
    np.testing.assert_allclose(y, y_hat[diverged:, -1, 0])
    assert f"{diverged} ŷ not finite" in panel.scatter_plot.titleLabel.text
    assert np.isfinite(panel.diagonal.getData()[1]).all()


def test_sine_plots_prediction_and_target_with_the_cursor(make_snapshot, show):
    snap = make_snapshot(task="sine", seq_len=20)
    panel = show(snap)
    np.testing.assert_array_equal(panel.pred_curve.yData, snap.trace.y_hat[0, :, 0])
    np.testing.assert_array_equal(panel.target_curve.yData, snap.trace.y[0, :, 0])
    panel.cursor.set(9)
    assert panel.cursor_line.value() == 9
    assert panel.scatter_plot.scene() is None  # only the adding task has a scatter
    assert not panel.rows_scroll.isVisible()


def test_copy_shows_input_target_and_predicted_symbols(make_snapshot, show):
    snap = make_snapshot(task="copy", seq_len=12)
    panel = show(snap)
    tr = snap.trace
    vocab = tr.meta["output_vocab"]
    data = "".join(vocab[i] for i in tr.y[0, -5:])
    assert panel.rows_scroll.isVisible()
    assert not panel.loss_plot.getAxis("left").logMode  # cross-entropy: linear by default
    assert panel.chance_line.value() == pytest.approx(np.log(8))
    rows = {name: "".join(symbols) for name, symbols, _ in panel._rows}
    assert rows["input"].startswith(data) and rows["target"].endswith(data)
    pred = tr.y_hat[0].argmax(-1)
    assert rows["predicted"] == "".join(vocab[i] for i in pred)
    colours = panel._rows[-1][2]
    for t in range(12 - 5, 12):
        assert colours[t] == (theme.GREEN if pred[t] == tr.y[0, t] else theme.VERMILION)
    text = panel.rows_label.text()
    assert "predicted" in text and "scored steps right" in text
    panel.cursor.set(4)
    assert "t = 4" in panel.rows_label.text()


def test_charlm_sample_box_and_temperature_signal(make_snapshot, show, qtbot):
    snap = make_snapshot(task="charlm", seq_len=16)
    panel = show(snap)
    assert panel.sample_box.toPlainText() == NO_SAMPLE
    panel = show(
        dataclasses.replace(snap, extras={"sample": "To be, or not", "temperature": 1.0}), panel
    )
    assert panel.sample_box.toPlainText() == "To be, or not"
    assert panel.temperature_spin.isVisible()
    with qtbot.waitSignal(panel.temperature_changed) as blocker:
        panel.temperature_spin.setValue(0.5)
    assert blocker.args == [0.5]
    assert [name for name, _, _ in panel._rows] == ["input", "next", "predicted"]


@pytest.mark.parametrize("typed", ["0", "-1", "nan", "inf"])
def test_a_bad_temperature_is_refused_beside_the_field(make_snapshot, show, qtbot, typed):
    panel = show(make_snapshot(task="charlm", seq_len=16))
    field = panel.temperature_spin
    with qtbot.assertNotEmitted(panel.temperature_changed):
        field.lineEdit().selectAll()
        qtbot.keyClicks(field.lineEdit(), typed)
        qtbot.keyClick(field.lineEdit(), Qt.Key.Key_Return)
    assert panel.temperature_note.isVisible()
    assert panel.temperature_note.text() == (
        f"temperature must be a positive number, got {float(typed)!r}"
    )
    with qtbot.waitSignal(panel.temperature_changed) as blocker:  # a good one clears it
        field.setValue(0.7)
    assert blocker.args == [0.7] and not panel.temperature_note.isVisible()


def test_switching_task_rearranges_the_views(make_snapshot, show):
    panel = show(make_snapshot(task="adding"))
    assert panel.pred_plot.scene() is not None and panel.scatter_plot.scene() is not None
    panel = show(make_snapshot(task="copy"), panel)
    assert panel.pred_plot.scene() is None and panel.scatter_plot.scene() is None
    assert panel.rows_scroll.isVisible() and not panel.sample_group.isVisible()


def test_hover_reads_out_loss_and_prediction(make_snapshot, show):
    snap = make_snapshot(steps=6, task="sine", seq_len=15)
    panel = show(snap)
    panel.grab()  # paint once: plots lay out and auto-range as on screen
    h = snap.history
    pos = panel.loss_plot.vb.mapViewToScene(pg.Point(3, np.log10(h.loss[2])))
    panel.view.scene().sigMouseMoved.emit(pos)
    assert panel.hover_label.text() == f"step 3:  loss = {h.loss[2]:.5g}"
    y, y_hat = snap.trace.y[0, 5, 0], snap.trace.y_hat[0, 5, 0]
    panel.view.scene().sigMouseMoved.emit(panel.pred_plot.vb.mapViewToScene(pg.Point(5, y)))
    assert panel.hover_label.text() == f"t = 5:  ŷ = {y_hat:.4f},  y = {y:.4f}"


def visible(view) -> QRectF:
    """The part of a GraphicsLayoutWidget's scene that is on screen (and in an export)."""
    return view.mapToScene(view.viewport().rect()).boundingRect()


@pytest.mark.parametrize("task", ["sine", "adding"])
def test_narrow_panel_keeps_the_prediction_plot_usable(make_snapshot, show, qtbot, task):
    panel = TrainingPanel(TimeCursor())
    qtbot.addWidget(panel)
    panel.resize(450, 330)  # the smallest the default layout gives it
    panel.show()
    show(make_snapshot(task=task), panel)
    panel.grab()
    pred = panel.pred_plot.sceneBoundingRect()
    assert pred.width() > 150 and panel.pred_plot.vb.height() > 40
    assert visible(panel.view).contains(pred)  # nothing cut off at the right
    for plot in (panel.loss_plot, panel.pred_plot, panel.scatter_plot):
        title = plot.titleLabel
        if plot.scene() is not None:  # long titles wrap rather than widen or leave the plot
            assert title.item.boundingRect().width() <= plot.width()


def test_prediction_sits_beside_the_loss_when_wide_and_below_it_when_tall(
    make_snapshot, show, qtbot
):
    panel = TrainingPanel(TimeCursor())
    qtbot.addWidget(panel)
    panel.resize(1600, 500)
    panel.show()
    show(make_snapshot(task="sine"), panel)
    panel.grab()
    loss, pred = panel.loss_plot.sceneBoundingRect(), panel.pred_plot.sceneBoundingRect()
    assert pred.left() >= loss.right() - 1 and pred.top() < loss.center().y() < pred.bottom()
    panel.resize(450, 700)
    panel.grab()
    loss, pred = panel.loss_plot.sceneBoundingRect(), panel.pred_plot.sceneBoundingRect()
    assert pred.top() >= loss.bottom() - 1 and pred.width() == pytest.approx(loss.width(), abs=2)


def test_chance_label_stays_clear_of_the_title(make_snapshot, show, qtbot):
    panel = TrainingPanel(TimeCursor())
    qtbot.addWidget(panel)
    panel.resize(520, 330)
    panel.show()
    show(make_snapshot(steps=30, task="sine"), panel)  # starts at chance: the line on top
    panel.grab()
    label = panel.chance_line.label.sceneBoundingRect()
    assert not label.intersects(panel.loss_plot.titleLabel.sceneBoundingRect())
    assert panel.loss_plot.vb.sceneBoundingRect().contains(label)


def test_axes_show_small_values_without_an_si_prefix(make_snapshot, show):
    panel = show(make_snapshot(task="adding"))
    for plot in (panel.loss_plot, panel.pred_plot, panel.scatter_plot):
        plot.setYRange(0.0, 0.002)
        for side in ("left", "bottom"):
            assert "(x" not in plot.getAxis(side).labelString()


@pytest.mark.parametrize("font_pt", [11, 16])  # 16: presentation mode's larger fonts
def test_the_loss_beside_sampled_text_is_drawn_smaller_not_flat(make_snapshot, show_panel, font_pt):
    """where_gradient at 1280x720 gives this panel ~455 x 300 with a char LM: the loss plot
    beside the sampled text was squashed flat, and in presentation mode only an axis was
    left."""
    theme.apply(font_pt / 11)
    try:
        panel = show_panel(TrainingPanel, make_snapshot(task="charlm"), size=(455, 300))
        panel.grab()  # lay out and paint as on screen
        view = panel.view
        scale = view.viewport().height() / view.range.height()  # screen pixels per scene unit
        assert panel.loss_plot.vb.height() * scale >= 30  # the curve has room on screen
        assert visible(view).contains(panel.loss_plot.sceneBoundingRect())
    finally:
        theme.apply()
