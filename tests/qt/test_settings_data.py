"""The side bar's data file: shown for the tasks that take data, checked in the command line's
words, a bad file refused beside the field with the running model untouched."""

from __future__ import annotations

import pytest

from rnnviz import cli
from rnnviz.core.config import Config
from rnnviz.qt.settings import SettingsPanel

MELODIES = "One: C4 D4 E4 C4\nTwo: E4 F4 G4/2\nThree: G4/8 A4/8 G4/8 F4/8 E4 C4\n"


@pytest.fixture
def panel(qtbot):
    p = SettingsPanel(Config())
    qtbot.addWidget(p)
    return p


def choose(panel, task: str, path) -> None:
    panel.task.setCurrentIndex(panel.task.findData(task))
    panel.data.path.setText(str(path))
    panel.data.path.editingFinished.emit()  # as Enter, or the file dialog, does


def cli_error(capsys, task: str, path) -> str:
    """The one line `rnnviz train --data` prints for the same file."""
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--task", task, "--data", str(path), "--steps", "1"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    return err


def test_the_row_shows_only_for_the_tasks_that_take_data(panel):
    shown = {}
    for task in ("sine", "charlm", "sentiment", "music", "tagging"):
        panel.task.setCurrentIndex(panel.task.findData(task))
        shown[task] = panel.data.path.isVisibleTo(panel)
    assert shown == dict.fromkeys(shown, False) | {"sentiment": True, "music": True}


@pytest.mark.parametrize(
    "task, content",
    [
        ("music", "One: C4 D4\nTwo: C4 H4\n"),  # no note
        ("music", "One: C4 D4 E4\n"),  # one melody: none to hold out
        ("sentiment", "positive\tgood\npositive\tvery good\n"),  # one class only
        ("sentiment", "great\tgood\nnegative\tbad\n"),  # an unknown label
    ],
)
def test_a_bad_file_is_refused_beside_the_field_in_the_command_lines_words(
    panel, qtbot, tmp_path, capsys, task, content
):
    path = tmp_path / "data.txt"
    path.write_text(content, encoding="utf-8")
    with qtbot.assertNotEmitted(panel.apply_requested):
        choose(panel, task, path)
        panel.apply_button.click()
    shown = panel.error_text()
    assert shown and "\n" not in shown and shown in cli_error(capsys, task, path)
    assert panel.notes["data"].text() == shown  # beside the data field
    assert not panel.apply_button.isEnabled()
    assert panel.applied_config() == Config()  # the running model is untouched


def test_a_good_file_waits_for_apply_and_builds_that_model(panel, qtbot, tmp_path):
    path = tmp_path / "tunes.txt"
    path.write_text(MELODIES, encoding="utf-8")
    panel.seq_len.setValue(8)  # the training melodies hold 14 notes and ends
    choose(panel, "music", path)
    assert panel.error_text() == "" and panel.apply_button.isEnabled()
    with qtbot.waitSignal(panel.apply_requested) as applied:
        panel.apply_button.click()
    assert applied.args[0] == Config(task="music", data=str(path), seq_len=8)
    panel.set_config(applied.args[0])
    assert panel.data.path.text() == str(path)
    panel.task.setCurrentIndex(panel.task.findData("sine"))  # a task without data reads none
    assert panel.config() == Config(seq_len=8)
