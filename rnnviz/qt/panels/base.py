"""What every panel is: a widget that shows the latest Snapshot and the time cursor t.

A panel never talks to the worker or to another panel. The main window hands it snapshots
(`set_snapshot`, cheap: it only stores and marks dirty when a field in `draws` changed) and
calls `refresh()` from one timer; the panel redraws only when it is dirty and visible.
Subclasses implement `redraw(snapshot)` (new data) and `show_time(t)` (move the cursor marks —
must be cheap).

A panel is a figure with controls around it: its pickers and switches go in the one controls
row the base makes (`self.controls`, with the layer picker from `add_layer_picker`), its
"Hover … for exact values" lines are made by `add_hint`. An export leaves both out, with the
info button: a slide shows the figure only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QToolButton,
    QWidget,
)

from rnnviz.qt import glossary
from rnnviz.qt.csv_tables import write_tables
from rnnviz.qt.export import ExportError, FigureSize, export_widget, settle
from rnnviz.qt.export_dialogs import ExportDialog
from rnnviz.qt.panels import halves
from rnnviz.qt.plotkit import FitToView
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot


NO_LAYERS = (
    "This model has no recurrent layers: the bag-of-words baseline averages its word "
    "embeddings, whatever their order. There are no states, gates or gradients through time "
    "to draw; the evidence, attribution and embedding panels show what it computes."
)


class Panel(QWidget):
    title: ClassVar[str] = "Panel"
    # Stable name for QSettings (dock layout) and export file names.
    key: ClassVar[str] = "panel"
    # One paragraph: what the panel shows and the lecture's equation for it (info button).
    info: ClassVar[str] = ""
    # The Snapshot fields the panel draws: a snapshot that changes none of them (most carry
    # only a few more training steps) does not make the panel redraw.
    draws: ClassVar[tuple[str, ...]] = ("trace",)
    # The layer picker offers an encoder-decoder's decoder layers after its encoder's (the
    # panel draws either half: halves.py); otherwise the encoder's, or the stack's, only.
    picks_halves: ClassVar[bool] = False
    # The panel draws recurrent layers (states, gates, gradients through time, W_hh): for a
    # model without any (the bag-of-words baseline) it says so in place of its figure.
    needs_layers: ClassVar[bool] = False

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.key)
        self.setWindowTitle(self.title)
        self.cursor = cursor
        self.snapshot: Snapshot | None = None
        self._dirty = False
        self._prints: tuple = ()  # what the latest snapshot's `draws` fields hold
        self._drawn_trace = None
        self.scheduled = False  # a window's refresh tick redraws it (MainWindow sets this)
        cursor.changed.connect(self._on_time)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        # The info button: what this panel shows and the lecture's equation for it.
        self.info_button = QToolButton(self)
        self.info_button.setText("i")
        self.info_button.setToolTip(f"What does “{self.title}” show?")
        self.info_button.setStyleSheet(
            "QToolButton { font: bold italic 12pt serif; border: 1px solid #888;"
            " border-radius: 10px; min-width: 18px; min-height: 18px; background: #f4f4f4; }"
        )
        self.info_button.clicked.connect(self.show_info)
        # The controls row: the subclass places it above its figure and fills it.
        self.controls = QWidget()
        self.controls_row = QHBoxLayout(self.controls)
        # clear of the info button, which sits over the top right corner
        self.controls_row.setContentsMargins(0, 0, self.info_button.sizeHint().width() + 4, 0)
        self.layer_combo: QComboBox | None = None
        self.hints: list[QLabel] = []
        self.blank: QLabel | None = None  # the note in place of the figure (needs_layers)

    def add_layer_picker(self, tooltip: str) -> QComboBox:
        """A "Layer:" combo box in the controls row, offered `layer_choices(snapshot)` before
        every redraw (the choice is kept while it is offered; filling it emits nothing, a
        user's pick emits currentIndexChanged)."""
        combo = QComboBox()
        combo.setToolTip(tooltip)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        label = QLabel("Layer:")
        label.setBuddy(combo)
        self.controls_row.addWidget(label)
        self.controls_row.addWidget(combo)
        self.layer_combo = combo
        return combo

    def layer_choices(self, snapshot: Snapshot) -> list[tuple[str, Any]]:
        """(name, layer key) of what the layer picker offers: the trace's layers (and an
        encoder-decoder's decoder layers: `picks_halves`). A panel drawing something else than
        the trace overrides it."""
        trace = snapshot.trace
        return [] if trace is None else halves.layer_choices(trace, self.picks_halves)

    def add_hint(self, text: str) -> QLabel:
        """A line telling the user what to do ("Hover a curve for exact values"): on screen
        only, never in an export."""
        label = QLabel(text)
        self.hints.append(label)
        return label

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        b = self.info_button
        b.adjustSize()
        b.move(self.width() - b.width() - 4, 4)
        if self.blank is not None:
            self.blank.setGeometry(self.rect())
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
        if self.layer_combo is not None:
            set_choices(self.layer_combo, self.layer_choices(self.snapshot))
        self._show_blank(self.needs_layers and _without_layers(self.snapshot))
        if self.is_blank:
            return True
        self.redraw(self.snapshot)
        self.show_time(self.cursor.t)
        self._settle()
        return True

    def _settle(self) -> None:
        # Without it every redraw would be painted twice (half the window's drawing time).
        settle(self)

    @property
    def is_blank(self) -> bool:
        """True while the note stands in place of the figure (a model without layers)."""
        return self.blank is not None and not self.blank.isHidden()

    def _show_blank(self, blank: bool) -> None:
        if blank and self.blank is None:
            self.blank = QLabel(NO_LAYERS, self)
            self.blank.setWordWrap(True)
            self.blank.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.blank.setAutoFillBackground(True)  # the last figure drawn is not the truth
            self.blank.setMargin(24)
        if self.blank is not None:
            self.blank.setVisible(blank)
            self.blank.setGeometry(self.rect())
            self.info_button.raise_()

    def _on_time(self, t: int) -> None:
        if self.snapshot is not None and self.isVisible() and not self.is_blank:
            self.show_time(t)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        # In the window its refresh tick redraws a shown panel: a layout that shows five panels
        # at once must not redraw all five before the next paint (seconds on a busy machine).
        if not self.scheduled:
            self.refresh()

    # -- for subclasses

    def redraw(self, snapshot: Snapshot) -> None:
        raise NotImplementedError

    def show_time(self, t: int) -> None:
        """Mark timestep t; called after every redraw and on every cursor move."""

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """The numbers the panel draws, as tables for a CSV: {"time": {"t": …, "h unit 3":
        …}, "steps": {"step": …, "loss": …}}, one value per row in each column, the first
        column the row's t or training step. Empty where the panel has nothing to write."""
        return {}

    def animation_axes(self) -> tuple[str, ...]:
        """What an animation of the panel moves through, its default first: "time" (the
        cursor t) where it draws a recording, "steps" (training going by) where it draws a
        history."""
        axes = ("time",) if "trace" in self.draws else ()
        return axes + (("steps",) if {"history", "probes"} & set(self.draws) else ())

    # -- export

    def export(self, path: str | Path, size: FigureSize | None = None) -> Path:
        """Write this panel's figure as PNG or SVG (by suffix) at `size` (default: 1920
        pixels wide, 16:9), without its controls, hints and info button."""
        self.refresh(force=True)
        hide = [self.controls, *self.hints, self.info_button]
        return export_widget(self, path, size or FigureSize(), hide=hide, title=self.title)

    def export_data(self, path: str | Path) -> list[Path]:
        """Write `data_tables()` as CSV to `path` (one table) or beside it, one file a table
        (gradients-time.csv, gradients-steps.csv); the paths written."""
        self.refresh(force=True)
        if self.is_blank:
            raise ExportError(f"{self.title}: {NO_LAYERS}")
        tables = self.data_tables()
        if not tables:
            raise ExportError(f"{self.title} draws no table of numbers to export")
        return write_tables(tables, path)

    def export_data_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export the data of {self.title}", f"{self.key}.csv", "CSV table (*.csv)"
        )
        if not path:
            return
        try:
            self.export_data(path)
        except (ExportError, OSError) as e:
            QMessageBox.warning(self, "Export failed", str(e))

    def export_dialog(self) -> None:
        options = ExportDialog.ask(self, f"{self.key}.png", f"Export {self.title}")
        if options is None:
            return
        path, size = options
        try:
            self.export(path, size)
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
        menu.addAction("Export data (CSV)…", self.export_data_dialog)
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


def _without_layers(snapshot: Snapshot) -> bool:
    return snapshot.trace is not None and not snapshot.trace.layers


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
