"""The character LM's sampling temperature, from the Training panel through the runner and
the training process to the samples the panel shows."""

from __future__ import annotations

import pytest
from windows import TIMEOUT, open_window  # tests/qt is on sys.path

from rnnviz.core.config import Config
from rnnviz.core.protocol import SetTemperature

CHARLM = Config(task="charlm", hidden=8, seq_len=16, batch=4, device="cpu")


@pytest.fixture
def window(qtbot, store):
    w = open_window(qtbot, store, CHARLM)
    yield w
    w.close()


def sampled_at(temperature: float):
    return lambda s: s.extras.get("temperature") == temperature and "sample" in s.extras


def test_the_next_samples_are_drawn_at_the_panel_temperature(qtbot, window):
    panel = window.training_panel
    assert window.snapshot.extras["temperature"] == 1.0
    with qtbot.waitSignal(window.runner.snapshot, timeout=TIMEOUT, check_params_cb=sampled_at(0.4)):
        panel.temperature_spin.setValue(0.4)
    qtbot.waitUntil(lambda: "temperature 0.4" in panel.sample_title.text(), timeout=TIMEOUT)


def test_a_bad_temperature_never_reaches_the_run(qtbot, window):
    panel = window.training_panel
    with qtbot.assertNotEmitted(panel.temperature_changed):
        panel.temperature_spin.setValue(float("nan"))
    assert panel.temperature_note.text() == "temperature must be a positive number, got nan"
    assert window.runner.is_alive()
    # sent anyway (as another client of the protocol might), it is refused in words
    refused = lambda s: "refused" in s.extras  # noqa: E731
    with qtbot.waitSignal(window.runner.snapshot, timeout=TIMEOUT, check_params_cb=refused):
        window.runner.send(SetTemperature(-1.0))
    qtbot.waitUntil(lambda: "temperature must be" in window.statusBar().currentMessage())
    assert window.runner.is_alive() and window.snapshot.extras["temperature"] == 1.0


def test_a_new_model_samples_at_the_temperature_the_panel_shows(qtbot, window):
    panel = window.training_panel
    with qtbot.waitSignal(window.runner.snapshot, timeout=TIMEOUT, check_params_cb=sampled_at(2.0)):
        panel.temperature_spin.setValue(2.0)
    with qtbot.waitSignal(window.runner.snapshot, timeout=TIMEOUT, check_params_cb=sampled_at(2.0)):
        window.restart(CHARLM.replace(seed=1))
