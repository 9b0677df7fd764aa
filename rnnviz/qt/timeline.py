"""The time cursor t shared by every panel: one small observable, no widgets.

Panels connect to `changed` and mark t; the slider, the arrow keys and the play timer write
to it. It clamps t to the probed sequence, so a shorter new sequence never leaves t dangling.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class TimeCursor(QObject):
    changed = Signal(int)  # the new t
    length_changed = Signal(int)  # the new T

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._t = 0
        self._T = 1

    @property
    def t(self) -> int:
        return self._t

    @property
    def T(self) -> int:
        return self._T

    def set_length(self, T: int) -> None:
        T = max(1, int(T))
        if T != self._T:
            self._T = T
            self.length_changed.emit(T)
        self.set(min(self._t, T - 1))

    def set(self, t: int) -> None:
        t = max(0, min(int(t), self._T - 1))
        if t != self._t:
            self._t = t
            self.changed.emit(t)

    def step(self, dt: int) -> None:
        self.set(self._t + dt)
