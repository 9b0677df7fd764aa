"""File → Save session…, Open session… and Open recent session: a run saved whole in one
`.rnnviz` file (rnnviz/core/session.py) and opened again at the same step, with the same
panels, lesson, time cursor and dock layout, ready to train on (Space) or to Reset to the
same initial weights.

Saving asks the training process for its trainers' state (TrainingRunner.capture); the file
is written, atomically, when that state arrives. Opening reads and checks the whole file
first: a file that cannot be opened is one message, and the window keeps what it had.
The last folder and the recent files live in the window's QSettings (`window.store`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from rnnviz.core.session import SUFFIX, Session, SessionError, read_session, write_session
from rnnviz.qt.dock_layout import LAYOUT_VERSION
from rnnviz.qt.tokens import cursor_length

if TYPE_CHECKING:
    from rnnviz.core.protocol import Snapshot
    from rnnviz.core.session import RunState
    from rnnviz.qt.main_window import MainWindow

FILTER = f"rnnviz sessions (*{SUFFIX});;All files (*)"
RECENT = 8  # files the Open recent menu lists


class Sessions(QObject):
    """The window's session commands. `saved(path)` follows a save, `opened(path)` an open
    (the run then starts in the training process), `failed(message)` either's failure."""

    saved = Signal(str)
    opened = Signal(str)
    failed = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.recent_menu = QMenu("Open recent session", window)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._save_to: Path | None = None  # where the state the runner brings next goes
        self._cursor: int | None = None  # t for the opened run's first recording
        window.runner.captured.connect(self._on_captured)
        window.runner.snapshot.connect(self._place_cursor)

    # -- saving

    @Slot()
    def save_dialog(self) -> None:
        if not self.window.runner.is_alive():
            self._fail("Nothing to save", "No run is training (Apply in the side bar starts one).")
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save session", str(Path(self._folder()) / f"run{SUFFIX}"), FILTER
        )
        if path:
            self.save(path)

    def save(self, path: str | Path) -> None:
        """Save the current runs to `path` (SUFFIX added when it has none) once the training
        process has sent their state; `saved` or `failed` follows."""
        path = Path(path)
        self._save_to = path if path.suffix else path.with_suffix(SUFFIX)
        self.window.statusBar().showMessage(f"Saving {self._save_to.name}…")
        self.window.runner.capture()

    @Slot(tuple)
    def _on_captured(self, runs: tuple[RunState, ...]) -> None:
        path, self._save_to = self._save_to, None
        if path is None:
            return
        w = self.window
        preset = w.preset
        session = Session(
            runs=runs,
            preset=preset.key if preset is not None else None,
            lesson={"title": preset.title, "explanation": preset.explanation} if preset else {},
            cursor=w.cursor.t,
            layout=bytes(w.saveState(LAYOUT_VERSION).data()),
        )
        try:
            write_session(path, session)
        except SessionError as e:
            self._fail("Could not save the session", str(e))
            return
        self._remember(path)
        w.statusBar().showMessage(f"Saved {path.name} at step {runs[0].step}", 8000)
        self.saved.emit(str(path))

    # -- opening

    @Slot()
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", self._folder(), FILTER)
        if path:
            self.open(path)

    def open(self, path: str | Path) -> bool:
        """Continue the session in `path`: its runs start paused at their saved step. A file
        that cannot be opened is one message and changes nothing; returns whether it opened."""
        path = Path(path)
        try:
            session = read_session(path)
        except SessionError as e:
            self._fail("Could not open the session", str(e))
            return False
        self._remember(path)
        w = self.window
        presets = {p.key: p for p in w.preset_menu.presets}
        # A run saved on a GPU opens on a laptop: the best device here (every machine has a CPU).
        runs = tuple(
            r if r.config.device == "cpu" else replace(r, config=r.config.replace(device="auto"))
            for r in session.runs
        )
        first, *others = runs
        w.settings.set_config(first.config)
        w.restart(
            first.config,
            presets.get(session.preset),
            label=first.label,
            companions=tuple((r.label, r.config) for r in others),
            resume=runs,
        )
        if session.layout:
            w.restoreState(QByteArray(session.layout), LAYOUT_VERSION)
        w.presentation.rearranged()  # presenting: the side bar stays out of the way
        self._cursor = session.cursor
        w.welcome.hide()
        w.statusBar().showMessage(f"Opened {path.name} at step {first.step}", 8000)
        self.opened.emit(str(path))
        return True

    @Slot(object)
    def _place_cursor(self, snapshot: Snapshot) -> None:
        """With the opened run's first recording, t where it was saved."""
        if snapshot.trace is None or self._cursor is None:
            return
        # as the window will: t fits in it
        self.window.cursor.set_length(cursor_length(snapshot.trace))
        self.window.cursor.set(self._cursor)
        self._cursor = None

    # -- the recent files and the folder

    def recent(self) -> list[str]:
        value = self.window.store.value("sessions/recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    @Slot()
    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = [p for p in self.recent() if Path(p).is_file()]
        for k, name in enumerate(files, start=1):
            action = QAction(f"{k}. {Path(name).name}", self.recent_menu)
            action.setToolTip(name)
            action.triggered.connect(lambda _=False, p=name: self.open(p))
            self.recent_menu.addAction(action)
        if not files:
            self.recent_menu.addAction("No recent sessions").setEnabled(False)

    def _remember(self, path: Path) -> None:
        path = path.resolve()
        store = self.window.store
        store.setValue("sessions/folder", str(path.parent))
        files = [str(path), *(p for p in self.recent() if p != str(path))]
        store.setValue("sessions/recent", files[:RECENT])

    def _folder(self) -> str:
        return str(self.window.store.value("sessions/folder", str(Path.home())))

    def _fail(self, title: str, message: str) -> None:
        self.window.statusBar().clearMessage()
        self.failed.emit(message)
        QMessageBox.warning(self.window, title, message)
