"""The lecture presets in the window: a Presets menu and the Lesson dock that explains the one
running.

A preset (rnnviz/core/presets.py, files in resources/presets/) names one or several runs,
the panels that make its point and a one-paragraph explanation. Choosing one starts its runs
side by side, trains them for the preset's number of steps (then pauses: Space trains on) and
arranges its panels beside the explanation. This module only shows presets; the main window
starts them.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QDockWidget, QMenu, QTextBrowser, QWidget

from rnnviz.core.presets import Preset, list_presets


class PresetMenu(QMenu):
    """One entry per bundled preset, in their order; `chosen(Preset)` when one is picked."""

    chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Presets", parent)
        self.setToolTipsVisible(True)
        self.presets = list_presets()
        group = QActionGroup(self)
        self.preset_actions: dict[str, QAction] = {}
        for k, preset in enumerate(self.presets, start=1):
            action = QAction(f"{k}. {preset.title}", self)
            if k <= 9:
                action.setShortcut(f"Ctrl+{k}")
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(preset.explanation)
            action.setCheckable(True)
            group.addAction(action)
            action.triggered.connect(lambda _=False, p=preset: self.chosen.emit(p))
            self.addAction(action)
            self.preset_actions[preset.key] = action

    def mark(self, key: str | None) -> None:
        """Check the running preset's entry (none when the user built their own model)."""
        for k, action in self.preset_actions.items():
            action.setChecked(k == key)


class LessonDock(QDockWidget):
    """The explanation of the running preset, beside its panels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Lesson", parent)
        self.setObjectName("lesson")
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.setWidget(self.text)
        self.preset: Preset | None = None

    def show_preset(self, preset: Preset) -> None:
        self.preset = preset
        runs = ""
        if preset.compares:
            labels = ", ".join(html.escape(r.label) for r in preset.runs)
            runs = f"<p><b>Runs side by side:</b> {labels}.</p>"
        self.text.setHtml(
            f"<h2>{html.escape(preset.title)}</h2>"
            f"<p style='font-size: large'>{html.escape(preset.explanation)}</p>{runs}"
            f"<p><i>Trains {preset.steps} steps, then pauses: <b>Space</b> trains on, "
            "<b>R</b> starts again from the same weights.</i></p>"
        )
        self.setWindowTitle(f"Lesson: {preset.title}")

    def settings_changed(self) -> None:
        """The user built their own model: the explanation no longer describes it."""
        if self.preset is not None:
            self.setWindowTitle(f"Lesson: {self.preset.title} (settings changed since)")
