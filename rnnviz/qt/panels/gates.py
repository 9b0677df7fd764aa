"""Gate activations (placeholder until the real panel lands)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout

from rnnviz.qt.panels.base import Panel


class GateActivationsPanel(Panel):
    title = "Gate activations"
    key = "gates"
    info = ""

    def __init__(self, cursor, parent=None) -> None:
        super().__init__(cursor, parent)
        self.label = QLabel("Gate activations")
        QVBoxLayout(self).addWidget(self.label)

    def redraw(self, snapshot) -> None:
        self.label.setText(f"Gate activations — step {snapshot.step}")
