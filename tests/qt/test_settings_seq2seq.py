"""The side bar's encoder-decoder settings: shown only for an encoder-decoder task, read and
written exactly, refused in the command line's words, applied with a new model."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt

from rnnviz.core.config import Config, ConfigError
from rnnviz.core.tasks import TASKS
from rnnviz.qt.settings import SettingsPanel

SEQ2SEQ = Config(task="reverse", seq_len=12, attention="dot", beam=3, decoder_cell="gru")


@pytest.fixture
def panel(qtbot):
    p = SettingsPanel(Config())
    qtbot.addWidget(p)
    p.show()
    return p


def fields(panel) -> list:
    return [panel.seq2seq.attention, panel.seq2seq.beam, panel.seq2seq.decoder_cell]


def test_the_fields_show_only_while_an_encoder_decoder_task_is_chosen(panel):
    for name, spec in TASKS.items():
        panel.task.setCurrentIndex(panel.task.findData(name))
        shown = [f.isVisible() for f in fields(panel)]
        assert shown == [spec.model == "seq2seq"] * 3, name
    assert {n for n, s in TASKS.items() if s.model == "seq2seq"} == {"dates", "reverse", "sort"}


def test_the_form_shows_an_encoder_decoder_config_exactly(panel):
    panel.set_config(SEQ2SEQ)
    assert panel.config() == SEQ2SEQ and panel.error_text() == ""
    assert panel.seq2seq.attention.currentText() == "dot (Luong)"
    panel.set_config(dataclasses.replace(SEQ2SEQ, decoder_cell=None, attention="none", beam=1))
    assert panel.seq2seq.decoder_cell.currentText() == "as the encoder"
    assert panel.config().decoder_cell is None and panel.config().attention == "none"


def test_a_new_attention_waits_for_apply_and_builds_that_model(panel, qtbot):
    panel.set_config(Config(task="reverse"))
    box = panel.seq2seq.attention
    with qtbot.assertNotEmitted(panel.apply_requested):
        box.setCurrentIndex(box.findData("none"))
    assert panel.apply_button.isEnabled() and panel.pending.text().endswith("attention")
    with qtbot.waitSignal(panel.apply_requested) as applied:
        panel.apply_button.click()
    assert applied.args[0] == Config(task="reverse", attention="none")


@pytest.mark.parametrize("text, value", [("6", 6), ("0", 0)])
def test_a_beam_width_out_of_range_is_refused_beside_its_field(panel, qtbot, text, value):
    panel.set_config(Config(task="dates"))
    field = panel.seq2seq.beam
    with qtbot.assertNotEmitted(panel.apply_requested):
        field.lineEdit().selectAll()
        qtbot.keyClicks(field.lineEdit(), text)
        qtbot.keyClick(field.lineEdit(), Qt.Key.Key_Return)
    with pytest.raises(ConfigError) as cli:  # the command line's words for the same value
        Config(task="dates", beam=value).validate()
    note = panel.notes["beam"]
    assert note.isVisible() and note.text() == str(cli.value)
    assert not panel.apply_button.isEnabled() and panel.applied_config() == Config(task="dates")


def test_hidden_fields_change_nothing_for_other_tasks(panel):
    panel.set_config(Config(task="reverse"))
    panel.seq2seq.beam.setValue(9)  # refused while shown …
    assert "beam width" in panel.error_text()
    panel.task.setCurrentIndex(panel.task.findData("sine"))  # … and not read once hidden
    assert panel.error_text() == "" and panel.pending.text().endswith("task")
    assert panel.config() == Config(task="sine")
