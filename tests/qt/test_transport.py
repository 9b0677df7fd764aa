"""The transport bar: the text at t, and the time controls driving the shared TimeCursor."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pytest
from PySide6.QtCore import Qt

from rnnviz.core.trace import Trace
from rnnviz.qt.timeline import TimeCursor
from rnnviz.qt.transport import TransportBar, describe_timestep


def fake_trace(task: str, x_raw, y, y_hat, mask=None, in_vocab=None, out_vocab=None) -> Trace:
    """A Trace holding only what the readout uses; arrays are (B=1, T, …)."""
    x_raw, y, y_hat = (np.asarray(a)[None] for a in (x_raw, y, y_hat))
    T = x_raw.shape[1]
    meta = {"task": task, "input_vocab": in_vocab, "output_vocab": out_vocab}
    return Trace(
        meta=MappingProxyType(meta),
        x=np.zeros((1, T, 1)),
        x_raw=x_raw,
        y=y,
        y_hat=y_hat,
        loss=0.0,
        loss_mask=np.ones((1, T)) if mask is None else np.asarray(mask, float)[None],
        layers=(),
        params=MappingProxyType({}),
    )


def test_classification_shows_symbols_probability_and_target():
    vocab = ["a", "b", "e", "␣"]
    logits = np.log(np.array([[0.1, 0.1, 0.62, 0.18], [0.7, 0.1, 0.1, 0.1]]))  # (T=2, O)
    trace = fake_trace("charlm", [2, 3], [2, 1], logits, in_vocab=vocab, out_vocab=vocab)
    assert describe_timestep(trace, 0) == (
        "t = 0 / 1   input: 'e'   output: 'e' (p=0.62), target 'e'"
    )
    assert describe_timestep(trace, 1) == (
        "t = 1 / 1   input: '␣'   output: 'a' (p=0.70), target 'b'"
    )


def test_regression_shows_values_and_unscored_steps():
    x = [[0.5], [-0.25], [1.0]]
    trace = fake_trace("sine", x, [[-0.25], [1.0], [0.0]], [[0.1], [0.9], [0.123]], mask=[1, 1, 0])
    assert describe_timestep(trace, 1) == "t = 1 / 2   input: -0.25   output: 0.90, target 1.00"
    assert describe_timestep(trace, 2).endswith("output: 0.12, target 0.00 (not scored)")
    huge = fake_trace("sine", [[0.5]] * 2, [[0.005]] * 2, [[3.9e19]] * 2)
    assert describe_timestep(huge, 0).endswith("output: 3.90e+19, target 5.00e-03")


def test_adding_task_names_the_marker():
    x = [[0.42, 1.0], [0.3, 0.0]]
    trace = fake_trace("adding", x, [[0.9], [0.9]], [[0.5], [0.8]], mask=[0, 1])
    assert "input: 0.42, marker 1" in describe_timestep(trace, 0)
    assert "input: 0.30, marker 0" in describe_timestep(trace, 1)


def test_t_is_clamped_to_the_sequence():
    trace = fake_trace("sine", [[0.0], [1.0]], [[1.0], [0.0]], [[0.0], [0.0]])
    assert describe_timestep(trace, 99).startswith("t = 1 / 1")
    assert describe_timestep(trace, -3).startswith("t = 0 / 1")


@pytest.mark.parametrize("task", ["sine", "adding", "copy", "charlm"])
def test_real_traces_match_the_tasks_own_description(make_snapshot, task):
    """The GUI formats from the Trace alone what the Task (in the worker) would say."""
    from rnnviz.core.tasks import make_task

    snap = make_snapshot(steps=2, task=task)
    trace = snap.trace
    t_task = make_task(snap.config)
    for t in (0, trace.T // 2, trace.T - 1):
        text = describe_timestep(trace, t)
        assert f"input: {_quoted(t_task, t_task.describe_input(trace.x_raw[0, t]))}" in text
        if t_task.kind == "classification":
            assert t_task.describe_output(trace.y_hat[0, t], trace.y[0, t]) in text


def _quoted(task, text):
    return f"'{text}'" if task.symbols_in else text


@pytest.fixture
def bar(qtbot):
    cursor = TimeCursor()
    bar = TransportBar(cursor)
    qtbot.addWidget(bar)
    cursor.set_length(5)
    return bar


def test_slider_and_buttons_move_the_cursor(bar, qtbot):
    cursor = bar.cursor
    assert bar.slider.maximum() == 4
    bar.slider.setValue(3)
    assert cursor.t == 3
    qtbot.mouseClick(bar.forward_button, Qt.MouseButton.LeftButton)
    assert cursor.t == 4 and bar.slider.value() == 4
    qtbot.mouseClick(bar.forward_button, Qt.MouseButton.LeftButton)  # clamped at T-1
    assert cursor.t == 4
    qtbot.mouseClick(bar.back_button, Qt.MouseButton.LeftButton)
    assert cursor.t == 3 and bar.readout.text() == "t = 3 / 4"
    cursor.set_length(3)  # a shorter sequence clamps t and the slider
    assert cursor.t == 2 and bar.slider.maximum() == 2 and bar.slider.value() == 2


def test_play_wraps_or_stops_at_the_end(bar, qtbot):
    bar.speed.setValue(60)
    bar.cursor.set(3)
    bar.toggle_play()
    seen = []
    bar.cursor.changed.connect(seen.append)
    qtbot.waitUntil(lambda: seen[:3] == [4, 0, 1], timeout=3000)  # loops
    bar.loop.setChecked(False)
    qtbot.waitUntil(lambda: not bar.play_button.isChecked(), timeout=3000)
    assert bar.cursor.t == 4 and bar.play_button.text() == "Play"


def test_train_button_emits_and_reflects_state(bar, qtbot):
    with qtbot.waitSignal(bar.train_toggled) as blocker:
        bar.toggle_training()
    assert blocker.args == [True] and bar.train_button.text() == "Pause"
    with qtbot.assertNotEmitted(bar.train_toggled):
        bar.set_training(False)  # from a snapshot: shows the state, requests nothing
    assert bar.train_button.text() == "Train" and not bar.train_button.isChecked()
