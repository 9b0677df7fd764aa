"""The settings side bar: the form and Config agree, refusals, live and new-model changes."""

from __future__ import annotations

import dataclasses

import pytest

from rnnviz.core.config import CELLS, CLIPS, ENCODERS, INITS, OPTIMIZERS, TASKS, Config
from rnnviz.qt.settings import CELL_LABELS, LogSpinBox, SettingsPanel

# Every setting the side bar shows, away from its default (charlm needs no text: bundled).
UNUSUAL = Config(
    cell="rnn", nonlinearity="relu", hidden=17, layers=3, bidirectional=True,
    encoder="onehot", embed_dim=9, init="orthogonal", spectral_radius=0.9, forget_bias=2.5,
    task="charlm", seq_len=33, batch=5, optimizer="sgd", lr=0.003, momentum=0.5,
    clip="value", clip_threshold=0.25, seed=42, device="cpu",
)  # fmt: skip


@pytest.fixture
def panel(qtbot):
    p = SettingsPanel(Config())
    qtbot.addWidget(p)
    return p


def test_every_choice_has_an_entry(panel):
    assert {c.partition(":")[0] for c in CELL_LABELS} == set(CELLS)
    for box, choices in ((panel.task, TASKS), (panel.encoder, ENCODERS), (panel.init, INITS),
                         (panel.optimizer, OPTIMIZERS), (panel.clip, CLIPS)):  # fmt: skip
        assert [box.itemData(i) for i in range(box.count())] == list(choices)


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
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe not utf-8")
    panel.task.setCurrentIndex(panel.task.findData("charlm"))
    panel.text.setText(str(bad))
    panel.text.editingFinished.emit()
    assert "not UTF-8" in panel.error_text() and not panel.apply_button.isEnabled()
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
    box = LogSpinBox()
    qtbot.addWidget(box)
    box.setValue(start)
    box.stepBy(steps)
    assert box.value() == pytest.approx(expected)
    assert box.text() == f"{expected:g}"
