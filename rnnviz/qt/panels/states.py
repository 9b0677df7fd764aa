"""Cell and hidden states (placeholder until the real panel lands)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout

from rnnviz.qt.panels.base import Panel


class StateTrajectoriesPanel(Panel):
    title = "Cell and hidden states"
    key = "states"
    info = ""

    def __init__(self, cursor, parent=None) -> None:
        super().__init__(cursor, parent)
        self.label = QLabel("Cell and hidden states")
        QVBoxLayout(self).addWidget(self.label)

    def redraw(self, snapshot) -> None:
        self.label.setText(f"Cell and hidden states — step {snapshot.step}")
