"""Builders for the side bar's form: choice boxes, whole-number fields, rows, section titles
and the note beside a field that says why its value is refused.

Whole-number fields take any 32-bit number: their range is not the setting's (that is
`Config.validate`'s), so a value out of range reaches validation and is refused with its
reason instead of being clamped without a word.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox, QWidget

from rnnviz.qt.number_field import ROOM_FOR, ROOM_MIN, shrink_to_fit, spin_box_size

INT32 = (-(2**31), 2**31 - 1)  # what a QSpinBox can hold
REFUSAL_STYLE = "color: #B00020; font-weight: bold;"


def combo(items: dict) -> QComboBox:
    """A choice box of `items` (data: label)."""
    box = QComboBox()
    # Let the side bar be narrow: long item texts must not set its minimum width.
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(8)
    for data, label in items.items():
        box.addItem(label, data)
    return box


def select(box: QComboBox, data) -> None:
    """Choose the entry holding `data`, if there is one."""
    index = box.findData(data)
    if index >= 0:
        box.setCurrentIndex(index)


class WholeNumberField(QSpinBox):
    """A field for a whole number, any a spin box can hold (validation says what is usable),
    sized for the numbers people type rather than for its ten-digit range."""

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return spin_box_size(self, ROOM_FOR)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return spin_box_size(self, ROOM_MIN)


def whole_number() -> QSpinBox:
    """A WholeNumberField that edits once per number typed, not once per digit."""
    box = WholeNumberField()
    box.setRange(*INT32)
    box.setKeyboardTracking(False)  # one edit per number typed, not one per digit
    box.setAccelerated(True)
    shrink_to_fit(box)
    return box


def row(*widgets: QWidget, stretch: bool = True) -> QHBoxLayout:
    """Widgets side by side; the last takes the spare width unless `stretch` is False."""
    layout = QHBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        layout.addWidget(w, 1 if stretch and i == len(widgets) - 1 else 0)
    return layout


def section(form: QFormLayout, title: str, note: str = "") -> None:
    """A bold title over the next rows, with an optional grey note."""
    label = QLabel(title)
    label.setStyleSheet("font-weight: bold; padding-top: 6px;")
    if note:
        label.setToolTip(note)
        label.setText(f"{title} <span style='font-weight: normal; color: gray;'>({note})</span>")
        label.setWordWrap(True)
    form.addRow(label)


def refusal_note() -> QLabel:
    """The red note under a field (or under the form) saying why a value is refused."""
    note = QLabel()
    note.setWordWrap(True)
    note.setStyleSheet(REFUSAL_STYLE)
    note.hide()
    return note
