"""The main window driven as a user would: keys, side bar, banner, export, layout, closing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import xml.etree.ElementTree as ET

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox
from windows import SMALL, TIMEOUT, open_window  # tests/qt is on sys.path

from rnnviz.core.config import Config
from rnnviz.qt.export import FigureSize
from rnnviz.qt.export_dialogs import ExportAllDialog, ExportDialog
from rnnviz.qt.main_window import MainWindow
from rnnviz.qt.panels import PANELS


def press(qtbot, window, key, until, modifier=Qt.KeyboardModifier.NoModifier):
    """Press `key` on the window and return the first snapshot satisfying `until`."""
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=until
    ) as blocker:
        qtbot.keyClick(window, key, modifier)
    return blocker.args[0]


def stepped(snapshot) -> bool:
    """A snapshot after a step (the worker may send more than one of step 0 as it starts)."""
    return snapshot.step > 0


def status(window, name) -> str:
    return window.status[name].text()


# ---------------------------------------------------------------------------- training keys


def test_space_trains_and_pauses(qtbot, window):
    assert status(window, "state") == "paused" and status(window, "step") == "step 0"
    snap = press(qtbot, window, Qt.Key.Key_Space, lambda s: s.state == "running" and s.step > 2)
    assert window.transport.train_button.text() == "Pause"
    qtbot.waitUntil(lambda: status(window, "state") == "running")
    assert status(window, "step") == f"step {snap.step}" or snap.step < window.snapshot.step
    assert status(window, "loss").startswith("loss ") and status(window, "device") == "cpu"
    press(qtbot, window, Qt.Key.Key_Space, lambda s: s.state == "paused")
    assert status(window, "state") == "paused"
    assert window.transport.train_button.text() == "Train"


def test_step_key_takes_exactly_one_step(qtbot, window):
    assert press(qtbot, window, Qt.Key.Key_S, stepped).step == 1
    assert press(qtbot, window, Qt.Key.Key_S, stepped).step == 2
    assert status(window, "step") == "step 2"


def test_reset_returns_to_the_same_start(qtbot, window):
    first = press(qtbot, window, Qt.Key.Key_S, stepped)
    press(qtbot, window, Qt.Key.Key_Space, lambda s: s.step >= 5)
    reset = press(qtbot, window, Qt.Key.Key_R, lambda s: s.step == 0)
    assert reset.state == "paused" and status(window, "step") == "step 0"
    again = press(qtbot, window, Qt.Key.Key_S, stepped)
    assert again.step == 1 and again.loss == first.loss  # same weights, same data


def test_keys_reach_the_window_while_a_spin_box_has_focus(qtbot, window):
    box = window.settings.hidden
    box.setFocus()
    qtbot.waitUntil(box.hasFocus)
    assert press(qtbot, window, Qt.Key.Key_S, stepped).step == 1
    press(qtbot, window, Qt.Key.Key_Space, lambda s: s.state == "running")
    assert box.value() == 8  # nothing was typed into it


def test_visible_panels_redraw_and_hidden_ones_wait(qtbot, window, monkeypatch):
    drawn = {p.key: [] for p in window.panels}
    for panel in window.panels:
        redraw = panel.redraw
        monkeypatch.setattr(panel, "redraw", lambda s, k=panel.key, r=redraw: (
            drawn[k].append(s), r(s)))  # fmt: skip
    window.docks["states"].close()
    snap = press(qtbot, window, Qt.Key.Key_S, stepped)
    shown = [k for k in drawn if k != "states" and window.docks[k].isVisible()]
    assert shown == ["graph", "gates", "gradients", "training"]
    qtbot.waitUntil(lambda: all(drawn[k] and drawn[k][-1] is snap for k in shown))
    hidden = [k for k in drawn if k not in shown]
    assert "states" in hidden and all(drawn[k] == [] for k in hidden)
    window.docks["states"].show()
    qtbot.waitUntil(lambda: bool(drawn["states"]) and drawn["states"][-1] is snap)


# ---------------------------------------------------------------------------- side bar


def test_learning_rate_applies_live(qtbot, window):
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.lr == 0.05
    ) as blocker:
        window.settings.lr.setValue(0.05)
    assert blocker.args[0].step == 0  # the same model: no restart
    assert not window.settings.apply_button.isEnabled()


def test_clipping_applies_live(qtbot, window):
    window.settings.clip_threshold.setValue(0.5)
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.clip == "norm"
    ) as blocker:
        window.settings.clip.setCurrentIndex(window.settings.clip.findData("norm"))
    assert blocker.args[0].clip_threshold == 0.5
    snap = press(qtbot, window, Qt.Key.Key_S, stepped)
    assert snap.history.grad_norm_clipped[-1] <= 0.5 + 1e-6


def test_a_bad_value_is_refused_with_the_reason(qtbot, window):
    settings = window.settings
    settings.lr.setValue(0.0)
    assert "learning rate must be a positive number" in settings.notes["lr"].text()
    assert settings.notes["lr"].isVisible() and not settings.apply_button.isEnabled()
    settings.task.setCurrentIndex(settings.task.findData("copy"))
    settings.seq_len.setValue(3)
    assert "the copy task needs a sequence length of at least 4" in settings.error_text()
    assert not settings.apply_button.isEnabled()
    snap = press(qtbot, window, Qt.Key.Key_S, stepped)
    assert snap.lr == SMALL.lr and snap.config.task == "sine" and snap.config.seq_len == 20
    assert window.runner.config == SMALL
    settings.lr.setValue(0.02)  # fixing the live value applies it, the rest still waits
    settings.seq_len.setValue(30)
    assert settings.error_text() == "" and settings.apply_button.isEnabled()
    assert press(qtbot, window, Qt.Key.Key_S, stepped).lr == 0.02


def test_apply_builds_a_new_model_after_confirmation(qtbot, window, monkeypatch):
    answers = []

    def question(*args, **kwargs):
        answers.append(args[2])
        return answers_to_give.pop(0)

    answers_to_give = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", question)
    press(qtbot, window, Qt.Key.Key_S, stepped)
    window.settings.hidden.setValue(12)
    assert window.settings.pending.text() == "Needs a new model: hidden"
    with qtbot.assertNotEmitted(window.runner.started, wait=200):
        window.settings.apply_button.click()  # cancelled: the model keeps training
    assert window.runner.config.hidden == 8 and "1 steps" in answers[0]
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.config.hidden == 12
    ) as blocker:
        window.settings.apply_button.click()
    assert blocker.args[0].step == 0 and len(answers) == 2
    assert not window.settings.apply_button.isEnabled()
    assert window.settings.applied_config().hidden == 12


def test_new_seed_starts_a_new_model(qtbot, window):
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.config.seed == 1
    ):
        window.transport.seed_button.click()  # at step 0: nothing to confirm
    assert window.settings.seed.value() == 1


def test_devices_offer_only_what_exists(qtbot, window):
    torch = pytest.importorskip("torch")
    offered = [window.settings.device.itemData(i) for i in range(window.settings.device.count())]
    assert offered[0] == "auto" and "cpu" in offered
    assert ("cuda" in offered) == torch.cuda.is_available()


# ---------------------------------------------------------------------------- problems


def test_divergence_shows_a_banner_and_reset_recovers(qtbot, store):
    window = open_window(qtbot, store, SMALL.replace(optimizer="sgd", lr=1e6))
    try:
        snap = press(qtbot, window, Qt.Key.Key_Space, lambda s: s.state == "diverged")
        assert window.banner.isVisible()
        assert snap.message and snap.message in window.banner_text.text()
        assert "learning rate" in window.banner_text.text()
        assert status(window, "state") == "diverged"
        assert window.transport.train_button.text() == "Train"
        reset = press(qtbot, window, Qt.Key.Key_R, lambda s: s.step == 0)
        assert reset.state == "paused" and not window.banner.isVisible()
    finally:
        window.close()


def test_a_start_error_is_shown_not_raised(qtbot, store, tmp_path):
    missing = tmp_path / "missing.txt"
    window = MainWindow(
        Config(task="charlm", text=str(missing), hidden=8, device="cpu"), settings=store
    )
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.runner.error, timeout=TIMEOUT):
            window.show()
        assert window.banner.isVisible() and "text file not found" in window.banner_text.text()
        assert status(window, "state") == "stopped"
        qtbot.keyClick(window, Qt.Key.Key_S)  # nothing runs: ignored
        qtbot.keyClick(window, Qt.Key.Key_Space)
        assert window.transport.train_button.text() == "Train"
    finally:
        window.close()


# ---------------------------------------------------------------------------- time


def test_cursor_keys_move_the_time_cursor(qtbot, window):
    cursor, readout = window.cursor, window.transport.readout
    assert cursor.T == 20 and readout.text().startswith("t = 0 / 19   input: ")
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert cursor.t == 1 and readout.text().startswith("t = 1 / 19   input: ")
    assert window.transport.slider.value() == 1
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert cursor.t == 19 and readout.text().startswith("t = 19 / 19")
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert cursor.t == 18
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert cursor.t == 0
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert cursor.t == 0


# ---------------------------------------------------------------------------- export, help


def assert_png_drawn(path):
    image = QImage(str(path))
    assert not image.isNull(), path
    w, h = image.width(), image.height()
    colours = {image.pixel(x * w // 40, y * h // 40) for x in range(40) for y in range(40)}
    assert len(colours) > 5, f"{path} looks blank"


def test_ctrl_e_exports_the_focused_panel(qtbot, window, monkeypatch, tmp_path):
    asked = []
    target = tmp_path / "out.png"

    def ask(cls, parent, default, title):
        asked.append(default)
        return target, FigureSize(1280, "4:3")

    monkeypatch.setattr(ExportDialog, "ask", classmethod(ask))
    press(qtbot, window, Qt.Key.Key_S, stepped)
    panel = window.panels[2]
    panel.setFocus()
    qtbot.waitUntil(lambda: window.focused_panel() is panel)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert asked == [f"{panel.key}.png"]
    assert_png_drawn(target)
    assert QImage(str(target)).size().toTuple() == (1280, 960)


def test_export_the_whole_window_as_on_screen(qtbot, window, monkeypatch, tmp_path):
    target = tmp_path / "window"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(target), ""))
    press(qtbot, window, Qt.Key.Key_S, stepped)
    window.actions.export_window.trigger()
    png = tmp_path / "window.png"
    assert_png_drawn(png)
    assert QImage(str(png)).size() == window.size()  # pixel for pixel, controls and all


def test_export_all_into_a_file_says_it_is_a_file(qtbot, window, monkeypatch, tmp_path):
    afile = tmp_path / "slides"
    afile.write_text("x")
    monkeypatch.setattr(
        ExportAllDialog, "ask", classmethod(lambda cls, parent, f: (afile, ("png",), FigureSize()))
    )
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    window.actions.export_all.trigger()
    assert warnings == [f"{afile} is a file, not a folder"]


def test_export_all_panels_writes_png_and_svg(qtbot, window, monkeypatch, tmp_path):
    folder = tmp_path / "slides"
    monkeypatch.setattr(
        ExportAllDialog,
        "ask",
        classmethod(lambda cls, parent, f: (folder, ("png", "svg"), FigureSize(800))),
    )
    press(qtbot, window, Qt.Key.Key_S, stepped)
    window.docks["gates"].hide()  # what is not on screen is not exported
    window.actions.export_all.trigger()
    assert not (folder / "gates.png").exists() and not (folder / "gates.svg").exists()
    for cls in PANELS:
        if cls.key == "gates":
            continue
        png = folder / f"{cls.key}.png"
        assert_png_drawn(png)
        assert QImage(str(png)).size().toTuple() == (800, 450)
        root = ET.parse(folder / f"{cls.key}.svg").getroot()
        assert root.tag.endswith("svg")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{cls.key}.{fmt}" for cls in PANELS if cls.key != "gates" for fmt in ("png", "svg")
    )
    assert "Wrote 8 images" in window.statusBar().currentMessage()


def test_f1_shows_help_with_shortcuts_and_panels(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(
        lambda: getattr(window, "help_dialog", None) is not None and window.help_dialog.isVisible()
    )
    text = window.help_dialog.text.toPlainText()
    for cls in PANELS:
        assert cls.title in text
    for key in ("Space", "Step", "Reset", "F1", "Ctrl+E"):
        assert key in text
    window.help_dialog.close()


# ---------------------------------------------------------------------------- layout, closing


def test_default_layout_shows_every_panel(qtbot, window):
    free = window.screen().availableGeometry()
    assert window.width() == min(1600, free.width()) and window.height() == min(1000, free.height())
    for key, dock in window.docks.items():
        assert dock.objectName() == key and not dock.isFloating()
        if key in {cls.key for cls in PANELS}:
            assert dock.isVisible() and dock.width() > 100 and dock.height() > 100, key
        else:  # the laboratory's panels wait in the View menu
            assert not dock.isVisible(), key
    geo = {key: dock.geometry() for key, dock in window.docks.items()}
    assert geo["graph"].bottom() < geo["gates"].top()  # two rows
    assert geo["graph"].right() < geo["training"].left()
    # the lower row splits on its own: gates | states | gradients, of similar widths
    assert geo["gates"].right() < geo["states"].left() < geo["gradients"].left()
    assert geo["gates"].top() == geo["states"].top() == geo["gradients"].top()
    widths = [geo[k].width() for k in ("gates", "states", "gradients")]
    assert max(widths) < 1.5 * min(widths)


def test_layout_is_remembered_and_reset(qtbot, store):
    first = open_window(qtbot, store, wait_snapshot=False)
    first.docks["gates"].close()
    first.close()
    second = open_window(qtbot, store, wait_snapshot=False)
    try:
        assert not second.docks["gates"].isVisible() and second.docks["graph"].isVisible()
        second.actions.reset_layout.trigger()
        assert second.docks["gates"].isVisible()
    finally:
        second.close()


def test_closing_mid_training_joins_the_worker(qtbot, store):
    window = open_window(qtbot, store)
    press(qtbot, window, Qt.Key.Key_Space, lambda s: s.step > 2)
    window.close()  # how long this takes: benchmarks/bench_app.py, "closing mid-training"
    assert not window.runner.is_alive()
    assert "rnnviz-training" not in [t.name for t in threading.enumerate()]
    window.close()  # a second close is harmless


def test_import_does_not_load_torch():
    code = "import rnnviz.app, sys; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"


# Runs the real entry point, closing the window mid-training once a few steps are done.
APP_SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import rnnviz.app
    from rnnviz.core.config import Config
    from rnnviz.qt.main_window import MainWindow

    def hook():  # runs once the event loop does, i.e. after the window showed
        window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
        print("torch at show:", "torch" in sys.modules, flush=True)
        print("status:", window.statusBar().currentMessage(), flush=True)
        def on_snapshot(s):
            if s.step == 0 and s.state == "paused":
                window.transport.toggle_training()
            elif s.step >= 3 and window.isVisible():
                print("closing", flush=True)
                window.close()
        window.runner.snapshot.connect(on_snapshot)

    app = QApplication(sys.argv)
    QTimer.singleShot(0, hook)
    sys.exit(rnnviz.app.main(config=Config(hidden=8, seq_len=20, batch=8, device="cpu")))
""")
# The offscreen platform (tests only) says this about every window; real platforms do not.
OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints()"


def test_the_app_exits_cleanly_and_quietly_when_closed_mid_training(tmp_path):
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path),
        "HOME": str(tmp_path),
    }  # the app's QSettings go to tmp_path
    proc = subprocess.run(
        [sys.executable, "-c", APP_SCRIPT], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["torch at show: False", "status: Loading PyTorch…"]
    assert lines[-1] == "closing"
    stderr = [line for line in proc.stderr.splitlines() if line != OFFSCREEN_NOISE]
    assert stderr == []
    assert list(tmp_path.rglob("rnnviz.conf"))  # the layout was saved on the way out


def test_the_status_bar_says_when_the_training_process_stops_responding(qtbot, store):
    window = open_window(qtbot, store, wait_snapshot=False)
    try:
        window.runner.responding.emit(False)  # as the runner does after 5 s of silence
        assert "Training process not responding" in window.statusBar().currentMessage()
        window.runner.responding.emit(True)
        assert window.statusBar().currentMessage() == ""
    finally:
        window.close()
