"""Unrolled computation graph (placeholder until the real panel lands)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout

from rnnviz.qt.panels.base import Panel


class UnrolledGraphPanel(Panel):
    title = "Unrolled computation graph"
    key = "graph"
    info = ""

    def __init__(self, cursor, parent=None) -> None:
        super().__init__(cursor, parent)
        self.label = QLabel("Unrolled computation graph")
        QVBoxLayout(self).addWidget(self.label)

    def redraw(self, snapshot) -> None:
        self.label.setText(f"Unrolled computation graph — step {snapshot.step}")
