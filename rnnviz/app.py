"""The desktop app: one QApplication, the theme, the main window.

Nothing here imports torch: the window is on screen before the training worker loads it.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from rnnviz.core.config import Config
from rnnviz.qt import theme
from rnnviz.qt.main_window import MainWindow
from rnnviz.qt.teardown import release_graphics


def main(
    argv: list[str] | None = None,
    config: Config | None = None,
    session: str | None = None,
    preset: str | None = None,
) -> int:
    """Open the window (training `config`, default settings if None, or continuing the saved
    `session` file, or on the lecture preset named `preset`); returns the exit code.

    `argv` are extra Qt options (e.g. ["-platform", "offscreen"]).
    """
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName("rnnviz")
    app.setOrganizationName("rnnviz")
    theme.apply()
    window = MainWindow(config)
    window.show()
    QTimer.singleShot(0, freeze_long_lived_objects)  # the window's objects exist by now
    if session is not None:  # after the first run has started: the session replaces it
        QTimer.singleShot(0, lambda: window.sessions.open(session))
    if preset is not None:  # as if chosen from the Presets menu
        QTimer.singleShot(0, lambda: window.preset_menu.preset_actions[preset].trigger())
    code = app.exec()  # returns after the window closed and joined the training worker
    release_graphics()  # before the interpreter's teardown (qt/teardown.py)
    # Exit promptly: the interpreter's final garbage collections would walk torch's large
    # object graph (half a second or more); nothing left needs them.
    gc.freeze()
    return code


def freeze_long_lived_objects() -> None:
    """Thousands of long-lived Qt and pyqtgraph objects now exist: keep the garbage collector
    from walking them again and again (a full pass stalls the window for tens of ms)."""
    gc.collect()
    gc.freeze()


if __name__ == "__main__":  # through the CLI, which first checks that Qt can open a window
    from rnnviz.cli import main as cli_main

    raise SystemExit(cli_main(["app", *sys.argv[1:]]))
