"""A text panel's figure behind a note: the note (waiting for the first recording, or why this
task has nothing to show) until the figure can be drawn, then the figure.

The text panels (guesses, connectivity, character units, piano roll) show one or the other,
never both: a figure for the wrong task would be empty or misleading.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

WAITING = "Waiting for the first recording of the model…"


class NoteStack(QStackedWidget):
    """Page 0: `note`, a centred, wrapping line (WAITING at first); page 1: the figure, under
    `heading` with `heading=True` (a rich-text line that is part of the figure: what it shows,
    at which step, its colour scale), `clear_right` pixels clear of the right edge (a panel
    without controls has its info button over the heading's end)."""

    def __init__(self, figure: QWidget, heading: bool = False, clear_right: int = 0) -> None:
        super().__init__()
        self.note = QLabel(WAITING)
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addWidget(self.note)
        self.heading: QLabel | None = None
        if heading:
            self.heading = QLabel()
            self.heading.setTextFormat(Qt.TextFormat.RichText)
            self.heading.setWordWrap(True)
            self.heading.setContentsMargins(0, 0, clear_right, 0)
            page = QWidget()
            column = QVBoxLayout(page)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(self.heading)
            column.addWidget(figure, 1)
            figure = page
        self.addWidget(figure)

    def show_note(self, text: str) -> None:
        """Say `text` in place of the figure."""
        self.note.setText(text)
        self.setCurrentIndex(0)

    def show_figure(self) -> None:
        self.setCurrentIndex(1)
