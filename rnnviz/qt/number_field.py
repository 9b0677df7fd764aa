"""NumberField: a spin box for a real number that holds whatever number a person types.

Qt's QDoubleSpinBox clamps a typed value into its range and cannot hold NaN, so a value it
does not like is changed or reverted without a word. A NumberField keeps any number its text
says (nan, inf, -1, 1e9) and emits it; the form that owns it validates the value (for the side
bar, `Config.validate`) and shows the reason beside the field. Text that is not a number yet
("1e", "-") may be finished; left unfinished, it reverts to the field's value.

The arrows step along 1, 2, 5, 10, 20 … (scale-free values: learning rate, clip threshold),
or by a fixed step.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Signal, Slot
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QSizePolicy,
    QStyle,
    QStyleOptionSpinBox,
    QWidget,
)

LADDER = (1.0, 2.0, 5.0)  # the rungs of one decade
ROOM_FOR = "-0.000005"  # the text a field is sized for; it may shrink to ROOM_MIN's
ROOM_MIN = "0.0001"


class NumberField(QAbstractSpinBox):
    """A number field; `value()` is the number last entered, whatever it is."""

    valueChanged = Signal(float)  # noqa: N815 (Qt naming, as QDoubleSpinBox)

    def __init__(
        self, value: float = 0.0, step: float | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._value = float(value)
        self.step = step  # None: along the 1, 2, 5 ladder
        self.lineEdit().setText(self.textFromValue(self._value))
        self.editingFinished.connect(self._commit)
        shrink_to_fit(self)

    def value(self) -> float:
        return self._value

    def setValue(self, value: float) -> None:  # noqa: N802 (Qt naming)
        value = float(value)
        text = self.textFromValue(value)
        if self.lineEdit().text() != text:
            self.lineEdit().setText(text)
        same = value == self._value or (math.isnan(value) and math.isnan(self._value))
        self._value = value
        if not same:
            self.valueChanged.emit(value)

    @staticmethod
    def textFromValue(value: float) -> str:  # noqa: N802 (Qt naming)
        return f"{value:g}"

    def validate(self, text: str, pos: int) -> object:
        return QValidator.State.Acceptable if _number(text) is not None else _INTERMEDIATE

    def fixup(self, text: str) -> str:
        return self.textFromValue(self._value)

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802 (Qt API)
        flags = QAbstractSpinBox.StepEnabledFlag
        return flags.StepUpEnabled | flags.StepDownEnabled

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt API)
        value = self._value
        if self.step is not None:
            start = value if math.isfinite(value) else 0.0
            self.setValue(round(start + steps * self.step, 12))
            return
        if not (math.isfinite(value) and value > 0):
            value = 1e-3  # from nothing usable, start one rung below 0.002
        decade = math.floor(math.log10(value) + 1e-9)
        mantissa = value / 10**decade
        rung = max(i for i, m in enumerate(LADDER) if m <= mantissa * (1 + 1e-9))
        on_rung = math.isclose(mantissa, LADDER[rung], rel_tol=1e-6)
        # Between two rungs, `rung` is the one below: a step down lands on it, not past it.
        index = decade * 3 + rung + steps + (steps < 0 and not on_rung)
        decade, rung = divmod(index, 3)
        self.setValue(float(f"{LADDER[rung] * 10**decade:.12g}"))

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API: the base class has no text to measure)
        return spin_box_size(self, ROOM_FOR)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return spin_box_size(self, ROOM_MIN)

    @Slot()
    def _commit(self) -> None:
        number = _number(self.lineEdit().text())
        if number is None:  # not a number: show the value in force again
            self.lineEdit().setText(self.textFromValue(self._value))
        else:
            self.setValue(number)


_INTERMEDIATE = QValidator.State.Intermediate


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def spin_box_size(box: QAbstractSpinBox, text: str) -> QSize:
    """The size of a spin box with room for `text` (Qt sizes one for its range's ends)."""
    option = QStyleOptionSpinBox()
    box.initStyleOption(option)
    room = QSize(box.fontMetrics().horizontalAdvance(text), box.lineEdit().sizeHint().height())
    return box.style().sizeFromContents(QStyle.ContentsType.CT_SpinBox, option, room, box)


def shrink_to_fit(box: QAbstractSpinBox) -> None:
    """Let a spin box in a narrow side bar take less than its size hint (down to its
    minimum size hint): Qt's spin boxes only grow."""
    box.setSizePolicy(QSizePolicy.Policy.Preferred, box.sizePolicy().verticalPolicy())
