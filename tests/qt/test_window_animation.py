"""File → Export animation in the window: the whole window's frames leave out every control
(the side bar, the transport bar, the panels' pickers and hints) and the window comes back
as it was; the command writes the file a user chose, with the window paused."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QApplication, QWidget
from test_export import CONTROLS, MARK, on_screen_controls  # tests/qt is on sys.path
from windows import open_window

from rnnviz.qt.animation import write_animation
from rnnviz.qt.animation_dialog import AnimationChoice, AnimationDialog
from rnnviz.qt.export import FigureSize


def test_the_window_animates_without_its_controls_and_comes_back(
    qtbot, store, probed_snapshot, monkeypatch, tmp_path
):
    window = open_window(qtbot, store, wait_snapshot=False)  # its own snapshot: no waiting
    window.runner.snapshot.disconnect(window._on_snapshot)  # nor one arriving meanwhile
    window._on_snapshot(probed_snapshot(cell="lstm"))
    for panel in window.panels:
        panel.refresh(force=True)
    controls = [w for p in window.panels if p.isVisible() for w in on_screen_controls(p)]
    controls += [
        w
        for bar in (window.settings, window.transport)
        for w in bar.findChildren(QWidget)
        if isinstance(w, CONTROLS) and w.isVisible()
    ]
    assert window.welcome.isVisible()  # a first-time user's start view, over the panels
    controls.append(window.welcome)
    for w in controls:
        w.setStyleSheet(f"background: {MARK.name()}")
    window.cursor.set(2)
    size = window.size()

    def docks():
        return {k: d.geometry() for k, d in window.docks.items() if d.isVisible()}

    QApplication.processEvents()  # the window laid out as the user sees it
    before = docks()

    path = write_animation(window.exports.window_frames(0, 3, width=800), tmp_path / "w.gif", "gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 4 and gif.width == 800
        assert gif.height == round(800 * size.height() / size.width())
        for i in range(gif.n_frames):
            gif.seek(i)
            pixels = np.asarray(gif.convert("RGB")).reshape(-1, 3)
            assert not (pixels == MARK.getRgb()[:3]).all(axis=1).any(), "a control is in it"
    QApplication.processEvents()
    after = docks()
    assert after.keys() == before.keys() and window.size() == size and window.cursor.t == 2
    for key, rect in before.items():  # restoreState gives the docks back within a pixel
        a = after[key]
        assert abs(a.x() - rect.x()) + abs(a.y() - rect.y()) <= 1, key
        assert abs(a.width() - rect.width()) + abs(a.height() - rect.height()) <= 1, key
    assert window.settings_dock.isVisible() and all(w.isVisible() for w in controls)

    # through training steps: the panels that draw a history grow, then come back whole
    shown = window.snapshot
    frames = window.exports.window_frames(width=400, axis="steps", frames=3)
    assert frames.positions == [0, 4, 8]
    path = write_animation(frames, tmp_path / "steps.gif", "gif")
    with Image.open(path) as gif:
        pictures = []
        for i in range(gif.n_frames):
            gif.seek(i)
            pictures.append(np.asarray(gif.convert("RGB"), dtype=np.int16))
    assert len(pictures) == 3
    assert all(np.abs(a - b).sum() > 0 for a, b in zip(pictures, pictures[1:], strict=False))
    assert all(p.snapshot is shown for p in window.panels)
    training = next(p for p in window.panels if p.key == "training")
    assert len(training.loss_curve.xData) == len(shown.history)

    # the File command, with what a user would choose in its dialog
    target = tmp_path / "gates.mp4"
    choice = AnimationChoice(target, window.panels[1], "time", 0, 4, 100, 10, FigureSize(400))
    monkeypatch.setattr(AnimationDialog, "ask", lambda *a: choice)
    window.actions.export_animation.trigger()
    with qtbot.waitSignal(window.exports.job.done, timeout=30_000) as done:
        pass
    assert done.args == [target] and target.stat().st_size > 0
    assert window.panels[1].key == "gates" and window.cursor.t == 2
    window.close()
