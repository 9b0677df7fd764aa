"""The export dialogs: one panel to a file, every panel into a folder (both ask the figure's
width and aspect, 16:9 for slides by default), and the whole window as on screen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QToolButton,
    QWidget,
)

from rnnviz.qt.export import ASPECTS, WIDTH_RANGE, ExportError, FigureSize, export_widget

ASPECT_WORDS = {"16:9": "16:9 (slides)", "4:3": "4:3", "1:1": "1:1", "panel": "as on screen"}
IMAGE_FILTER = "PNG image (*.png);;SVG image (*.svg)"


class FigureDialog(QDialog):
    """A form whose first row is `target` (a path and a "…" button), then width and aspect."""

    def __init__(self, parent: QWidget | None, title: str, label: str, target: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.target = QLineEdit(target)
        browse = QToolButton(text="…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.target, 1)
        row.addWidget(browse)
        self.width_spin = QSpinBox()
        self.width_spin.setRange(*WIDTH_RANGE)
        self.width_spin.setValue(FigureSize().width)
        self.width_spin.setSuffix(" px")
        self.aspect = QComboBox()
        for key in ASPECTS:
            self.aspect.addItem(ASPECT_WORDS[key], key)
        self.aspect.setCurrentIndex(self.aspect.findData(FigureSize().aspect))
        self.form = QFormLayout(self)
        self.form.addRow(label, row)
        self.form.addRow("width", self.width_spin)
        self.form.addRow("aspect", self.aspect)

    def add_buttons(self) -> None:
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.form.addRow(buttons)

    def figure_size(self) -> FigureSize:
        return FigureSize(self.width_spin.value(), self.aspect.currentData())

    def chosen(self) -> str | None:
        """The target typed or browsed to, or None when cancelled or empty."""
        if self.exec() != QDialog.DialogCode.Accepted:
            return None
        return self.target.text().strip() or None

    def _browse(self) -> None:  # each dialog browses for its own kind of target
        raise NotImplementedError


class ExportDialog(FigureDialog):
    """File (PNG or SVG by its suffix), width and aspect for exporting one panel."""

    def __init__(self, parent: QWidget | None, path: str, title: str) -> None:
        super().__init__(parent, title, "file", path)
        self.add_buttons()

    @Slot()
    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, self.windowTitle(), self.target.text(), IMAGE_FILTER
        )
        if path:
            self.target.setText(path)

    @classmethod
    def ask(cls, parent: QWidget | None, path: str, title: str) -> tuple[Path, FigureSize] | None:
        """Show the dialog; (file, size), or None if cancelled. A file without a suffix is
        a PNG."""
        dialog = cls(parent, path, title)
        chosen = dialog.chosen()
        if chosen is None:
            return None
        path = Path(chosen)
        return (path if path.suffix else path.with_suffix(".png")), dialog.figure_size()


class ExportAllDialog(FigureDialog):
    """Folder, format(s), width and aspect for exporting every panel."""

    FORMATS = {"PNG": ("png",), "SVG": ("svg",), "PNG and SVG": ("png", "svg")}

    def __init__(self, parent: QWidget | None, folder: str) -> None:
        super().__init__(parent, "Export all panels", "folder", folder)
        self.format = QComboBox()
        self.format.addItems(list(self.FORMATS))
        self.form.insertRow(1, "format", self.format)
        self.add_buttons()

    @Slot()
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.target.text())
        if folder:
            self.target.setText(folder)

    @classmethod
    def ask(
        cls, parent: QWidget | None, folder: str
    ) -> tuple[Path, tuple[str, ...], FigureSize] | None:
        """Show the dialog; (folder, formats, size), or None if cancelled."""
        dialog = cls(parent, folder)
        chosen = dialog.chosen()
        if chosen is None:
            return None
        return Path(chosen), cls.FORMATS[dialog.format.currentText()], dialog.figure_size()


def export_window(window: QWidget) -> Path | None:
    """Ask for a file and write `window` to it as on screen, controls and all, pixel for
    pixel; the path written, or None (cancelled, or the failure shown in a message box)."""
    path, _ = QFileDialog.getSaveFileName(
        window, "Export the whole window", "rnnviz-window.png", IMAGE_FILTER
    )
    if not path:
        return None
    target = Path(path) if Path(path).suffix else Path(path).with_suffix(".png")
    try:
        return export_widget(window, target)
    except (ExportError, OSError) as e:
        QMessageBox.warning(window, "Export failed", str(e))
        return None
