"""Draw a snapshot in named panels without a window and write each as a figure, or as an
animation: the headless half of `rnnviz export`. It imports the panels; export.py, which
they import, stays a leaf."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rnnviz.qt.export import FORMATS, ExportError, FigureSize, make_folder
from rnnviz.qt.tokens import cursor_length

if TYPE_CHECKING:
    from rnnviz.core.train import Snapshot
    from rnnviz.qt.panels.base import Panel

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
    folder = make_folder(folder)
    return [
        panel.export(folder / f"{panel.key}.{fmt}", size or FigureSize())
        for panel in drawn_panels(snapshot, keys, t)
        for fmt in formats
    ]


def animate_panels(
    snapshot: Snapshot,
    keys: list[str] | tuple[str, ...],
    folder: str | Path,
    fmt: str,
    *,
    size: FigureSize | None = None,
    fps: int | None = None,
    axis: str | None = None,
    frames: int | None = None,
) -> list[Path]:
    """Draw `snapshot` in the panels named by `keys` and write each that changes over time
    or training as <folder>/<key>.<fmt> (gif or mp4), moving through `axis` ("time" or
    "steps": only the panels that move through it; None: what each moves through first,
    Panel.animation_axes), `frames` training steps at most through steps. Needs a
    QApplication. The paths written."""
    from rnnviz.qt.animation import (
        DEFAULT_FPS,
        DEFAULT_STEP_FRAMES,
        panel_frames,
        write_animation,
    )

    folder = make_folder(folder)
    return [
        write_animation(
            panel_frames(
                panel,
                axis or panel.animation_axes()[0],
                size=size,
                frames=frames or DEFAULT_STEP_FRAMES,
            ),
            folder / f"{panel.key}.{fmt}",
            fmt,
            fps or DEFAULT_FPS,
        )
        for panel in drawn_panels(snapshot, keys)
        if (axis in panel.animation_axes() if axis else panel.animation_axes())
    ]


def drawn_panels(
    snapshot: Snapshot, keys: list[str] | tuple[str, ...], t: int | None = None
) -> Iterator[Panel]:
    """Each panel named by `keys`, drawing `snapshot` with the time cursor at `t` (default:
    the middle of the sequence); closed once the caller moves on."""
    from rnnviz.qt import theme
    from rnnviz.qt.panels import LAB_PANELS, PANELS
    from rnnviz.qt.timeline import TimeCursor

    classes = {cls.key: cls for cls in (*PANELS, *LAB_PANELS)}
    unknown = [k for k in keys if k not in classes]
    if unknown:
        raise ExportError(f"no panel named {', '.join(unknown)} (known: {', '.join(classes)})")
    theme.apply()
    cursor = TimeCursor()
    if snapshot.trace is not None:
        cursor.set_length(cursor_length(snapshot.trace))
        cursor.set(cursor.T // 2 if t is None else t)
    for key in keys:
        panel = classes[key](cursor)
        panel.resize(*PANEL_SIZE)
        panel.show()
        panel.set_snapshot(snapshot)
        try:
            yield panel
        finally:
            panel.close()
            panel.deleteLater()
