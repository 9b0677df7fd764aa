"""The first minute: the start view says what to do, offers the lessons, goes once training
or a lesson starts, and stays closed once closed; the status bar at step 0."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from windows import TIMEOUT, open_window  # tests/qt is on sys.path

from rnnviz.core.presets import list_presets
from rnnviz.qt.welcome import DISMISSED


def test_the_first_window_says_what_to_do_over_the_panels(window):
    welcome = window.welcome
    assert welcome.isVisible()
    text = welcome.heading.text()
    assert "Press <b>Space</b> to train this LSTM on a sine wave — or start a lesson" in text
    panels = [d.geometry() for d in window.docks.values() if d.isVisible()]
    card = welcome.geometry()
    assert any(card.intersects(g) for g in panels)  # over the panels…
    assert not card.intersects(window.settings_dock.geometry())  # …not over the side bar
    assert window.rect().contains(card)
    presets = list_presets()
    assert list(welcome.lesson_buttons) == [p.key for p in presets]
    for k, p in enumerate(presets, start=1):
        button = welcome.lesson_buttons[p.key]
        key = f"Ctrl+{k}" if k <= 9 else f"Alt+{k - 9}"
        assert p.title in button.text() and button.text().endswith(key)
        assert button.description() == p.summary and button.isVisible()


def test_at_step_0_the_status_bar_says_not_trained_yet(qtbot, window):
    assert window.status["loss"].text() == "not trained yet"
    assert window.status["grad"].text() == window.status["clip"].text() == ""  # no NaN
    qtbot.keyClick(window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: window.status["step"].text() == "step 1", timeout=TIMEOUT)
    assert window.status["loss"].text().startswith("loss ")
    assert window.status["grad"].text().startswith("‖∇‖ ")


def test_space_trains_and_the_start_view_goes(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.welcome.isVisible(), timeout=TIMEOUT)
    qtbot.keyClick(window, Qt.Key.Key_Space)  # pause; it stays gone
    qtbot.waitUntil(lambda: window.status["state"].text() == "paused", timeout=TIMEOUT)
    assert not window.welcome.isVisible()
    assert not window.store.value(DISMISSED, False, type=bool)  # back in the next window


def test_a_lesson_button_starts_that_lesson(qtbot, window):
    preset = list_presets()[1]
    with qtbot.waitSignal(window.preset_menu.chosen) as chosen:
        window.welcome.lesson_buttons[preset.key].click()
    assert chosen.args[0].key == preset.key and window.preset is not None
    assert window.preset.key == preset.key
    assert not window.welcome.isVisible()
    assert window.lesson_dock.isVisible() and preset.title in window.lesson_dock.windowTitle()


def test_closing_it_is_remembered_in_the_next_window(qtbot, store):
    first = open_window(qtbot, store)
    first.welcome.close_button.click()
    assert not first.welcome.isVisible()
    first.close()
    second = open_window(qtbot, store)
    try:
        assert not second.welcome.isVisible()
        qtbot.keyClick(second, Qt.Key.Key_S)  # and training does not bring it back
        qtbot.waitUntil(lambda: second.status["step"].text() == "step 1", timeout=TIMEOUT)
        assert not second.welcome.isVisible()
        assert QSettings(store.fileName(), QSettings.Format.IniFormat).value(DISMISSED, type=bool)
        second.actions.welcome.trigger()  # Help → Start view brings it back, for good
        assert second.welcome.isVisible() and not store.value(DISMISSED, False, type=bool)
    finally:
        second.close()
