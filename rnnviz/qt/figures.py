"""Draw a snapshot in named panels without a window and write each as a figure: the headless
half of `rnnviz export`. It imports the panels; export.py, which they import, stays a leaf."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rnnviz.qt.export import FORMATS, ExportError, FigureSize, make_folder

if TYPE_CHECKING:
    from rnnviz.core.train import Snapshot

# The panels' shape on screen when no window lays them out (what --aspect panel keeps).
PANEL_SIZE = (1280, 800)


def export_panels(
    snapshot: Snapshot,
    keys: list[str] | tuple[str, ...],
    folder: str | Path,
    *,
    formats: tuple[str, ...] = FORMATS,
    size: FigureSize | None = None,
    t: int | None = None,
) -> list[Path]:
    """Draw `snapshot` in the panels named by `keys` and write each as <folder>/<key>.<format>
    at `size` (default: 1920 wide, 16:9), with the time cursor at `t` (default: the middle of
    the sequence). Needs a QApplication. Returns the paths written."""
    from rnnviz.qt import theme
    from rnnviz.qt.panels import LAB_PANELS, PANELS
    from rnnviz.qt.timeline import TimeCursor

    classes = {cls.key: cls for cls in (*PANELS, *LAB_PANELS)}
    unknown = [k for k in keys if k not in classes]
    if unknown:
        raise ExportError(f"no panel named {', '.join(unknown)} (known: {', '.join(classes)})")
    theme.apply()
    folder = make_folder(folder)
    cursor = TimeCursor()
    if snapshot.trace is not None:
        cursor.set_length(snapshot.trace.T)
        cursor.set(snapshot.trace.T // 2 if t is None else t)
    written = []
    for key in keys:
        panel = classes[key](cursor)
        panel.resize(*PANEL_SIZE)
        panel.show()
        panel.set_snapshot(snapshot)
        for fmt in formats:
            written.append(panel.export(folder / f"{key}.{fmt}", size or FigureSize()))
        panel.close()
        panel.deleteLater()
    return written
