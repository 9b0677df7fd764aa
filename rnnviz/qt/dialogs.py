"""The main window's help dialog (the export dialogs are in export_dialogs.py)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QTextBrowser,
    QVBoxLayout,
)

from rnnviz.qt import glossary
from rnnviz.qt.actions import key_text
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
