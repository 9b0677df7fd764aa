"""The window's redraw budget: one timer lets one dirty, visible panel redraw a tick.

Snapshots only mark panels dirty (Panel.set_snapshot); redrawing is paced here. Every
REFRESH_MS the next panel in turn that has new data and is visible redraws, unless it is not
yet due, and the tick ends: the event loop never holds more than one panel's redraw and
repaint at a time, so input and paints interleave with the drawing. A panel is due at a fixed
rate, PANEL_MAX_HZ: 1 / PANEL_MAX_HZ after it was last due, not after it last drew. Timed from
each redraw, the wait for a tick and for the panels before it in turn was added to every
interval: eight music panels drew at 9–10 Hz from recordings arriving at 12 a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Slot

from rnnviz.qt.panels.base import Panel

# Panels redraw from a ~60 Hz tick (at most once per snapshot each), a few milliseconds of
# redrawing per tick: the rest waits for the next tick, so input and paints interleave.
REFRESH_MS = 8
# A panel redraws at most this often: new data arrives faster (snapshots at 20 Hz), and every
# redraw costs a repaint on the window's one core.
PANEL_MAX_HZ = 12.5


class RedrawTicks(QObject):
    """Redraws `panels` (the window's own list: the laboratory's panels join it when they are
    built) one a tick, round-robin, from the moment it is made until `stop()`."""

    def __init__(
        self,
        panels: list[Panel],
        parent: QObject | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(parent)
        self.panels = panels
        self.clock = clock
        self._next = 0  # where the next tick starts looking
        self._due: dict[str, float] = {}  # panel key -> when it may redraw next
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    @Slot()
    def tick(self) -> None:
        """Let the next dirty, visible panel redraw; its repaint follows before the next
        one redraws."""
        now = self.clock()
        n = len(self.panels)
        for i in range(n):
            k = (self._next + i) % n
            panel = self.panels[k]
            due = self._due.get(panel.key, now)
            if now < due:
                continue
            if panel.refresh():
                # never sooner than half an interval from now: no run of redraws to catch up
                # after a quiet spell
                self._due[panel.key] = max(due + 1 / PANEL_MAX_HZ, now + 0.5 / PANEL_MAX_HZ)
                self._next = (k + 1) % n
                return

    def stop(self) -> None:
        self.timer.stop()
