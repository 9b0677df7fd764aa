"""The window's File → Export commands: the focused panel (its figure or its data as CSV),
every visible panel, the whole window, and animations of a panel or the window. Kept out
of MainWindow so the window wires commands and owns none of their work."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from rnnviz.qt.animation import (
    DEFAULT_STEP_FRAMES,
    DEFAULT_WIDTH,
    Frames,
    panel_frames,
    step_positions,
    step_span,
    steps_shown_by,
    time_positions,
)
from rnnviz.qt.animation_dialog import WINDOW, AnimationChoice, AnimationDialog, AnimationJob
from rnnviz.qt.export import ExportError, FigureSize, make_folder
from rnnviz.qt.export_dialogs import ExportAllDialog, export_window

if TYPE_CHECKING:
    from rnnviz.qt.main_window import MainWindow


class WindowExports(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.job: AnimationJob | None = None  # the animation being written

    @Slot()
    def focused_panel(self) -> None:
        self.window.focused_panel().export_dialog()

    @Slot()
    def all_dialog(self) -> None:
        w = self.window
        options = ExportAllDialog.ask(w, w.store.value("export/folder", str(Path.home())))
        if options is None:
            return
        folder, formats, size = options
        w.store.setValue("export/folder", str(folder))
        try:
            written = self.all(folder, formats, size)
        except (ExportError, OSError) as e:
            QMessageBox.warning(w, "Export failed", str(e))
            return
        w.statusBar().showMessage(f"Wrote {len(written)} images to {folder}", 5000)

    def all(
        self, folder: str | Path, formats=("png",), size: FigureSize | None = None
    ) -> list[Path]:
        """Write every visible panel's figure as <folder>/<key>.<format>; returns the paths
        written."""
        w = self.window
        folder = make_folder(folder)
        return [
            panel.export(folder / f"{panel.key}.{fmt}", size)
            for panel in w.panels
            if w.docks[panel.key].isVisible()
            for fmt in formats
        ]

    @Slot()
    def focused_panel_data(self) -> None:
        self.window.focused_panel().export_data_dialog()

    @Slot()
    def animation_dialog(self) -> None:
        """Ask what to animate and write it, a frame per turn of the event loop."""
        w = self.window
        shown = [p for p in w.panels if w.docks[p.key].isVisible() and p.snapshot is not None]
        if not shown:
            w.statusBar().showMessage("Nothing to animate yet: train a few steps first", 5000)
            return
        focused = w.focused_panel()
        current = focused if focused in shown else shown[0]
        choice = AnimationDialog.ask(
            w, shown, current, w.store.value("export/folder", str(Path.home()))
        )
        if choice is None:
            return
        w.store.setValue("export/folder", str(choice.path.parent))
        if w.transport.train_button.isChecked():  # frames of one model, not of a moving one
            w.transport.toggle_training()
        w.transport.stop_playing()
        try:
            frames = self.frames(choice)
            self.job = AnimationJob(w, frames, choice.path, choice.fps)
        except ExportError as e:
            QMessageBox.warning(w, "Export failed", str(e))
            return
        self.job.done.connect(self._animation_done)
        self.job.failed.connect(self._animation_failed)
        self.job.start()

    def frames(self, choice: AnimationChoice) -> Frames:
        """The frames `choice` asks for: a panel's, or the whole window's."""
        if choice.source == WINDOW:
            return self.window_frames(
                choice.first, choice.last, choice.size.width, choice.axis, choice.frames
            )
        return panel_frames(
            choice.source,
            choice.axis,
            choice.first,
            choice.last,
            frames=choice.frames,
            size=choice.size,
        )

    def window_frames(
        self,
        first: int | None = None,
        last: int | None = None,
        width: int = DEFAULT_WIDTH,
        axis: str = "time",
        frames: int = DEFAULT_STEP_FRAMES,
    ) -> Frames:
        """The window through time (or through training steps: the panels that draw a
        history grow, `frames` steps spread over first … last) as on screen, scaled to
        `width`, but a slide's: the panels without their controls, hints and info buttons;
        no side bar, menus, transport or status bar (their room goes to the panels), no
        start view over them. Put back as it was afterwards."""
        w = self.window
        hide = [w.settings_dock, w.centralWidget(), w.statusBar(), w.menuBar(), w.welcome]
        for panel in w.panels:
            hide += [panel.controls, *panel.hints, panel.info_button]
        state, t0 = w.saveState(), w.cursor.t

        def restore() -> None:
            QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
            w.restoreState(state)
            w.cursor.set(t0)

        if axis == "steps":
            if w.snapshot is None:
                raise ExportError("nothing has trained yet: no training steps to go through")
            show, redraw = steps_shown_by(w.panels, w.snapshot)

            def restore_all() -> None:
                redraw()
                restore()

            positions = step_positions(step_span(w.snapshot), first, last, frames)
            return Frames(w, positions, show, restore_all, hide, None, width)
        positions = time_positions(w.cursor.T, first, last)
        return Frames(w, positions, w.cursor.set, restore, hide, None, width)

    @Slot(object)
    def _animation_done(self, path: Path | None) -> None:
        self.job = None
        if path is not None:
            self.window.statusBar().showMessage(f"Wrote {path}", 5000)

    @Slot(str)
    def _animation_failed(self, message: str) -> None:
        QMessageBox.warning(self.window, "Export failed", message)

    @Slot()
    def window_dialog(self) -> None:
        path = export_window(self.window)
        if path is not None:
            self.window.statusBar().showMessage(f"Wrote {path}", 5000)
