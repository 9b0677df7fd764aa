"""Garbage collection on the GUI thread only.

The window is not the only thread that allocates Python objects: the training runner's pipe
reader and the GIF encoder do too. Had one of them pushed the collector past its threshold, it
would free the window's unreachable Qt and pyqtgraph objects (cycles through signal
connections and parent items) from that thread, and Qt crashes the process: a SIGSEGV seen
once in a 2,000-action monkey run. So while a window lives, automatic collection is off and a
timer on the GUI thread collects instead, at the generations the thresholds would have chosen
(pyqtgraph.util.garbage_collector does the same).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QTimer

INTERVAL_MS = 500  # the young generation fills in well under a second: collected as often

_timer: QTimer | None = None


def collect_on_gui_thread() -> None:
    """From now on, collect garbage only on the GUI thread (once per QApplication; call it
    from the GUI thread)."""
    global _timer
    app = QCoreApplication.instance()
    if _timer is not None and _timer.parent() is app:
        return
    _timer = QTimer(app)
    _timer.setInterval(INTERVAL_MS)
    _timer.timeout.connect(collect_due)
    _timer.start()
    gc.disable()


def collect_due() -> int:
    """Collect the generations whose counts passed their thresholds, as the interpreter would
    have; the number of unreachable objects found."""
    (n0, n1, n2), (t0, t1, t2) = gc.get_count(), gc.get_threshold()
    if n0 <= t0:
        return 0
    return gc.collect(2 if n1 > t1 and n2 > t2 else 1 if n1 > t1 else 0)
