"""Garbage is collected on the GUI thread only (rnnviz/qt/collector.py): with a window open,
no other thread's allocations can start a collection that frees Qt objects under Qt's feet,
and the timer still frees unreachable cycles."""

from __future__ import annotations

import gc
import threading
import weakref

from windows import open_window  # tests/qt is on sys.path

from rnnviz.qt.collector import collect_due


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_window_turns_automatic_collection_off_and_its_timer_collects(qtbot, store):
    window = open_window(qtbot, store, wait_snapshot=False)
    assert not gc.isenabled()
    cycle = Cycle()
    gone = weakref.ref(cycle)
    del cycle
    young = [Cycle() for _ in range(gc.get_threshold()[0] + 1)]  # past the threshold
    assert gc.get_count()[0] > gc.get_threshold()[0]
    assert gone() is not None  # nothing collects it behind the GUI thread's back
    qtbot.waitUntil(lambda: gone() is None, timeout=5000)
    assert len(young) == gc.get_threshold()[0] + 1  # alive: only garbage was collected
    window.close()


def test_another_threads_allocations_collect_nothing(qtbot, store):
    window = open_window(qtbot, store, wait_snapshot=False)
    cycle = Cycle()
    gone = weakref.ref(cycle)
    del cycle
    worker = threading.Thread(target=lambda: [Cycle() for _ in range(50_000)])
    worker.start()
    worker.join()
    assert gone() is not None
    assert collect_due() > 0 and gone() is None  # on this, the GUI thread
    window.close()
