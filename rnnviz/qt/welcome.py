"""The start view: what a newcomer sees first, a card over the panels until training starts.

It says what to do ("Press Space to train this LSTM on a sine wave — or start a lesson") and
offers every lesson (a preset: its title, its one-line summary and its Ctrl+ or Alt+number key) as a
button. It goes as soon as the model trains or a lesson starts, and comes back with the next
window; closing it (×) is remembered in the window's QSettings (`welcome/dismissed`), so it
stays closed from then on, until Help → Start view opens it again.

The card floats over the panel docks instead of taking a dock of its own: the layout the
panels have, and that a user saves, is the same with or without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QRect, Qt, Slot
from PySide6.QtWidgets import (
    QCommandLinkButton,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
)

from rnnviz.core.config import Config
from rnnviz.qt.actions import key_text
from rnnviz.qt.settings import CELL_LABELS, TASK_LABELS

if TYPE_CHECKING:
    from rnnviz.core.protocol import Snapshot
    from rnnviz.qt.main_window import MainWindow

DISMISSED = "welcome/dismissed"  # QSettings key: the user closed the start view for good
# What each task asks of the model, to finish "Press Space to train this LSTM on …"
TASK_PHRASES = {
    "sine": "a sine wave",
    "adding": "the adding problem",
    "copy": "the copy task",
    "charlm": "a text, one character at a time",
}
MARGIN = 16  # between the card and the edges of the panel area
STYLE = """
#welcome { background: #FFFFFF; border: 2px solid #0072B2; border-radius: 8px; }
#welcome QLabel#heading { font-size: 16pt; color: #1a1a1a; }
#welcome QLabel#hint { color: #555555; }
#welcome QPushButton#train { font-size: 13pt; font-weight: bold; padding: 6px 14px; }
"""


def heading(config: Config, train_key: str) -> str:
    """The first line a newcomer reads, for the model the window holds."""
    cell = CELL_LABELS.get(f"{config.cell}:{config.nonlinearity}", CELL_LABELS.get(config.cell))
    task = TASK_PHRASES.get(config.task, TASK_LABELS.get(config.task, config.task))
    return f"Press <b>{train_key}</b> to train this {cell} on {task} — or start a lesson:"


class WelcomeView(QFrame):
    """The start view of `window` (a MainWindow): a card over its panels."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName("welcome")
        self.setStyleSheet(STYLE)
        self.window_ = window
        self.heading = QLabel()
        self.heading.setObjectName("heading")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.close_button = QToolButton(text="×")
        self.close_button.setToolTip("Close the start view (it stays closed next time)")
        self.close_button.setAutoRaise(True)
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button.clicked.connect(self.dismiss)
        train = window.actions.train
        self.train_button = QPushButton(f"▶  Train  ({key_text(train)})")
        self.train_button.setObjectName("train")
        self.train_button.setToolTip(window.actions.tooltip("train"))
        self.train_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays the shortcut
        self.train_button.clicked.connect(train.trigger)

        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        lessons = QGridLayout()
        self.lesson_buttons: dict[str, QCommandLinkButton] = {}
        menu = window.preset_menu
        rows = (len(menu.presets) + 1) // 2  # two columns, in menu order down each
        for k, preset in enumerate(menu.presets):
            action = menu.preset_actions[preset.key]
            button = QCommandLinkButton(f"{preset.title}   {key_text(action)}", preset.summary)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(preset.explanation)
            button.clicked.connect(action.trigger)
            lessons.addWidget(button, k % rows, k // rows)
            self.lesson_buttons[preset.key] = button
        hint = QLabel(
            "Each lesson trains a model to the picture its text explains, then pauses. "
            "The lessons stay in the Presets menu; "
            f"{key_text(window.actions.help)} lists every key and symbol."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 10, 14)
        layout.addLayout(top)
        layout.addWidget(self.train_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(lessons)
        layout.addWidget(hint)

        self.set_config(window.settings.applied_config())
        window.runner.started.connect(self.set_config)
        window.runner.snapshot.connect(self._on_snapshot)
        window.preset_menu.chosen.connect(self._on_lesson)
        self._follower = _Follower(self)
        for dock in window.docks.values():
            dock.installEventFilter(self._follower)
        window.installEventFilter(self._follower)
        self.setVisible(not window.store.value(DISMISSED, False, type=bool))

    @Slot(object)
    def set_config(self, config: Config) -> None:
        self.heading.setText(heading(config, key_text(self.window_.actions.train)))

    @Slot()
    def dismiss(self) -> None:
        """Close the start view, now and in every window after."""
        self.window_.store.setValue(DISMISSED, True)
        self.hide()

    @Slot()
    def reopen(self) -> None:
        """Show the start view again (Help → Start view), at start-up too from now on."""
        self.window_.store.remove(DISMISSED)
        self.show()

    @Slot(object)
    def _on_snapshot(self, snapshot: Snapshot) -> None:
        if self.isVisible() and (snapshot.state == "running" or snapshot.step > 0):
            self.hide()  # training started: the panels are the point now

    @Slot(object)
    def _on_lesson(self, _preset) -> None:
        self.hide()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self.place()

    def place(self) -> None:
        """Centre the card over the visible panels (the whole window before they show)."""
        docks = [d for d in self.window_.docks.values() if d.isVisible() and not d.isFloating()]
        area = QRect()
        for dock in docks:
            area = area.united(dock.geometry())
        if area.isEmpty():
            area = self.window_.rect()
        width = min(820, area.width() - 2 * MARGIN)
        height = min(self.layout().totalHeightForWidth(width), area.height() - 2 * MARGIN)
        self.setGeometry(
            area.x() + (area.width() - width) // 2,
            area.y() + (area.height() - height) // 2,
            width,
            height,
        )
        self.raise_()


class _Follower(QObject):
    """Places the card again whenever the window or a dock changes size or place."""

    def __init__(self, view: WelcomeView) -> None:
        super().__init__(view)
        self.view = view

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        kind = event.type()
        if self.view.isVisible() and kind in (QEvent.Type.Resize, QEvent.Type.Move):
            self.view.place()
        return False
