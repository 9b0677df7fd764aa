"""'Where the gradient comes from' stacks each step's bar to the true ‖∂L/∂h_t‖ in bands by
distance, draws one column per run, traces a hovered loss back in time and exports; 'Memory
reach' draws one curve per run over training at the chosen fraction."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF

from rnnviz.core.config import Config
from rnnviz.core.memory_reach import distance_bands, item_norms, reach_over_training
from rnnviz.core.protocol import RunView
from rnnviz.core.train import Trainer
from rnnviz.qt.panels.lab.itemized import SEQ2SEQ, ItemizedPanel
from rnnviz.qt.panels.lab.memory_reach import MemoryReachPanel


@pytest.fixture(scope="module")
def compared():
    """A snapshot of an RNN and a GRU on the sine task, three recordings each."""
    trainers = []
    for cell in ("rnn", "gru"):
        t = Trainer(Config(task="sine", cell=cell, hidden=6, seq_len=16, batch=4, device="cpu"))
        for _ in range(3):
            t.record(jacobians=False)
            t.train_step()
        trainers.append(t)
    traces = [t.record(jacobians=False) for t in trainers]
    runs = tuple(
        RunView(
            t.config.cell.upper(), t.step_count, False, t.history.view(), tr, t.probe_log.view()
        )
        for t, tr in zip(trainers, traces, strict=True)
    )
    return trainers[0].snapshot(state="paused", trace=traces[0], steps_per_s=0.0, runs=runs)


def bar_tops(column) -> np.ndarray:
    top = np.zeros(len(column.grad))
    for bar in column.bars:
        o = bar.opts
        top = np.maximum(top, np.asarray(o["y0"]) + np.asarray(o["height"]))
    return top


def test_bars_stack_to_the_true_norm_one_column_per_run(compared, show_panel, tmp_path):
    panel = show_panel(ItemizedPanel, compared, size=(1400, 800))
    assert [c.label for c in panel.columns] == ["RNN", "GRU"]
    for column, run in zip(panel.columns, compared.runs, strict=True):
        lt = run.trace.layer(0)
        g = np.linalg.norm(lt.grad_h[0].astype(np.float64), axis=-1)
        np.testing.assert_allclose(bar_tops(column), g, rtol=1e-9)
        steps = np.flatnonzero(run.trace.loss_mask[0])
        expected = distance_bands(item_norms(lt.grad_items), g, steps, False)
        np.testing.assert_allclose(column.bands, expected)
    legend = [label.text for _, label in panel.legend.items]
    assert legend[0] == "d = 0" and "behind (d < 0)" not in legend  # one-way: nothing behind
    assert not panel.note.isVisible()
    for suffix in ("png", "svg"):
        assert panel.export(tmp_path / f"itemized.{suffix}").stat().st_size > 1000
    tables = panel.data_tables()
    assert list(tables["time"])[:2] == ["t", "RNN: ‖∂L/∂h_t‖"]
    gru = item_norms(compared.runs[1].trace.layer(0).grad_items)
    np.testing.assert_allclose(tables["items"]["GRU: ‖∂L_j/∂h_t‖ j = 3"], gru[3])


def test_hovering_a_loss_step_traces_it_back(compared, show_panel):
    panel = show_panel(ItemizedPanel, compared, size=(1400, 800))
    column = panel.columns[0]
    j = 10
    scene = column.matrix_plot.vb.mapViewToScene(QPointF(4.0, float(j)))
    panel._hover(scene)
    x, y = column.horizon_curve.getData()
    np.testing.assert_allclose(y, column.norms[j])  # loss j's gradient over t (sine: j = row)
    assert column.row_line.value() == j and f"j = {j}" in panel.hover_label.text()
    assert (y[j + 1 :] == 0).all()  # causality: loss j does not reach later states


def test_encoder_decoder_and_skipped_recordings_say_why(compared, show_panel):
    meta = {**compared.trace.meta, "task_shape": "sequence-to-sequence"}
    s2s = dataclasses.replace(
        compared, trace=dataclasses.replace(compared.trace, meta=meta), runs=()
    )
    panel = show_panel(ItemizedPanel, s2s)
    assert panel.note.isVisible() and panel.note.text() == SEQ2SEQ and not panel.data_tables()
    lt = dataclasses.replace(compared.trace.layers[0], grad_items=None)
    meta = {**compared.trace.meta, "grad_items": "skipped: too long"}
    skipped = dataclasses.replace(compared.trace, layers=(lt,), meta=meta)
    panel.set_snapshot(dataclasses.replace(compared, trace=skipped, runs=()))
    assert panel.refresh(force=True)
    assert "skipped: too long" in panel.note.text()


def test_memory_reach_one_curve_per_run_at_the_chosen_fraction(compared, show_panel, tmp_path):
    panel = show_panel(MemoryReachPanel, compared, size=(900, 500))
    for curve, run in zip(panel.curves, compared.runs, strict=True):
        x, y = curve.getData()
        np.testing.assert_array_equal(x, run.probes.step)
        np.testing.assert_array_equal(y, reach_over_training(run.probes.profiles["l0"], 0.01))
    panel.fraction.setValue(50.0)
    assert panel.refresh(force=True) is not None
    x, y = panel.curves[0].getData()
    np.testing.assert_array_equal(
        y, reach_over_training(compared.runs[0].probes.profiles["l0"], 0.5)
    )
    table = panel.data_tables()["steps"]
    assert list(table) == ["step", "RNN: memory reach (steps)", "GRU: memory reach (steps)"]
    assert panel.export(tmp_path / "reach.png").stat().st_size > 1000


def test_a_comparison_after_a_single_run_puts_the_colour_bar_right_of_every_column(
    compared, show_panel
):
    single = dataclasses.replace(compared, runs=())
    panel = show_panel(ItemizedPanel, single, size=(1400, 800))
    assert [c.label for c in panel.columns] == ["this run"]
    panel.set_snapshot(compared)  # a grid cell taken twice would be a Qt warning: a failure
    assert panel.refresh(force=True)
    assert len(panel.columns) == 2
    assert panel.view.ci.items[panel.colorbar] == [(2, 2)]


def test_a_run_without_any_reach_draws_no_points_and_says_so(compared, show_panel):
    """A run whose gradient has no near field (all zero) has no reach at any recording: its
    curve is empty (not a scatter of NaN, on which pyqtgraph warns) and its legend says so."""
    gru = compared.runs[1]
    flat = {k: np.zeros_like(v) for k, v in gru.probes.profiles.items()}
    runs = (
        compared.runs[0],
        dataclasses.replace(gru, probes=dataclasses.replace(gru.probes, profiles=flat)),
    )
    panel = show_panel(MemoryReachPanel, dataclasses.replace(compared, runs=runs), size=(900, 500))
    x, _ = panel.curves[1].getData()
    assert x is None or len(x) == 0
    assert len(panel.curves[0].getData()[0]) == len(compared.runs[0].probes.step)
    assert panel.legend.items[1][1].text == "GRU (no reach)"


def legend_in_the_clear(panel, plots) -> bool:
    """On screen, the legend lies whole in the view (not cut off at its right edge) and over
    no plot or plot title."""
    view = panel.view
    legend = panel.legend.deviceTransform(view.viewportTransform())
    legend = legend.mapRect(panel.legend.boundingRect())
    inside = QRectF(view.viewport().rect()).adjusted(-0.5, -0.5, 0.5, 0.5).contains(legend)
    drawn = [QRectF(view.mapFromScene(p.sceneBoundingRect()).boundingRect()) for p in plots]
    return inside and not any(legend.intersects(d) for d in drawn)


@pytest.mark.parametrize("panel_class", [ItemizedPanel, MemoryReachPanel])
def test_the_legend_wraps_in_a_narrow_dock_and_covers_nothing(
    compared, show_panel, qtbot, panel_class
):
    """At 1280x720 a preset's panel is ~460 x 300, narrower here: the band legend (a row of
    six) and the runs' legend (a row of four) were cut off at the right edge, and the bands'
    second row printed over the first column's title."""
    runs = tuple(dataclasses.replace(r, label=f"{r.label} (a long label)") for r in compared.runs)
    panel = show_panel(panel_class, dataclasses.replace(compared, runs=runs), size=(380, 300))
    if panel_class is ItemizedPanel:
        plots = [p for c in panel.columns for p in (c.bars_plot, c.matrix_plot)]
    else:
        plots = [panel.plot]
    qtbot.waitUntil(lambda: legend_in_the_clear(panel, plots))
    assert all(p.vb.height() >= 40 for p in plots)  # drawn smaller, not flattened


def test_a_run_without_recurrent_layers_beside_gets_no_column(compared, show_panel):
    """'Order matters' compares an LSTM with the bag-of-words baseline: the monkey found the
    panel raising on the baseline's run; it draws the recurrent runs' columns only."""
    bow = Trainer(Config(task="sentiment", cell="bow", hidden=6, seq_len=19, batch=4, device="cpu"))
    trace = bow.record()
    run = RunView("BoW", bow.step_count, False, bow.history.view(), trace, bow.probe_log.view())
    panel = show_panel(ItemizedPanel, dataclasses.replace(compared, runs=(*compared.runs, run)))
    assert not panel.note.isVisible()
    assert [c.label for c in panel.columns] == ["RNN", "GRU"]


def test_a_new_recording_redraws_the_same_bar_items_to_its_true_norms(show_panel):
    """The bars and the legend are updated in place (rebuilding them was most of the panel's
    redraw time), and still stack to the new recording's ‖∂L/∂h_t‖."""
    t = Trainer(Config(task="sine", cell="rnn", hidden=6, seq_len=16, batch=4, device="cpu"))
    first = t.snapshot(state="paused", trace=t.record(jacobians=False), steps_per_s=0.0)
    panel = show_panel(ItemizedPanel, first)
    bars, legend = list(panel.columns[0].bars), list(panel.legend.items)
    for _ in range(3):
        t.train_step()
    later = t.snapshot(state="paused", trace=t.record(jacobians=False), steps_per_s=0.0)
    panel.set_snapshot(later)
    assert panel.refresh()
    column = panel.columns[0]
    assert column.bars == bars and panel.legend.items == legend
    g = np.linalg.norm(later.trace.layer(0).grad_h[0].astype(np.float64), axis=-1)
    np.testing.assert_allclose(bar_tops(column), g, rtol=1e-9)


def test_a_diverged_run_whose_items_are_all_nan_draws_without_a_numpy_warning(show_panel):
    """A diverged run records NaN items: their colour levels come from the finite ones (none:
    the default six decades under 1), and numpy's "All-NaN slice" warning is not raised at
    every recording (the monkey, seed 45)."""
    t = Trainer(Config(task="sine", cell="rnn", hidden=6, seq_len=16, batch=4, device="cpu"))
    snap = t.snapshot(state="paused", trace=t.record(jacobians=False), steps_per_s=0.0)
    lt = snap.trace.layer(0)
    items = np.full_like(lt.grad_items, np.nan)
    layer = dataclasses.replace(lt, grad_items=items)
    snap = dataclasses.replace(snap, trace=dataclasses.replace(snap.trace, layers=(layer,)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        panel = show_panel(ItemizedPanel, snap)
    assert not [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert tuple(panel.colorbar.levels()) == (-6.0, 0.0)
