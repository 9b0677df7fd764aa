"""Export animation…: the options (which panel or the whole window, through time or training
steps, which range, frame rate, width, GIF or MP4) and the job that writes it a frame per turn
of the event loop under a progress dialog whose Cancel leaves no file behind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QProgressDialog,
    QSpinBox,
    QWidget,
)

from rnnviz.qt.animation import (
    AXES,
    DEFAULT_FPS,
    DEFAULT_STEP_FRAMES,
    DEFAULT_WIDTH,
    FPS_RANGE,
    Frames,
    animate,
    step_span,
)
from rnnviz.qt.export import ExportError, FigureSize
from rnnviz.qt.export_dialogs import FigureDialog
from rnnviz.qt.panels.base import Panel

WINDOW = "window"  # the source that is the whole window, not a panel
VIDEO_FILTER = "GIF animation (*.gif);;MP4 video (*.mp4)"


@dataclass(frozen=True)
class AnimationChoice:
    """What the dialog was asked for: `source` a panel, or WINDOW."""

    path: Path
    source: Panel | str
    axis: str
    first: int
    last: int
    frames: int
    fps: int
    size: FigureSize


class AnimationDialog(FigureDialog):
    """The form: the file (GIF or MP4 by its suffix), then what moves and how fast."""

    def __init__(self, parent: QWidget | None, panels: list[Panel], current: Panel) -> None:
        super().__init__(parent, "Export animation", "file", f"{current.key}.gif")
        self.width_spin.setValue(DEFAULT_WIDTH)
        self.source = QComboBox()
        for panel in panels:
            self.source.addItem(panel.title, panel)
        self.source.addItem("the whole window (panels without their controls)", WINDOW)
        self.source.setCurrentIndex(max(self.source.findData(current), 0))
        self.axis = QComboBox()
        self.first, self.last, self.frames = QSpinBox(), QSpinBox(), QSpinBox()
        self.frames.setRange(1, 10_000)
        self.frames.setValue(DEFAULT_STEP_FRAMES)
        self.fps = QSpinBox()
        self.fps.setRange(*FPS_RANGE)
        self.fps.setValue(DEFAULT_FPS)
        self.fps.setSuffix(" frames/s")
        self.count = QLabel()  # how many frames, and how long it plays
        self.form.insertRow(0, "of", self.source)
        self.form.insertRow(2, "through", self.axis)
        self.form.insertRow(3, "from", self.first)
        self.form.insertRow(4, "to", self.last)
        self.form.insertRow(5, "frames", self.frames)
        self.form.insertRow(6, "frame rate", self.fps)
        self.form.addRow("", self.count)
        self.add_buttons()
        self.source.currentIndexChanged.connect(self._source_changed)
        self.axis.currentIndexChanged.connect(self._axis_changed)
        for spin in (self.first, self.last, self.frames, self.fps):
            spin.valueChanged.connect(self._count_changed)
        self._source_changed()

    def _chosen_source(self) -> Panel | str:
        return self.source.currentData()

    def _panel(self) -> Panel:
        """The panel whose snapshot and cursor give the ranges (any, for the window)."""
        source = self._chosen_source()
        return source if isinstance(source, Panel) else self.source.itemData(0)

    @Slot()
    def _source_changed(self) -> None:
        source = self._chosen_source()
        axes = self._window_axes() if source == WINDOW else source.animation_axes()
        self.axis.blockSignals(True)
        self.axis.clear()
        for axis in axes:
            self.axis.addItem(AXES[axis], axis)
        self.axis.blockSignals(False)
        self.aspect.setEnabled(source != WINDOW)  # the window keeps its shape
        target = Path(self.target.text().strip())  # named after what it shows, where it was
        name = WINDOW if source == WINDOW else source.key
        self.target.setText(str(target.parent / f"{name}{target.suffix or '.gif'}"))
        self._axis_changed()

    def _window_axes(self) -> tuple[str, ...]:
        """The window moves through time, and through training steps where one of its
        panels draws a history."""
        panels = [self.source.itemData(i) for i in range(self.source.count() - 1)]
        return ("time",) + (
            ("steps",) if any("steps" in p.animation_axes() for p in panels) else ()
        )

    @Slot()
    def _axis_changed(self) -> None:
        steps = self.axis.currentData() == "steps"
        snapshot = self._panel().snapshot
        if steps and snapshot is not None:
            lo, hi = step_span(snapshot)
        else:
            lo, hi = 0, self._panel().cursor.T - 1
        for spin, value in ((self.first, lo), (self.last, hi)):
            spin.blockSignals(True)
            spin.setRange(lo, hi)
            spin.setValue(value)
            spin.blockSignals(False)
        self.frames.setEnabled(steps)  # through time: one frame a timestep
        self._count_changed()

    @Slot()
    def _count_changed(self) -> None:
        steps = self.axis.currentData() == "steps"
        span = self.last.value() - self.first.value() + 1
        n = min(self.frames.value(), span) if steps else span
        self.count.setText(f"{max(n, 0)} frames, {max(n, 0) / self.fps.value():.1f} s")

    @Slot()
    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, self.windowTitle(), self.target.text(), VIDEO_FILTER
        )
        if path:
            self.target.setText(path)

    @classmethod
    def ask(
        cls, parent: QWidget | None, panels: list[Panel], current: Panel, folder: str
    ) -> AnimationChoice | None:
        """Show the dialog; what was chosen, or None if cancelled. A file without a suffix
        is a GIF."""
        dialog = cls(parent, panels, current)
        dialog.target.setText(str(Path(folder) / dialog.target.text()))
        chosen = dialog.chosen()
        if chosen is None:
            return None
        path = Path(chosen)
        return AnimationChoice(
            path=path if path.suffix else path.with_suffix(".gif"),
            source=dialog._chosen_source(),
            axis=dialog.axis.currentData(),
            first=dialog.first.value(),
            last=dialog.last.value(),
            frames=dialog.frames.value(),
            fps=dialog.fps.value(),
            size=dialog.figure_size(),
        )


def format_of(path: Path) -> str:
    """ "gif" or "mp4" by the file's suffix; anything else is an ExportError saying so."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("gif", "mp4"):
        raise ExportError(f"unknown animation format {path.suffix!r}: use .gif or .mp4")
    return fmt


class AnimationJob(QObject):
    """Writes one animation a frame per turn of the event loop, showing a progress dialog in
    `parent`; Cancel stops it and removes the partial file. Emits `done` with the path
    written, or None when cancelled or failed (the failure shown in a message box)."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QWidget, frames: Frames, path: Path, fps: int) -> None:
        super().__init__(parent)
        self.path = path
        self.total = len(frames) + 1  # the frames, then encoding and renaming the file
        self._steps: Iterator[int] | None = animate(frames, path, format_of(path), fps)
        self.progress = QProgressDialog(f"Writing {path.name}…", "Cancel", 0, self.total, parent)
        self.progress.setWindowTitle("Export animation")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.canceled.connect(self.cancel)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._next)

    def start(self) -> None:
        self.progress.setValue(0)
        self._timer.start()

    @Slot()
    def _next(self) -> None:
        if self._steps is None:
            return
        try:
            done = next(self._steps)
        except StopIteration:
            return self._finish(self.path)
        except ExportError as e:
            self._steps = None
            self.failed.emit(str(e))
            return self._finish(None)
        if done == self.total - 1:
            self.progress.setLabelText(f"Encoding {self.path.name}…")
        self.progress.setValue(done)  # a modal dialog turns the event loop here: Cancel
        if self._steps is not None:
            self._timer.start()

    @Slot()
    def cancel(self) -> None:
        """Stop now: no file, the widgets as they were. The dialog closes from the event loop:
        the Cancel click arrives inside the dialog's own setValue (see _next), and closing and
        deleting it there left setValue running on a deleted dialog (SIGSEGV, CI on a busy
        machine)."""
        self._timer.stop()
        steps, self._steps = self._steps, None
        if steps is not None:
            steps.close()
            QTimer.singleShot(0, self, lambda: self._finish(None))

    def _finish(self, path: Path | None) -> None:
        self._steps = None
        self.progress.canceled.disconnect(self.cancel)
        self.progress.close()
        self.progress.deleteLater()
        self.done.emit(path)
