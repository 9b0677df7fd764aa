"""One QAction per command: the menus, the keyboard shortcuts, the help page and the transport
bar's tooltips all read the same table, so a key is declared once.

`COMMANDS` lists every command in menu order; `Actions(window)` builds the QActions, adds them
to the window (their shortcuts then work wherever the focus is) and fills the menus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QWidget

if TYPE_CHECKING:
    from rnnviz.qt.main_window import MainWindow


@dataclass(frozen=True)
class Command:
    name: str  # attribute of Actions
    text: str  # menu text
    key: str | None  # QKeySequence text ("Space", "Ctrl+E"), or None
    menu: str  # the menu that holds it (File, Training, Time, View, Help), or "" for none
    tip: str = ""  # longer than the menu text, for tooltips


COMMANDS = (
    Command(
        "open_model",
        "Open model…",
        None,
        "File",
        "Your own nn.RNN/LSTM/GRU (state_dict, .safetensors or checkpoint) on your input",
    ),
    Command("open_trace", "Open trace…", None, "File", "An NPZ written by rnnviz trace"),
    Command(
        "open_session",
        "Open session…",
        "Ctrl+O",
        "File",
        "A saved run, at its step, ready to train on (.rnnviz)",
    ),
    Command(
        "save_session",
        "Save session…",
        "Ctrl+S",
        "File",
        "This run whole: settings, weights, history, lesson and layout, in one .rnnviz file",
    ),
    Command("export", "Export focused panel…", "Ctrl+E", "File"),
    Command("export_all", "Export all panels…", "Ctrl+Shift+E", "File"),
    Command(
        "export_data",
        "Export focused panel's data (CSV)…",
        None,
        "File",
        "The numbers the focused panel draws, as CSV tables (t or training step, then values)",
    ),
    Command(
        "export_animation",
        "Export animation…",
        None,
        "File",
        "GIF or MP4 of a panel or the window as t moves through the sequence (or training goes by)",
    ),
    Command(
        "export_window",
        "Export the whole window…",
        None,
        "File",
        "The window as on screen, controls and all, pixel for pixel",
    ),
    Command("quit", "Quit", "Ctrl+Q", "File"),
    Command("train", "Train / pause", "Space", "Training", "Train continuously / pause"),
    Command("step", "Step", "S", "Training", "One training step"),
    Command("reset", "Reset", "R", "Training", "Back to the initial weights and data"),
    Command("new_seed", "New seed", None, "Training", "A new model and data from the next seed"),
    Command("prev", "Previous timestep", "Left", "Time"),
    Command("next", "Next timestep", "Right", "Time"),
    Command("first", "First timestep", "Home", "Time"),
    Command("last", "Last timestep", "End", "Time"),
    Command("play", "Play / stop timesteps", "P", "Time", "Animate t through the sequence"),
    Command(
        "presentation",
        "Presentation mode",
        "F11",
        "View",
        "Full screen, large fonts and thick lines for a projector (F11 or Esc leaves)",
    ),
    Command("leave_presentation", "Leave presentation mode", "Esc", ""),  # no menu: a key
    Command("reset_layout", "Reset layout", None, "View"),
    Command("help", "Help", "F1", "Help"),
    Command("welcome", "Start view", None, "Help", "What to do first: train, or start a lesson"),
)
MENUS = ("File", "Training", "Time", "View", "Help")


def slots(w: MainWindow) -> dict[str, Callable[[], object]]:
    """What each command does in window `w`."""
    return {
        "open_model": w.open_files.model_dialog,
        "open_trace": w.open_files.trace_dialog,
        "open_session": w.sessions.open_dialog,
        "save_session": w.sessions.save_dialog,
        "export": w.exports.focused_panel,
        "export_all": w.exports.all_dialog,
        "export_data": w.exports.focused_panel_data,
        "export_animation": w.exports.animation_dialog,
        "export_window": w.exports.window_dialog,
        "quit": w.close,
        "train": w.transport.toggle_training,
        "step": w.step,
        "reset": w.reset,
        "new_seed": w.settings.new_seed,
        "prev": lambda: w.cursor.step(-1),
        "next": lambda: w.cursor.step(1),
        "first": lambda: w.cursor.set(0),
        "last": lambda: w.cursor.set(w.cursor.T - 1),
        "play": w.transport.toggle_play,
        "presentation": w.presentation.toggle,
        "leave_presentation": w.presentation.leave,
        "reset_layout": w.reset_layout,
        "help": w.show_help,
        "welcome": lambda: w.welcome.reopen(),  # the view is built after the actions it uses
    }


def key_text(action: QAction) -> str:
    """The action's shortcut as the user's platform writes it ("" for none)."""
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


class Actions:
    """The window's QActions by command name (`actions.train`, `actions["train"]`)."""

    def __init__(self, window: MainWindow) -> None:
        do = slots(window)
        self.by_name: dict[str, QAction] = {}
        for c in COMMANDS:
            a = QAction(c.text, window)
            if c.key:
                a.setShortcut(QKeySequence(c.key))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.setToolTip(c.tip or c.text)
            a.triggered.connect(do[c.name])
            window.addAction(a)  # the shortcut works wherever the focus is in this window
            self.by_name[c.name] = a
        self.presentation.setCheckable(True)

    def __getattr__(self, name: str) -> QAction:
        try:
            return self.__dict__["by_name"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]

    def tooltip(self, name: str) -> str:
        """ "Train continuously / pause (Space)": what a button for this command says."""
        action = self.by_name[name]
        key = key_text(action)
        return f"{action.toolTip()} ({key})" if key else action.toolTip()

    def in_menu(self, menu: str) -> list[QAction]:
        return [self.by_name[c.name] for c in COMMANDS if c.menu == menu]

    def with_keys(self) -> list[QAction]:
        """Every action that has a shortcut, in menu order (the help page's key table)."""
        return [a for a in self.by_name.values() if not a.shortcut().isEmpty()]


def route_keys_past_spin_boxes(window: QWidget) -> None:
    """Space, S, R and P mean nothing to a number field: let the shortcuts have them.
    (Arrows, Home and End stay with a focused number field, which uses them.)"""
    router = _ShortcutKeysFirst(
        {Qt.Key.Key_Space, Qt.Key.Key_S, Qt.Key.Key_R, Qt.Key.Key_P}, window
    )
    for box in window.findChildren(QAbstractSpinBox):
        box.installEventFilter(router)
        box.lineEdit().installEventFilter(router)


class _ShortcutKeysFirst(QObject):
    """Event filter: the given unmodified keys go to the window's shortcuts, not the widget."""

    def __init__(self, keys: set, parent: QObject) -> None:
        super().__init__(parent)
        self.keys = keys

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and event.key() in self.keys
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
        ):
            event.ignore()
            return True
        return False
