"""The settings side bar: the form and Config agree, refusals, live and new-model changes."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt

from rnnviz.core.config import (
    CELL_CHOICES,
    CLIPS,
    ENCODERS,
    INITS,
    OPTIMIZERS,
    TASKS,
    Config,
    ConfigError,
)
from rnnviz.core.tasks import TASKS as TASKS_BY_NAME
from rnnviz.qt.number_field import NumberField
from rnnviz.qt.refusals import refusals
from rnnviz.qt.settings import CELL_LABELS, SettingsPanel

# Every setting the side bar shows, away from its default.
UNUSUAL = Config(
    cell="rnn", nonlinearity="relu", hidden=17, layers=3, bidirectional=True,
    encoder="onehot", embed_dim=9, init="orthogonal", spectral_radius=0.9, forget_bias=2.5,
    task="tagging", seq_len=33, batch=5, optimizer="sgd", lr=0.003, momentum=0.5,
    clip="value", clip_threshold=0.25, seed=42, device="cpu",
)  # fmt: skip


@pytest.fixture
def panel(qtbot):
    p = SettingsPanel(Config())
    qtbot.addWidget(p)
    return p


def test_every_choice_has_an_entry(panel):
    assert {c.partition(":")[0] for c in CELL_LABELS} == set(CELL_CHOICES)  # bow too
    for box, choices in ((panel.task, TASKS), (panel.encoder, ENCODERS), (panel.init, INITS),
                         (panel.optimizer, OPTIMIZERS), (panel.clip, CLIPS)):  # fmt: skip
        assert [box.itemData(i) for i in range(box.count())] == list(choices)


def test_the_menus_show_the_registries_labels_and_enable_what_the_choice_uses(panel):
    from rnnviz.core import cells, tasks

    box = panel.task
    assert [box.itemText(i) for i in range(box.count())] == [t.label for t in tasks.TASKS.values()]
    texts = [panel.cell.itemText(i) for i in range(panel.cell.count())]
    assert texts[:2] == ["Elman RNN (tanh)", "Elman RNN (ReLU)"]
    gated = [c.label for c in cells.CELLS.values() if not c.nonlinearities]
    assert texts[2:] == [*gated, "Bag of words (order-blind baseline)"]
    for name, spec in cells.CELLS.items():  # the forget-gate bias needs a forget gate
        panel.set_config(Config(cell=name))
        assert panel.use_forget_bias.isEnabled() == ("f" in spec.gate_names)
    for name, spec in tasks.TASKS.items():  # a text file for the task that learns one
        panel.set_config(Config(task=name))
        assert panel.text.isEnabled() == spec.uses_text


def test_the_form_shows_a_config_exactly(panel):
    for name in ("task", "cell", "init", "device"):
        assert getattr(UNUSUAL, name) != getattr(Config(), name)
    panel.set_config(UNUSUAL)
    assert panel.config() == UNUSUAL
    assert not panel.apply_button.isEnabled() and panel.error_text() == ""
    panel.set_config(Config(cell="gru", nonlinearity="relu"))  # kept though GRU ignores it
    assert panel.config() == Config(cell="gru", nonlinearity="relu")


def test_live_changes_emit_and_others_wait_for_apply(panel, qtbot):
    with qtbot.waitSignal(panel.learning_rate_changed) as lr:
        panel.lr.setValue(0.5)
    assert lr.args == [0.5] and panel.applied_config().lr == 0.5
    with qtbot.waitSignal(panel.clipping_changed) as clip:
        panel.clip.setCurrentIndex(panel.clip.findData("norm"))
    assert clip.args == ["norm", 1.0]
    with qtbot.assertNotEmitted(panel.apply_requested):
        panel.layers.setValue(2)
    assert panel.apply_button.isEnabled() and panel.pending.text().endswith("layers")
    with qtbot.waitSignal(panel.apply_requested) as applied:  # step 0: nothing to confirm
        panel.apply_button.click()
    assert applied.args[0] == dataclasses.replace(Config(), lr=0.5, clip="norm", layers=2)


def test_refusals_keep_the_running_config(panel, qtbot, tmp_path):
    panel.task.setCurrentIndex(panel.task.findData("charlm"))
    panel.text.setText(str(tmp_path / "missing.txt"))
    panel.text.editingFinished.emit()
    assert "text file not found" in panel.error_text() and not panel.apply_button.isEnabled()
    panel.encoder.setCurrentIndex(panel.encoder.findData("linear"))
    assert "symbol inputs" in panel.error_text()
    with qtbot.assertNotEmitted(panel.learning_rate_changed):
        panel.lr.setValue(0.0)
    assert "learning rate must be a positive number" in panel.error_text()
    assert panel.applied_config() == Config()
    panel.revert_button.click()
    assert panel.config() == Config() and panel.error_text() == ""


@pytest.mark.parametrize(
    "start, steps, expected",
    [(0.01, 1, 0.02), (0.02, 1, 0.05), (0.05, 1, 0.1), (0.01, -1, 0.005), (0.03, 1, 0.05),
     (0.03, -1, 0.02), (1e-5, 3, 1e-4), (0.0, 1, 0.002)],
)  # fmt: skip
def test_learning_rate_steps_along_1_2_5(qtbot, start, steps, expected):
    box = NumberField()
    qtbot.addWidget(box)
    box.setValue(start)
    box.stepBy(steps)
    assert box.value() == pytest.approx(expected)
    assert box.text() == f"{expected:g}"


def type_into(qtbot, field, text: str) -> None:
    """Type `text` over a field's contents and press Enter, as a user would."""
    field.lineEdit().selectAll()
    qtbot.keyClicks(field.lineEdit(), text)
    qtbot.keyClick(field.lineEdit(), Qt.Key.Key_Return)


def cli_message(**setting) -> str:
    """What the command line says for the same value (the same validation)."""
    with pytest.raises(ConfigError) as refused:
        Config(**setting).validate()
    return str(refused.value)


@pytest.mark.parametrize(
    "name, text, value",
    [("hidden", "5000", 5000), ("layers", "9", 9), ("seq_len", "1", 1),
     ("batch", "100000", 100_000), ("hidden", "-1", -1), ("seed", "-1", -1)],
)  # fmt: skip
def test_a_whole_number_out_of_range_is_refused_beside_its_field(panel, qtbot, name, text, value):
    panel.show()
    field = getattr(panel, name)
    with qtbot.assertNotEmitted(panel.apply_requested):
        type_into(qtbot, field, text)
    assert field.value() == value  # kept as typed, not clamped
    note = panel.notes[name]
    assert note.isVisible() and note.text() == cli_message(**{name: value})
    assert panel.error_text() == note.text() and not panel.apply_button.isEnabled()
    assert panel.applied_config() == Config()
    panel.revert_button.click()
    assert not note.isVisible() and panel.error_text() == "" and field.value() != value


@pytest.mark.parametrize("name", ["lr", "clip_threshold"])
@pytest.mark.parametrize("text", ["nan", "inf", "-1", "0"])
def test_a_bad_live_value_is_refused_beside_its_field(panel, qtbot, name, text):
    panel.show()
    panel.clip.setCurrentIndex(panel.clip.findData("norm"))  # the threshold is in use
    running = panel.applied_config()
    with qtbot.assertNotEmitted(panel.learning_rate_changed):
        with qtbot.assertNotEmitted(panel.clipping_changed):
            type_into(qtbot, getattr(panel, name), text)
    assert getattr(panel, name).text() == f"{float(text):g}"  # the field keeps what was typed
    note = panel.notes[name]
    assert note.isVisible() and note.text() == cli_message(**{name: float(text)})
    assert panel.applied_config() == running


@pytest.mark.parametrize("text", ["nan", "-0.5"])
def test_a_bad_weight_decay_is_refused_beside_its_field(panel, qtbot, text):
    panel.show()
    with qtbot.assertNotEmitted(panel.apply_requested):
        type_into(qtbot, panel.weight_decay, text)
    note = panel.notes["weight_decay"]
    assert note.isVisible() and note.text() == cli_message(weight_decay=float(text))
    assert note.text().startswith("weight decay must be 0 or more")
    assert not panel.apply_button.isEnabled() and panel.applied_config() == Config()


def test_a_large_learning_rate_is_taken_as_the_command_line_takes_it(panel, qtbot):
    panel.show()
    with qtbot.waitSignal(panel.learning_rate_changed) as lr:
        type_into(qtbot, panel.lr, "1e9")
    assert lr.args == [1e9] and panel.error_text() == ""


def test_a_reason_about_two_settings_shows_beside_the_one_just_edited(panel, qtbot):
    panel.show()
    panel.task.setCurrentIndex(panel.task.findData("copy"))
    type_into(qtbot, panel.seq_len, "3")
    assert panel.notes["seq_len"].text() == cli_message(task="copy", seq_len=3)
    assert not panel.notes["task"].isVisible()
    type_into(qtbot, panel.hidden, "5000")  # a second reason, beside its own field
    assert panel.notes["hidden"].text() == cli_message(hidden=5000)
    assert panel.notes["seq_len"].isVisible()
    assert panel.error_text().splitlines() == [
        cli_message(task="copy", seq_len=3),
        cli_message(hidden=5000),
    ]


def test_refusals_name_the_settings_a_reason_is_about():
    values = {**Config().to_dict(), "task": "copy", "seq_len": 3, "lr": float("nan")}
    found = refusals(values, Config())
    assert found == [
        (cli_message(lr=float("nan")), ("lr",)),
        (cli_message(task="copy", seq_len=3), ("task", "seq_len")),
    ]
    assert refusals(Config().to_dict(), Config()) == []


def test_the_tasks_of_words_and_notes_and_the_bag_of_words_are_offered(panel, qtbot):
    tasks = [panel.task.itemData(i) for i in range(panel.task.count())]
    for name in ("sentiment", "tagging", "wordlm", "music", "dates", "reverse", "sort"):
        assert name in tasks
    bidirectional = Config(task="sentiment", layers=2, bidirectional=True, spectral_radius=0.9)
    panel.set_config(bidirectional)
    assert panel.layers.isEnabled() and panel.bidirectional.isEnabled()
    panel.cell.setCurrentIndex(panel.cell.findData("bow"))
    # a bag of words has no layers, direction or W_hh: off, each with its reason
    for field in (panel.layers, panel.bidirectional, panel.use_radius, panel.radius):
        assert not field.isEnabled()
    assert "no recurrent layers" in panel.layers.toolTip()
    assert "no direction" in panel.bidirectional.toolTip()
    assert "W_hh" in panel.use_radius.toolTip()
    # the box still ticked is not a refusal: Apply builds the forward-only baseline
    assert panel.error_text() == "" and panel.apply_button.isEnabled()
    with qtbot.waitSignal(panel.apply_requested) as sent:
        panel.step = 0  # no confirmation: nothing trained yet
        panel.apply()
    assert sent.args[0].cell == "bow" and not sent.args[0].bidirectional
    assert sent.args[0].spectral_radius is None
    panel.cell.setCurrentIndex(panel.cell.findData("lstm"))
    assert panel.bidirectional.isEnabled() and panel.bidirectional.isChecked()
    assert panel.layers.toolTip() == ""
    # a language model predicts the next word: no reverse direction, which would read it
    panel.task.setCurrentIndex(panel.task.findData("wordlm"))
    assert not panel.bidirectional.isEnabled() and "would read it" in panel.bidirectional.toolTip()
    assert panel.error_text() == "" and not panel.config().bidirectional


def test_a_new_model_of_another_task_starts_at_that_tasks_rate_and_decay(panel, qtbot):
    music = TASKS_BY_NAME["music"]
    assert (music.lr, music.weight_decay) == (0.005, 0.2) != (Config().lr, Config().weight_decay)
    panel.task.setCurrentIndex(panel.task.findData("music"))
    assert panel.lr.value() == 0.01  # the running model keeps its rate until Apply
    assert panel.pending.text() == (
        "Needs a new model: task, the music task's learning rate 0.005 and weight decay 0.2"
    )
    with qtbot.waitSignal(panel.apply_requested) as sent:
        panel.apply()
    assert sent.args[0] == Config(task="music")
    assert (sent.args[0].lr, sent.args[0].weight_decay) == (0.005, 0.2)
    panel.set_config(sent.args[0])
    assert panel.weight_decay.value() == 0.2
    panel.task.setCurrentIndex(panel.task.findData("sine"))  # back again: sine's own
    assert (panel.config().lr, panel.config().weight_decay) == (0.01, 0.0)
    # a value the user chose stays with the new model, whatever its task
    panel.set_config(Config())
    with qtbot.waitSignal(panel.learning_rate_changed):
        panel.lr.setValue(0.02)
    panel.weight_decay.setValue(0.1)
    panel.task.setCurrentIndex(panel.task.findData("music"))
    assert panel.pending.text() == "Needs a new model: task, weight_decay"
    assert (panel.config().lr, panel.config().weight_decay) == (0.02, 0.1)
