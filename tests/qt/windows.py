"""Opening the real window in a test: one way for every window test.

Each window starts a fresh training worker, which imports torch and then torch._dynamo (at
the first optimiser): 18-21 s to the first snapshot at a load of 6-9 on two cores. TIMEOUT
covers that and is never reached when things work.
"""

from __future__ import annotations

from rnnviz.core.config import Config
from rnnviz.qt.main_window import MainWindow

SMALL = Config(hidden=8, seq_len=20, batch=8, device="cpu")
TIMEOUT = 120_000  # ms


def open_window(qtbot, store, config: Config = SMALL, wait_snapshot: bool = True) -> MainWindow:
    """The window on `config`, shown, active and (unless told not to wait) with its first
    snapshot; qtbot deletes it at teardown, while Qt is still up."""
    window = MainWindow(config, settings=store)
    qtbot.addWidget(window)
    if wait_snapshot:
        with qtbot.waitSignal(window.runner.snapshot, timeout=TIMEOUT):
            window.show()
    else:
        window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    return window
