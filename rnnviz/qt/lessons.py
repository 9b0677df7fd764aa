"""The lecture presets in the window: a Presets menu and the Lesson dock that explains the one
running.

A preset (rnnviz/core/presets.py, files in resources/presets/) names one or several runs,
the panels that make its point and a one-paragraph explanation. Choosing one starts its runs
side by side, trains them for the preset's number of steps (then pauses: Space trains on) and
arranges its panels beside the explanation; at each pause the dock adds the numbers the
preset promises, measured on what the panels draw. This module only shows presets; the main
window starts them.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QDockWidget, QMenu, QTextBrowser, QWidget

from rnnviz.core.claims import check_claim
from rnnviz.core.presets import Preset, list_presets, run_settings
from rnnviz.core.seq2seq.bottleneck import EXTRAS_KEY as BOTTLENECK

if TYPE_CHECKING:
    from rnnviz.core.protocol import Snapshot


def preset_key(k: int) -> str:
    """The key of the k-th preset (from 1): Ctrl+1 … Ctrl+9, then Alt+1 … Alt+9 (not
    Ctrl+Shift+digit, which keyboard layouts deliver as Ctrl+! etc.); none past 18."""
    if k <= 9:
        return f"Ctrl+{k}"
    return f"Alt+{k - 9}" if k <= 18 else ""


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
            if key := preset_key(k):
                action.setShortcut(key)
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
    """The explanation of the running preset, beside its panels, and once it has trained, the
    numbers it promises as measured on what the panels draw."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Lesson", parent)
        self.setObjectName("lesson")
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.setWidget(self.text)
        self.preset: Preset | None = None
        self.measured = ""  # the claim's text at the last pause, rich text
        self._measured: tuple | None = None  # (step, bottleneck curves) measured last

    def show_preset(self, preset: Preset) -> None:
        self.preset, self.measured, self._measured = preset, "", None
        self.setWindowTitle(f"Lesson: {preset.title}")
        self._render()

    def leave(self) -> None:
        """The user built their own model: nothing here describes it any more."""
        self.preset = None
        self.hide()

    @Slot(object)
    def measure(self, snapshot: Snapshot) -> None:
        """When training pauses, measure the preset's claim on the snapshot the panels show."""
        p = self.preset
        if p is None or [r.label for r in snapshot.runs] != (
            [r.label for r in p.runs] if p.compares else []
        ):
            return  # not the preset's runs
        if snapshot.step == 0:
            self._measured = None  # reset: measure the next pause again
        if snapshot.state == "running" or snapshot.trace is None:
            return
        # the bottleneck curve is measured after the pause: its arrival is measured again
        measured = (snapshot.step, snapshot.extras.get(BOTTLENECK))
        if snapshot.step == 0 or measured == self._measured:
            return
        self._measured = measured
        claim = check_claim(p, snapshot)
        more = "" if claim.ok else " (not shown yet: <b>Space</b> trains on)"
        self.measured = f"<b>Measured at step {snapshot.step}:</b> {html.escape(claim.text)}{more}"
        self._render()

    def _render(self) -> None:
        p = self.preset
        if p is None:
            return
        runs = "".join(
            f"<li><b>{html.escape(r.label)}</b>: {html.escape(run_settings(r.config))}</li>"
            for r in p.runs
        )
        self.text.setHtml(
            f"<h2>{html.escape(p.title)}</h2>"
            f"<p style='font-size: large'>{html.escape(p.explanation)}</p>"
            f"<p>{self.measured}</p>"
            f"<p><b>{'Runs side by side' if p.compares else 'Settings'}:</b></p><ul>{runs}</ul>"
            f"<p><i>Trains {p.steps} steps, then pauses: <b>Space</b> trains on, "
            "<b>R</b> starts again from the same weights.</i></p>"
        )
