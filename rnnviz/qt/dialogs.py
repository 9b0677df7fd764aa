"""The main window's dialogs: help, and the folder, formats and size for "Export all"."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rnnviz.qt import glossary
from rnnviz.qt.actions import key_text
from rnnviz.qt.export import DEFAULT_WIDTH
from rnnviz.qt.panels import LAB_PANELS, PANELS

if TYPE_CHECKING:
    from rnnviz.qt.actions import Actions


class HelpDialog(QDialog):
    def __init__(self, window) -> None:  # the MainWindow: its actions make the key table
        super().__init__(window)
        self.setWindowTitle("rnnviz help")
        self.resize(640, 720)
        self.text = QTextBrowser()
        self.text.setHtml(
            help_html(window.actions, list(window.preset_menu.preset_actions.values()))
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)


class ExportAllDialog(QDialog):
    """Folder, format(s) and width for exporting every panel."""

    FORMATS = {"PNG": ("png",), "SVG": ("svg",), "PNG and SVG": ("png", "svg")}

    def __init__(self, parent: QWidget | None, folder: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export all panels")
        self.folder = QLineEdit(folder)
        browse = QToolButton(text="…")
        browse.clicked.connect(self._browse)
        self.format = QComboBox()
        self.format.addItems(list(self.FORMATS))
        self.width = QSpinBox()
        self.width.setRange(200, 8000)
        self.width.setValue(DEFAULT_WIDTH)
        self.width.setSuffix(" px")
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("folder", row)
        form.addRow("format", self.format)
        form.addRow("PNG width", self.width)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @Slot()
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    @classmethod
    def ask(cls, parent: QWidget | None, folder: str) -> tuple[Path, tuple[str, ...], int] | None:
        """Show the dialog; (folder, formats, width), or None if cancelled."""
        dialog = cls(parent, folder)
        if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.folder.text().strip():
            return None
        return (
            Path(dialog.folder.text().strip()),
            cls.FORMATS[dialog.format.currentText()],
            dialog.width.value(),
        )


def help_html(actions: Actions, presets: list[QAction]) -> str:
    """The help page: every key (the window's actions, then the presets'), every panel's
    info, the lecture's notation, the settings."""
    keys = [*actions.with_keys(), *presets]
    rows = "".join(
        f"<tr><td><b>{html.escape(key_text(a))}</b></td><td>{html.escape(a.text())}</td></tr>"
        for a in keys
    )
    panels = "".join(
        f"<h3>{html.escape(p.title)}</h3><p>{html.escape(p.info or 'No description yet.')}</p>"
        for p in (*PANELS, *LAB_PANELS)
    )
    return (
        "<h2>Keyboard</h2><table cellpadding='3'>" + rows + "</table>"
        "<p>The arrow keys stay with a number field while it has the focus.</p>"
        "<h2>Panels</h2>"
        + panels
        + "<h2>Notation</h2><p>Hover a symbol in a plot's title or label to see this.</p>"
        + glossary.glossary_html()
        + "<h2>Settings</h2><p>The learning rate and gradient clipping apply at once. Other "
        "settings need a new model: change them, then press <b>Apply (new model)</b>.</p>"
    )
