"""What every panel is: a widget that shows the latest Snapshot and the time cursor t.

A panel never talks to the worker or to another panel. The main window hands it snapshots
(`set_snapshot`, cheap: it only stores and marks dirty when a field in `draws` changed) and
calls `refresh()` from one timer; the panel redraws only when it is dirty and visible.
Subclasses implement `redraw(snapshot)` (new data) and `show_time(t)` (move the cursor marks —
must be cheap).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QMenu,
    QMessageBox,
    QToolButton,
    QWidget,
)

from rnnviz.qt import glossary
from rnnviz.qt.export import DEFAULT_WIDTH, ExportError, export_widget
from rnnviz.qt.plotkit import FitToView
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot


class Panel(QWidget):
    title: ClassVar[str] = "Panel"
    # Stable name for QSettings (dock layout) and export file names.
    key: ClassVar[str] = "panel"
    # One paragraph: what the panel shows and the lecture's equation for it (info button).
    info: ClassVar[str] = ""
    # The Snapshot fields the panel draws: a snapshot that changes none of them (most carry
    # only a few more training steps) does not make the panel redraw.
    draws: ClassVar[tuple[str, ...]] = ("trace",)

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.key)
        self.setWindowTitle(self.title)
        self.cursor = cursor
        self.snapshot: Snapshot | None = None
        self._dirty = False
        self._prints: tuple = ()  # what the latest snapshot's `draws` fields hold
        self._drawn_trace = None
        cursor.changed.connect(self._on_time)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.export_width = DEFAULT_WIDTH
        # The info button: what this panel shows and the lecture's equation for it.
        self.info_button = QToolButton(self)
        self.info_button.setText("i")
        self.info_button.setToolTip(f"What does “{self.title}” show?")
        self.info_button.setStyleSheet(
            "QToolButton { font: bold italic 12pt serif; border: 1px solid #888;"
            " border-radius: 10px; min-width: 18px; min-height: 18px; background: #f4f4f4; }"
        )
        self.info_button.clicked.connect(self.show_info)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        b = self.info_button
        b.adjustSize()
        b.move(self.width() - b.width() - 4, 4)
        b.raise_()

    def show_info(self) -> None:
        """What the panel shows, then what each symbol in its plots means."""
        QMessageBox.information(self, self.title, glossary.info_html(self.info or self.title, self))

    # -- data in

    def set_snapshot(self, snapshot: Snapshot) -> None:
        prints = _fingerprint(snapshot, self.draws)
        if self.snapshot is None or prints != self._prints:
            self._dirty = True
        self.snapshot, self._prints = snapshot, prints

    def refresh(self, force: bool = False) -> bool:
        """Redraw if there is new data and the panel is visible (or `force`). True if drawn."""
        if self.snapshot is None or not (self._dirty or force):
            return False
        if not force and not self.isVisible():
            return False
        self._dirty = False
        self.redraw(self.snapshot)
        self.show_time(self.cursor.t)
        self._settle()
        return True

    def _settle(self) -> None:
        """Lay out and auto-range now, so that the next paint is the only one.

        pyqtgraph auto-ranges lazily, inside the paint; a range that changes there updates
        the curves, which asks for a second paint of every redraw (half the window's drawing
        time)."""
        for _ in range(2):  # a range change can move items, whose bounds move the range once
            QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
            for view in self.findChildren(pg.GraphicsView):
                view.scene().prepareForPaint()

    def _on_time(self, t: int) -> None:
        if self.snapshot is not None and self.isVisible():
            self.show_time(t)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self.refresh()

    # -- for subclasses

    def redraw(self, snapshot: Snapshot) -> None:
        raise NotImplementedError

    def show_time(self, t: int) -> None:
        """Mark timestep t; called after every redraw and on every cursor move."""

    # -- export

    def export(self, path: str | Path, width: int | None = None) -> Path:
        """Write this panel as PNG or SVG (by suffix), as drawn on screen."""
        self.refresh(force=True)
        self.info_button.hide()  # a control, not part of the figure
        try:
            return export_widget(self, path, width or self.export_width, title=self.title)
        finally:
            self.info_button.show()

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export {self.title}", f"{self.key}.png", "PNG image (*.png);;SVG image (*.svg)"
        )
        if not path:
            return
        if not Path(path).suffix:
            path += ".png"
        try:
            self.export(path)
        except (ExportError, OSError) as e:
            QMessageBox.warning(self, "Export failed", str(e))

    def adopt_plot(self, view) -> None:
        """Give a pyqtgraph GraphicsView our export action in place of pyqtgraph's own dialog
        (whose SVG exporter fails on recent PySide6), and keep its whole figure in view."""
        from PySide6.QtGui import QAction

        action = QAction("Export panel image…", view)
        action.triggered.connect(self.export_dialog)
        view.scene().contextMenu = [action]
        glossary.TitleTips(view)  # hovering a symbol in a title or label explains it
        FitToView(view)  # a dock smaller than the figure shrinks it rather than cutting it off

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        menu.addAction("Export image…", self.export_dialog)
        menu.exec(self.mapToGlobal(pos))


def set_choices(combo: QComboBox, items: Sequence[str | tuple[str, Any]]) -> None:
    """Offer `items` (texts, or (text, data) pairs) in `combo`, keeping the current choice
    when it is still offered; no signal fires. Nothing happens when the texts are the same,
    so panels call it on every new trace (a layer list changes only with the model)."""
    pairs = [(item, None) if isinstance(item, str) else item for item in items]
    if [text for text, _ in pairs] == [combo.itemText(i) for i in range(combo.count())]:
        return
    keep = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    for text, data in pairs:
        combo.addItem(text, data)
    combo.setCurrentIndex(max(combo.findText(keep), 0))
    combo.blockSignals(False)


def _fingerprint(snapshot: Snapshot, names: tuple[str, ...]) -> tuple:
    """Something equal for two snapshots exactly when the named fields show the same thing.
    Histories are append-only (their buffer and length say it all); a trace is a new object
    for each recording."""
    out = []
    for name in names:
        value = getattr(snapshot, name)
        if hasattr(value, "columns"):  # History, ProbeHistory
            out.append((value.key, len(value)))
        elif name == "runs":
            out.append(tuple((r.label, r.step, r.diverged, id(r.trace)) for r in value))
        elif name == "extras":
            out.append(tuple(sorted(value.items())))
        elif name == "trace":
            out.append(id(value))
        else:
            out.append(value)
    return tuple(out)
