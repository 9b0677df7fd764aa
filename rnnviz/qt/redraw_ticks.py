"""The window's redraw budget: one timer lets one dirty, visible panel redraw a tick.

Snapshots only mark panels dirty (Panel.set_snapshot); redrawing is paced here. Every
REFRESH_MS the next panel in turn that has new data and is visible redraws, unless it redrew
less than 1 / PANEL_MAX_HZ ago, and the tick ends: the event loop never holds more than one
panel's redraw and repaint at a time, so input and paints interleave with the drawing.
"""

from __future__ import annotations

import time

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

    def __init__(self, panels: list[Panel], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.panels = panels
        self._next = 0  # where the next tick starts looking
        self._drawn_at: dict[str, float] = {}  # panel key -> when it last redrew
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    @Slot()
    def tick(self) -> None:
        """Let the next dirty, visible panel redraw; its repaint follows before the next
        one redraws."""
        now = time.perf_counter()
        n = len(self.panels)
        for i in range(n):
            k = (self._next + i) % n
            panel = self.panels[k]
            if now - self._drawn_at.get(panel.key, -1.0) < 1.0 / PANEL_MAX_HZ:
                continue
            if panel.refresh():
                self._drawn_at[panel.key] = now
                self._next = (k + 1) % n
                return

    def stop(self) -> None:
        self.timer.stop()
