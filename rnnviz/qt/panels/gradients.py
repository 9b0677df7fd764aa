"""Gradient norms through time (placeholder until the real panel lands)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout

from rnnviz.qt.panels.base import Panel


class GradientNormsPanel(Panel):
    title = "Gradient norms through time"
    key = "gradients"
    info = ""

    def __init__(self, cursor, parent=None) -> None:
        super().__init__(cursor, parent)
        self.label = QLabel("Gradient norms through time")
        QVBoxLayout(self).addWidget(self.label)

    def redraw(self, snapshot) -> None:
        self.label.setText(f"Gradient norms through time — step {snapshot.step}")
