"""Export any widget as PNG or SVG, exactly as it is drawn on screen.

We render the widget itself (QWidget.render) rather than using pyqtgraph's exporters: one
path serves every panel, whatever mix of plots and labels it holds, and it sidesteps
pyqtgraph 0.14's SVG exporter bug on recent PySide6 (issue 3485). PNGs are rendered at a
chosen width (default 1920 px) by scaling the painter, so text and lines stay sharp on a
projector; SVGs are vector drawings a browser opens.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QWidget

FORMATS = ("png", "svg")
DEFAULT_WIDTH = 1920


class ExportError(RuntimeError):
    """The image could not be written; the message says why."""


def export_widget(
    widget: QWidget, path: str | Path, width: int = DEFAULT_WIDTH, title: str | None = None
) -> Path:
    """Write `widget` to `path` (.png or .svg). Returns the path written."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"unknown image format {path.suffix!r}: use .png or .svg")
    if widget.width() < 50 or widget.height() < 50:  # never laid out (hidden): give it a size
        widget.resize(960, 600)
    QApplication.processEvents()
    # A first paint, thrown away: a pyqtgraph axis widens to its tick labels only as it paints
    # them, and until then drops the labels that do not fit (a panel exported before it was
    # ever on screen, as `rnnviz export` does, would lose them).
    widget.grab()
    QApplication.processEvents()
    size = widget.size()
    scale = max(width, 100) / size.width()
    if fmt == "png":
        img = QImage(
            QSize(round(size.width() * scale), round(size.height() * scale)),
            QImage.Format.Format_ARGB32,
        )
        img.fill(widget.palette().window().color())
        painter = QPainter(img)
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        painter.scale(scale, scale)
        widget.render(painter, QPoint(0, 0))
        painter.end()
        if not img.save(str(path), "PNG"):
            raise ExportError(f"could not write {path}")
    else:
        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(size)
        gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
        gen.setTitle(title or widget.windowTitle() or "rnnviz")
        gen.setDescription("exported by rnnviz")
        painter = QPainter(gen)
        painter.fillRect(
            QRectF(0, 0, size.width(), size.height()), QColor(widget.palette().window().color())
        )
        widget.render(painter, QPoint(0, 0))
        painter.end()
        if not path.is_file() or path.stat().st_size == 0:
            raise ExportError(f"could not write {path}")
    return path


def export_panels(
    snapshot,
    keys: list[str] | tuple[str, ...],
    folder: str | Path,
    *,
    formats: tuple[str, ...] = FORMATS,
    width: int = DEFAULT_WIDTH,
    size: tuple[int, int] = (1280, 800),
    t: int | None = None,
) -> list[Path]:
    """Draw `snapshot` in the panels named by `keys`, without a window, and write each as
    <folder>/<key>.<format>. The panels are laid out at `size` (a slide's proportions) with
    the time cursor at `t` (default: the middle of the sequence). Needs a QApplication.
    Returns the paths written."""
    from rnnviz.qt import theme
    from rnnviz.qt.panels import LAB_PANELS, PANELS
    from rnnviz.qt.timeline import TimeCursor

    classes = {cls.key: cls for cls in (*PANELS, *LAB_PANELS)}
    unknown = [k for k in keys if k not in classes]
    if unknown:
        raise ExportError(f"no panel named {', '.join(unknown)} (known: {', '.join(classes)})")
    theme.apply()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cursor = TimeCursor()
    if snapshot.trace is not None:
        cursor.set_length(snapshot.trace.T)
        cursor.set(snapshot.trace.T // 2 if t is None else t)
    written = []
    for key in keys:
        panel = classes[key](cursor)
        panel.resize(*size)
        panel.show()
        panel.set_snapshot(snapshot)
        for fmt in formats:
            written.append(panel.export(folder / f"{key}.{fmt}", width))
        panel.close()
        panel.deleteLater()
    return written


__all__ = ["DEFAULT_WIDTH", "FORMATS", "ExportError", "export_panels", "export_widget", "Qt"]
