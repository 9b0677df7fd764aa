"""What the window does before its first paint, and what its process imports: the start-up
(benchmarks/bench_app.py measures its time; these check what makes it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from PySide6.QtCore import QEvent, QObject
from windows import open_window  # tests/qt is on sys.path

from rnnviz.core.tasks import TASKS
from rnnviz.qt.main_window import MainWindow
from rnnviz.qt.panels import LAB_PANELS, PANELS

# The window shown without a training worker, until its first paint has been followed by
# _after_first_paint; then what it built and what the process imported.
FIRST_FRAME = textwrap.dedent("""
    import json, sys, tempfile
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from rnnviz.qt import theme
    from rnnviz.qt.main_window import MainWindow

    MainWindow._start_first_run = lambda self: None  # the worker's own imports are its own
    app = QApplication(sys.argv)
    theme.apply()
    store = QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=store)
    window.show()
    QTimer.singleShot(500, app.quit)  # after the zero timers of the first show
    app.exec()
    print(json.dumps({
        "panels": [p.key for p in window.panels],
        "modules": sorted(m for m in sys.modules if m.startswith(("torch", "rnnviz.core"))),
    }))
    window.close()
""")


def test_the_first_frame_builds_the_core_panels_and_imports_no_torch_nor_task():
    """Building all 21 laboratory panels before the first paint took 1.5-3 s of a 2.1-3.9 s
    start-up; the window now builds a laboratory panel when its dock first shows."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["panels"] == [cls.key for cls in PANELS]
    assert not [m for m in out["modules"] if m == "torch" or m.startswith("torch.")]
    tasks = {spec.entry_point.split(":")[0] for spec in TASKS.values()}
    assert not {*tasks, "rnnviz.core.tasks.base"} & set(out["modules"])


def test_a_laboratory_panel_is_built_when_its_dock_first_shows(qtbot, store, monkeypatch):
    monkeypatch.setattr(MainWindow, "_start_first_run", lambda self: None)
    window = open_window(qtbot, store, wait_snapshot=False)
    qtbot.waitUntil(lambda: window._settled)  # on screen: what a user can click
    spectrum = LAB_PANELS[0].key
    assert spectrum not in [p.key for p in window.panels]
    assert window.docks[spectrum].widget() is None

    window.docks[spectrum].show()  # as View → its name does
    panel = window.panels[-1]
    assert panel.key == spectrum and window.docks[spectrum].widget() is panel
    assert panel.cursor is window.cursor and panel.scheduled  # redrawn by the window's ticks
    window.docks[spectrum].hide()
    window.docks[spectrum].show()
    assert [p.key for p in window.panels].count(spectrum) == 1  # built once
    window.close()


def test_a_restored_layout_gets_its_laboratory_panels_after_the_first_paint(
    qtbot, store, monkeypatch
):
    monkeypatch.setattr(MainWindow, "_start_first_run", lambda self: None)
    first = open_window(qtbot, store, wait_snapshot=False)
    first.docks["factors"].show()
    first.close()  # saves the layout

    window = MainWindow(settings=store)
    qtbot.addWidget(window)
    painted = PaintsSeen(window)
    painted_at_build = []
    monkeypatch.setattr(
        window, "panel", lambda key, build=window.panel: (
            painted_at_build.append(painted.n > 0) or build(key))
    )  # fmt: skip
    window.show()
    qtbot.waitUntil(lambda: window.docks["factors"].widget() is not None)
    assert window.docks["factors"].widget().key == "factors"
    assert painted_at_build == [True]  # built once, after the window's first paint
    window.close()


class PaintsSeen(QObject):
    """Counts the paint events `widget` itself receives."""

    def __init__(self, widget) -> None:
        super().__init__(widget)
        self.n = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        self.n += event.type() == QEvent.Type.Paint
        return False


def test_the_lesson_measures_why_bidirectional_without_importing_torch():
    """Its claim looks up the ambiguous word of the probe sentence: that imported the tagging
    task, and with it torch, on the GUI thread (0.75 s at the first pause of the preset)."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from types import SimpleNamespace
        from rnnviz.core.sentence_measures import ambiguous_word
        trace = SimpleNamespace(
            tokens=np.array([["yesterday", ",", "sandy", "taylor", "<pad>"]]),
            input_mask=np.array([[1, 1, 1, 1, 0]]),
        )
        print(ambiguous_word(trace), "torch" in sys.modules)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["2", "False"]
