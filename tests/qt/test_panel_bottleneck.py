"""The Bottleneck panel: it asks for the curve at a pause (or on Measure), shows the progress
while the training session measures one run a step, then draws one curve per run with a
legend, exports it without its controls, and writes the points as a CSV table."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.core.config import Config
from rnnviz.core.loop import session
from rnnviz.core.protocol import MeasureBottleneck, Step
from rnnviz.core.train import Trainer
from rnnviz.qt.panels.seq2seq.bottleneck import NOT_MEASURED, NOT_SEQ2SEQ, BottleneckPanel

TINY = {"task": "reverse", "seq_len": 5, "hidden": 8, "batch": 8, "device": "cpu"}


@pytest.fixture
def paused():
    """A session of two runs side by side (no attention, dot), paused after 3 steps; its
    clock stands still, so only commands make snapshots."""
    bare = Trainer(Config(**TINY, attention="none"))
    dot = Trainer(Config(**TINY, attention="dot"))
    steps = session(bare, label="no attention", companions=[("dot", dot)], clock=lambda: 0.0)
    next(steps)
    snap = steps.send(Step(3))
    while snap is None or snap.step < 3:
        snap = steps.send(None)
    yield steps, snap
    steps.close()


def test_a_pause_asks_for_the_curve_once_and_the_answer_is_drawn(show_panel, qtbot, paused):
    steps, snap = paused
    panel = show_panel(BottleneckPanel)
    with qtbot.waitSignal(panel.command_requested) as asked:
        panel.set_snapshot(snap)  # paused at step 3, shown, "at each pause": it asks
    assert asked.args == [MeasureBottleneck(1)]
    assert panel.progress.isVisible() and not panel.measure_button.isEnabled()
    assert panel.refresh() and panel.note.text() == NOT_MEASURED
    half = steps.send(asked.args[0])  # the session measures the first run …
    with qtbot.assertNotEmitted(panel.command_requested):  # … and is not asked again
        panel.set_snapshot(half)
    assert panel.progress.text() == "measuring: 1 of 2 runs"
    done = steps.send(None)
    panel.set_snapshot(done)
    assert panel.refresh() and not panel.progress.isVisible() and not panel.note.isVisible()
    assert panel.measure_button.isEnabled()
    curves = done.extras["bottleneck"].runs
    assert [name for _, name in legend(panel)] == ["no attention", "dot"]
    for item, curve in zip(panel.curves, curves, strict=True):
        x, y = item.getData()
        assert list(x) == [1, 2, 3, 4, 5] and np.allclose(y, curve.exact)
    assert "step 3" in panel.plot.titleLabel.text
    table = panel.data_tables()["lengths"]
    assert list(table) == ["input length", "exact match: no attention", "exact match: dot",
                           "held-out sequences"]  # fmt: skip
    assert table["held-out sequences"].sum() == 1024


def legend(panel):
    return [(sample, label.text) for sample, label in panel.legend.items]


def test_measure_asks_at_once_even_while_training(show_panel, qtbot, paused):
    _, snap = paused
    panel = show_panel(BottleneckPanel)
    panel.at_pause.setChecked(False)
    with qtbot.assertNotEmitted(panel.command_requested):
        panel.set_snapshot(snap)
    with qtbot.waitSignal(panel.command_requested) as asked:
        panel.measure_button.click()
    assert asked.args == [MeasureBottleneck(1)]


def test_the_export_is_the_figure_alone(show_panel, qtbot, paused, tmp_path):
    steps, snap = paused
    panel = show_panel(BottleneckPanel, snap)
    steps.send(MeasureBottleneck(1))
    panel.set_snapshot(steps.send(None))
    png, svg = panel.export(tmp_path / "b.png"), panel.export(tmp_path / "b.svg")
    assert png.stat().st_size > 10_000
    text = svg.read_text("utf-8")
    assert "no attention" in text and "Measure" not in text and "at each pause" not in text


def test_a_model_without_a_decoder_is_not_measured(show_panel, qtbot, make_snapshot):
    panel = show_panel(BottleneckPanel)
    with qtbot.assertNotEmitted(panel.command_requested):
        panel.set_snapshot(make_snapshot(task="sine", seq_len=10))
        panel.measure_button.click()
    assert panel.refresh(force=True)
    assert panel.note.text() == NOT_SEQ2SEQ and not panel.measure_button.isEnabled()


def test_the_lesson_quotes_the_curve_once_it_arrives_after_the_pause(qtbot):
    from rnnviz.core.presets import load_preset
    from rnnviz.qt.lessons import LessonDock

    preset = load_preset("bottleneck")
    (first, bare), (second, attended) = (
        (r.label, Trainer(Config(**TINY, attention=r.config.attention))) for r in preset.runs
    )
    steps = session(bare, label=first, companions=[(second, attended)], clock=lambda: 0.0)
    next(steps)
    snap = steps.send(Step(1))
    while snap is None or snap.state != "paused" or snap.step < 1:
        snap = steps.send(None)
    dock = LessonDock()
    qtbot.addWidget(dock)
    dock.show_preset(preset)
    dock.measure(snap)  # the pause: no curve yet
    assert "not measured yet" in dock.measured
    steps.send(MeasureBottleneck(1))
    dock.measure(steps.send(None))  # the same step, with both curves
    assert "held-out exact match from input length 1 to 5" in dock.measured
    steps.close()


def test_a_short_plot_keeps_its_0_and_100_percent_and_names_a_lone_curve(show_panel, qtbot):
    """A Bottleneck panel as a 1280x720 window lays it out (~460 x 300): the curve of a
    single run at 100% is read against a 100% label (the axis grid clipped both ends' labels,
    and 40% and 80% printed over their neighbours), and its legend says what the curve is,
    not the preset's title."""
    from dataclasses import replace

    from test_presentation import label_boxes  # tests/qt is on sys.path

    from rnnviz.core.seq2seq.bottleneck import EXTRAS_KEY, BottleneckCurves, RunCurve

    trainer = Trainer(Config(**TINY, attention="additive"))
    trainer.train_step()
    snap = trainer.snapshot(state="paused", trace=trainer.record(), steps_per_s=0.0)
    lengths = tuple(range(1, 13))
    curve = RunCurve("Attention aligns", "additive", 1, lengths, (1.0,) * 12, (85,) * 12)
    snap = replace(snap, extras={**snap.extras, EXTRAS_KEY: BottleneckCurves((curve,))})
    panel = show_panel(BottleneckPanel, size=(460, 300))
    panel.at_pause.setChecked(False)
    panel.set_snapshot(snap)
    assert panel.refresh(force=True)
    axis = panel.plot.getAxis("left")
    panel.grab()  # a paint: the axis widens to its labels
    qtbot.waitUntil(lambda: {"0%", "50%", "100%"} <= {t for t, _ in label_boxes(axis)})
    assert [name for _, name in legend(panel)] == ["additive attention"]
    assert list(panel.data_tables()["lengths"])[1] == "exact match: additive attention"
