"""The window's File → Export commands: the focused panel, every visible panel, the whole
window. Kept out of MainWindow so the window wires commands and owns none of their work."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMessageBox

from rnnviz.qt.export import ExportError, FigureSize, make_folder
from rnnviz.qt.export_dialogs import ExportAllDialog, export_window

if TYPE_CHECKING:
    from rnnviz.qt.main_window import MainWindow


class WindowExports(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

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
        w.build_lab_panels()
        folder = make_folder(folder)
        return [
            panel.export(folder / f"{panel.key}.{fmt}", size)
            for panel in w.panels
            if w.docks[panel.key].isVisible()
            for fmt in formats
        ]

    @Slot()
    def window_dialog(self) -> None:
        path = export_window(self.window)
        if path is not None:
            self.window.statusBar().showMessage(f"Wrote {path}", 5000)
