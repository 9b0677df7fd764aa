"""Where the docks go: the default arrangement and its sizes, a preset's grid, and the layout
a user left, saved and restored between runs (QSettings).

The window owns the docks; this module only places them. A layout saved by an older
arrangement (LAYOUT_VERSION) is dropped rather than restored into docks that no longer match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication, QDockWidget

from rnnviz.qt.panels import LAB_PANELS, PANELS

if TYPE_CHECKING:
    from rnnviz.core.presets import Preset
    from rnnviz.qt.main_window import MainWindow

DEFAULT_SIZE = QSize(1600, 1000)
CORE_KEYS = tuple(cls.key for cls in PANELS)
LAYOUT_VERSION = 3  # bump when dock names or the arrangement change: old layouts are dropped
SIDE_WIDTH = 270  # the settings side bar in the default layout
LESSON_WIDTH = 330  # the lesson and settings column of a preset's layout
BARS_HEIGHT = 120  # menu, transport and status bars: what the panels do not get


class DockLayout:
    """Places `window`'s docks (its `docks` by panel key, `settings_dock`, `lesson_dock`)."""

    def __init__(self, window: MainWindow) -> None:
        self.w = window

    def arrange_default(self) -> None:
        """Settings on the left; two rows of panels beside it: the graph and training on top,
        gates, states and gradients below (rows split independently, so the three lower
        panels share the width evenly)."""
        w, d = self.w, self.w.docks
        w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, w.settings_dock)
        w.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, d["graph"])
        w.splitDockWidget(d["graph"], d["gates"], Qt.Orientation.Vertical)
        w.splitDockWidget(d["graph"], d["training"], Qt.Orientation.Horizontal)
        w.splitDockWidget(d["gates"], d["states"], Qt.Orientation.Horizontal)
        w.splitDockWidget(d["states"], d["gradients"], Qt.Orientation.Horizontal)
        for dock in (w.settings_dock, *(d[k] for k in CORE_KEYS)):
            if dock.isFloating():  # unfloating a docked one relayouts the window for nothing
                dock.setFloating(False)
            dock.show()
        # the laboratory's panels wait, tabbed on the right, until a preset or the user asks
        lab = [d[cls.key] for cls in LAB_PANELS]
        for dock in (*lab, w.lesson_dock):
            w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            if dock.isFloating():  # unfloating a docked one relayouts the window for nothing
                dock.setFloating(False)
            dock.hide()
        for first, other in zip(lab, lab[1:], strict=False):
            w.tabifyDockWidget(first, other)

    def arrange_preset(self, preset: Preset) -> None:
        """The lesson above the settings on the left; the preset's panels in a grid: two
        over two, or for three the first (the one that makes the point) across the top."""
        w = self.w
        keys = [k for k in preset.panels if k in w.docks][:4]
        for dock in w.docks.values():
            dock.hide()
        w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, w.lesson_dock)
        w.splitDockWidget(w.lesson_dock, w.settings_dock, Qt.Orientation.Vertical)
        shown = [w.docks[k] for k in keys]
        first = shown[0]
        w.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, first)
        if len(shown) == 3:
            w.splitDockWidget(first, shown[1], Qt.Orientation.Vertical)
            w.splitDockWidget(shown[1], shown[2], Qt.Orientation.Horizontal)
        else:
            if len(shown) >= 3:
                w.splitDockWidget(first, shown[2], Qt.Orientation.Vertical)
            if len(shown) >= 2:
                w.splitDockWidget(first, shown[1], Qt.Orientation.Horizontal)
            if len(shown) >= 4:
                w.splitDockWidget(shown[2], shown[3], Qt.Orientation.Horizontal)
        for dock in (w.lesson_dock, w.settings_dock, *shown):
            if dock.isFloating():  # unfloating a docked one relayouts the window for nothing
                dock.setFloating(False)
            dock.show()
        main = w.width() - LESSON_WIDTH
        w.resizeDocks([w.lesson_dock], [LESSON_WIDTH], Qt.Orientation.Horizontal)
        half = (w.height() - BARS_HEIGHT) // 2
        w.resizeDocks([w.lesson_dock, w.settings_dock], [half, half], Qt.Orientation.Vertical)
        below = shown[1:] if len(shown) == 3 else shown[2:]  # the lower row
        if len(below) == 2:
            w.resizeDocks(below, [main // 2, main // 2], Qt.Orientation.Horizontal)
        if len(shown) == 4:
            w.resizeDocks(shown[:2], [main // 2, main // 2], Qt.Orientation.Horizontal)
        if below:
            w.resizeDocks([shown[0], below[0]], [half, half], Qt.Orientation.Vertical)

    def default_sizes(self) -> None:
        """Dock sizes of the default layout (they take effect once the window is shown)."""
        w, d = self.w, self.w.docks
        main = w.width() - SIDE_WIDTH
        panels_h = w.height() - BARS_HEIGHT
        w.resizeDocks([w.settings_dock], [SIDE_WIDTH], Qt.Orientation.Horizontal)
        w.resizeDocks(
            [d["graph"], d["training"]], [main * 3 // 5, main * 2 // 5], Qt.Orientation.Horizontal
        )
        w.resizeDocks(
            [d["gates"], d["states"], d["gradients"]],
            [main * 35 // 100, main * 31 // 100, main * 34 // 100],
            Qt.Orientation.Horizontal,
        )
        w.resizeDocks(
            [d["graph"], d["gates"]],
            [panels_h * 9 // 20, panels_h * 11 // 20],
            Qt.Orientation.Vertical,
        )

    def default_window_size(self) -> QSize:
        """DEFAULT_SIZE, or the screen's free area where that is smaller."""
        screen = self.w.screen() or QApplication.primaryScreen()
        if screen is None:
            return DEFAULT_SIZE
        return DEFAULT_SIZE.boundedTo(screen.availableGeometry().size())

    def reset(self) -> None:
        """The default arrangement at the default size (View → Reset layout)."""
        self.w.resize(self.default_window_size())
        self.arrange_default()
        self.default_sizes()

    def restore(self) -> bool:
        """The layout of the last session, if there is one; True if restored."""
        w = self.w
        geometry = w.store.value("window/geometry")
        state = w.store.value("window/state")
        if geometry is not None:
            w.restoreGeometry(geometry)
        return state is not None and w.restoreState(state, LAYOUT_VERSION)

    def save(self) -> None:
        w = self.w
        w.store.setValue("window/geometry", w.saveGeometry())
        w.store.setValue("window/state", w.saveState(LAYOUT_VERSION))
        w.store.sync()


def panel_docks(window: MainWindow) -> dict[str, QDockWidget]:
    """One empty dock per panel class, named by its key (saved layouts find them by name)."""
    docks = {}
    for cls in (*PANELS, *LAB_PANELS):
        dock = QDockWidget(cls.title, window)
        dock.setObjectName(cls.key)
        docks[cls.key] = dock
    return docks
