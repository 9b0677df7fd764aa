"""Export a widget as a PNG or SVG figure: laid out at the slide's proportions, controls left out.

A figure is what a slide needs: plots, titles, legends, colour bars and the time cursor, never
the combo boxes and hints around them. The caller names the widgets to leave out (`hide`);
they are hidden, the widget is laid out again at the export's aspect (16:9 by default) and
painted, then everything is put back as it was. The layout happens at most LAYOUT_WIDTH
logical pixels wide and the painter scales it to the requested width, so text keeps the size
it has on a screen of that width and stays sharp on a projector: pixels are never stretched.

We render the widget itself (QWidget.render) rather than using pyqtgraph's exporters: one
path serves every panel, whatever mix of plots and labels it holds, and it sidesteps
pyqtgraph 0.14's SVG exporter bug on recent PySide6 (issue 3485). SVGs are vector drawings
that a browser opens.

This module imports no panel: panels, the window and the headless assembly (figures.py)
import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter, QRegion
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QWidget

FORMATS = ("png", "svg")
DEFAULT_WIDTH = 1920
WIDTH_RANGE = (200, 16_000)
# Width / height of the figure; None keeps the widget's own shape on screen.
ASPECTS: dict[str, float | None] = {"16:9": 16 / 9, "4:3": 4 / 3, "1:1": 1.0, "panel": None}
DEFAULT_ASPECT = "16:9"
# The widest a figure is laid out (a projector's 1280 × 720): a wider image scales it up, so
# its text reads on a slide as it does on that screen.
LAYOUT_WIDTH = 1280


class ExportError(RuntimeError):
    """The image could not be written, or the size asked for is not one; the message says why."""


@dataclass(frozen=True)
class FigureSize:
    """The image asked for: `width` pixels wide, `aspect` a key of ASPECTS."""

    width: int = DEFAULT_WIDTH
    aspect: str = DEFAULT_ASPECT

    def __post_init__(self) -> None:
        low, high = WIDTH_RANGE
        if not low <= self.width <= high:
            raise ExportError(f"width must be between {low} and {high} pixels, got {self.width}")
        if self.aspect not in ASPECTS:
            raise ExportError(f"aspect must be one of {', '.join(ASPECTS)}, got {self.aspect!r}")

    def layout(self, shape: QSize) -> tuple[QSize, QSize]:
        """(logical size to lay the widget out at, image size in pixels) for a widget whose
        own shape on screen is `shape`."""
        ratio = ASPECTS[self.aspect] or shape.width() / max(shape.height(), 1)
        image = QSize(self.width, max(round(self.width / ratio), 1))
        logical_width = min(self.width, LAYOUT_WIDTH)
        scale = self.width / logical_width
        return QSize(logical_width, max(round(image.height() / scale), 1)), image


def export_widget(
    widget: QWidget,
    path: str | Path,
    size: FigureSize | None = None,
    *,
    hide: Iterable[QWidget] = (),
    title: str | None = None,
) -> Path:
    """Write `widget` to `path` (.png or .svg) at `size`, leaving out the widgets in `hide`;
    the widget is as it was afterwards. With size None the widget is written as it is on
    screen, pixel for pixel. Returns the path written."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"unknown image format {path.suffix!r}: use .png or .svg")
    with figure_layout(widget, size, hide=hide) as image:
        _write(widget, path, fmt, image, figure_background(widget, size), title)
    return path


@contextmanager
def figure_layout(
    widget: QWidget, size: FigureSize | None, *, hide: Iterable[QWidget] = ()
) -> Iterator[QSize]:
    """Within the block, `widget` is laid out as the figure `size` asks for (None: as it is
    on screen), without the widgets in `hide`, and painted once: ready for `render_image`,
    as often as the block likes (an animation's frames). Yields the image's size in pixels.
    Afterwards the widget is as it was."""
    if widget.width() < 50 or widget.height() < 50:  # never laid out (hidden): give it a size
        widget.resize(960, 600)
    shape = widget.size()
    hidden = [w for w in hide if w.isVisibleTo(widget)]
    try:
        for w in hidden:
            w.hide()
        if size is None:
            logical = image = shape
        else:
            logical, image = size.layout(shape)
        widget.resize(logical)
        settle(widget)
        # Two paints, thrown away: a pyqtgraph axis widens to its tick labels only as it
        # paints them, and until then drops the labels that do not fit (a panel exported
        # before it was ever on screen, as `rnnviz export` does, would lose them); a panel
        # shrunk into a small dock needs a second one to give its axis labels room again.
        for _ in range(2):
            widget.grab()
            settle(widget)
        yield image
    finally:
        for w in hidden:
            w.show()
        widget.resize(shape)
        settle(widget)


def figure_background(widget: QWidget, size: FigureSize | None) -> QColor:
    """A figure goes on a white slide; the window as on screen keeps its own colours."""
    return QColor(widget.palette().window().color() if size is None else "white")


def render_image(widget: QWidget, image: QSize, background: QColor) -> QImage:
    """`widget` painted into an image `image` pixels large, scaled from its logical size (text
    stays sharp: the painter scales the drawing, not the pixels)."""
    logical = widget.size()
    img = QImage(image, QImage.Format.Format_ARGB32)
    img.fill(background)
    painter = QPainter(img)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    painter.scale(image.width() / logical.width(), image.width() / logical.width())
    widget.render(painter, QPoint(0, 0), QRegion(), _flags(widget, background))
    painter.end()
    return img


def _flags(widget: QWidget, background: QColor) -> QWidget.RenderFlag:
    # The widget's own background only where it is the one asked for: a figure's is white.
    flags = QWidget.RenderFlag.DrawChildren
    if background == widget.palette().window().color():
        flags |= QWidget.RenderFlag.DrawWindowBackground
    return flags


def settle(widget: QWidget) -> None:
    """Lay `widget` out and auto-range its plots now, so that the next paint is the only one.

    pyqtgraph auto-ranges lazily, inside the paint; a range that changes there updates the
    curves, which asks for a second paint."""
    for _ in range(2):  # a range change can move items, whose bounds move the range once
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        for view in widget.findChildren(pg.GraphicsView):
            view.scene().prepareForPaint()


def _write(
    widget: QWidget, path: Path, fmt: str, image: QSize, background: QColor, title: str | None
) -> None:
    if fmt == "png":
        if not render_image(widget, image, background).save(str(path), "PNG"):
            raise ExportError(f"could not write {path}")
        return
    logical = widget.size()
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(logical)
    gen.setViewBox(QRectF(0, 0, logical.width(), logical.height()))
    gen.setTitle(title or widget.windowTitle() or "rnnviz")
    gen.setDescription("exported by rnnviz")
    painter = QPainter(gen)
    painter.fillRect(QRectF(0, 0, logical.width(), logical.height()), background)
    widget.render(painter, QPoint(0, 0), QRegion(), _flags(widget, background))
    painter.end()
    if not path.is_file() or path.stat().st_size == 0:
        raise ExportError(f"could not write {path}")


def make_folder(folder: str | Path) -> Path:
    """Create `folder` (and its parents) for images; a path that is a file, or a folder that
    cannot be made, is an ExportError saying so in words."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create the folder {folder}: {e.strerror or e}") from None
    return folder
