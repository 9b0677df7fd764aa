"""File → Save session / Open session in the real window: the run reopens at its step with
its history, settings, time cursor and dock layout, trains on exactly as it would have, and a
file that cannot be opened changes nothing. (The file format itself: tests/core.)"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtWidgets import QMessageBox
from windows import SMALL, TIMEOUT

from rnnviz.core import protocol
from rnnviz.core.session import read_session, write_session


def steps_to(qtbot, window, step: int):
    """Train to `step` (from a paused run before it) and return that snapshot."""
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.step == step
    ) as blocker:
        window.runner.send(protocol.Step(step - window.snapshot.step))
    return blocker.args[0]


def test_a_saved_session_reopens_where_it_was_and_trains_on(qtbot, window, tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    saved = steps_to(qtbot, window, 3)
    window.cursor.set(5)
    window.docks["gates"].hide()
    with qtbot.waitSignal(window.sessions.saved, timeout=TIMEOUT):
        window.sessions.save(tmp_path / "lesson")  # the suffix is added
    path = tmp_path / "lesson.rnnviz"
    on_gpu = read_session(path)  # as if saved on a machine with a GPU
    gpu = [replace(r, config=r.config.replace(device="cuda")) for r in on_gpu.runs]
    write_session(path, replace(on_gpu, runs=tuple(gpu)))
    later = steps_to(qtbot, window, 5)  # what the run did next, uninterrupted
    window.cursor.set(0)
    window.docks["gates"].show()

    # a file that cannot be opened: one message, the window keeps its run
    bad = tmp_path / "bad.rnnviz"
    bad.write_bytes(path.read_bytes()[:100])
    assert not window.sessions.open(bad)
    assert warnings == ["bad.rnnviz is damaged: the file is incomplete"]
    assert window.runner.is_alive() and window.snapshot.step == 5

    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.trace is not None
    ) as blocker:
        assert window.sessions.open(path)
    opened = blocker.args[0]
    assert opened.step == 3 and opened.config == SMALL.replace(device="auto")  # cuda there
    np.testing.assert_array_equal(opened.history.loss, saved.history.loss)
    assert window.cursor.t == 5
    assert window.docks["gates"].isHidden() and not window.docks["states"].isHidden()
    assert window.sessions.recent() == [str(path.resolve())]
    window.sessions.recent_menu.aboutToShow.emit()
    assert [a.text() for a in window.sessions.recent_menu.actions()] == ["1. lesson.rnnviz"]
    assert window.store.value("sessions/folder") == str(tmp_path.resolve())

    trained_on = steps_to(qtbot, window, 5)
    np.testing.assert_array_equal(trained_on.history.loss, later.history.loss)
    assert warnings == ["bad.rnnviz is damaged: the file is incomplete"]
