"""The plot kit: what every panel draws with.

Number formatters for rich-text labels (`sci`, `coloured`, `unbroken`), values a log axis can
draw, a log axis whose labels stay legible (`LogAxis`), tick labels that never print over one
another on any axis (`legible_tick_labels`), a figure that shrinks to fit its panel rather
than being cut off (`FitToView`), plot titles that wrap instead of pushing their
neighbours out of the panel (`wrap_title`), a plot that holds still (`still_plot`), and the
dashed level line a curve is read against (a clip threshold, the chance loss).
"""

from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QTextOption

from rnnviz.qt import theme

QWIDGETSIZE_MAX = 16777215  # Qt's "no maximum"
LABEL_FILL = (255, 255, 255, 210)  # behind text on a plot: legible over the curves


def positive_or_nan(values: np.ndarray) -> np.ndarray:
    """Values a log axis can draw: zeros, negatives and non-finite values become NaN gaps."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


def coloured(text: str, colour: str) -> str:
    """Rich text in a colour: titles that double as legends."""
    return f'<span style="color:{colour}">{text}</span>'


def unbroken(text: str) -> str:
    """Rich text that a word-wrapping label moves to the next line whole. Qt's nowrap only
    makes the spaces non-breaking; a word joiner around each slash outside the tags keeps
    "∂h/∂h" together too."""
    joined = re.sub(r"/(?![^<]*>)", "\u2060/\u2060", text)
    return f'<span style="white-space:nowrap">{joined}</span>'


NOT_DRAWABLE = unbroken("(a log axis cannot show 0)")


def level_line(text: str, colour: str, position: float, anchors: list) -> pg.InfiniteLine:
    """A dashed horizontal line at a level to read the curves against (a clip threshold, the
    chance loss), labelled on a white ground over the curves. `position` (0..1 along the
    line) and `anchors` place the label (pyqtgraph's InfLineLabel). In a log plot its value
    is set in log10 coordinates: an InfiniteLine is not log-transformed."""
    line = pg.InfiniteLine(
        angle=0,
        pen=theme.pen(colour, 1.5, Qt.PenStyle.DashLine),
        label=text,
        labelOpts={"position": position, "color": colour, "anchors": anchors, "fill": LABEL_FILL},
    )
    line.setZValue(3)  # its label over the curves
    return line


def sci(v: float) -> str:
    """A number for a rich-text label: 0.0314 or 3.1×10⁻⁵ (HTML superscript)."""
    if not np.isfinite(v):
        return "–"
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.3g}"
    mantissa, exponent = f"{v:.2e}".split("e")
    return f"{mantissa}×10<sup>{int(exponent)}</sup>"


def plain_axes(*plots: pg.PlotItem) -> None:
    """Tick labels show the values themselves: pyqtgraph would rescale an axis whose values are
    all below 1 and append "(x0.001)" to its label, which reads as part of the quantity."""
    for plot in plots:
        for side in plot.axes:
            plot.getAxis(side).enableAutoSIPrefix(False)


class WrappingTitle(pg.LabelItem):
    """A plot title that breaks into centred lines where the plot is narrower than the title.

    pyqtgraph's title is one line whose width is the plot's minimum width: a long title pushes
    its neighbours out of the panel, where they are cut off. This title asks for no width and
    as many lines as the plot's width needs; `wrap_title(plot)` puts it in place, spanning the
    plot's axes as well as its view.
    """

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__(" ", parent=plot, size=f"{theme.FONT_PT}pt")
        self.plot = plot
        option = QTextOption(Qt.AlignmentFlag.AlignHCenter)
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)  # never wider
        self.item.document().setDefaultTextOption(option)

    def setText(self, text: str, **args) -> None:  # noqa: N802 (pyqtgraph API)
        """A new text: the layout is asked again only when the title's height changes (a
        live title, like the loss at the latest step, changes its words at every redraw,
        and a layout pass over the whole plot costs more than the text). LabelItem.setText
        less its unconditional updateGeometry; no Qt virtual is overridden to skip it (an
        override of updateGeometry was called from a plot's layout being destroyed, and
        crashed the interpreter at teardown)."""
        if text == getattr(self, "text", None) and not args:
            return
        self.text = text
        self.opts.update(args)
        self.item.setHtml(f"<span style='{self._style()}'>{text}</span>")
        self.updateMin()
        self.resizeEvent(None)  # centres the text; calls updateMin again

    def _style(self) -> str:
        """The CSS of LabelItem.setText's span, from self.opts."""
        opts = self.opts
        color = pg.mkColor(
            opts["color"] if opts["color"] is not None else pg.getConfigOption("foreground")
        )
        style = [f"color: {color.name(QColor.NameFormat.HexArgb)}"]
        if "family" in opts:
            style.append(f"font-family: {opts['family']}")
        if "size" in opts:
            style.append(f"font-size: {opts['size']}")
        if opts.get("bold") in (True, False):
            style.append(f"font-weight: {'bold' if opts['bold'] else 'normal'}")
        if opts.get("italic") in (True, False):
            style.append(f"font-style: {'italic' if opts['italic'] else 'normal'}")
        return "; ".join(style)

    def updateMin(self) -> None:  # noqa: N802 (pyqtgraph API: called on every text or size change)
        width = self.width()
        self.item.setTextWidth(-1)
        if 0 < width < self.item.boundingRect().width():
            self.item.setTextWidth(width)
        height = self.item.boundingRect().height()
        self.setMinimumWidth(0)
        self.setMinimumHeight(height)
        hint = {
            Qt.SizeHint.MinimumSize: (0, height),
            Qt.SizeHint.PreferredSize: (0, height),
            Qt.SizeHint.MaximumSize: (-1, -1),
            Qt.SizeHint.MinimumDescent: (0, 0),
        }
        if hint != self._sizeHint:  # the layout asks again only for a new height
            self._sizeHint = hint
            self.updateGeometry()
        # PlotItem.setTitle fixes the title row at 30 px; give it the lines' height instead.
        # No plot while LabelItem.__init__ runs; a deleted one while the plot's layout, being
        # destroyed, gives its items a last resize.
        plot = getattr(self, "plot", None)
        if plot is None or not shiboken6.isValid(plot) or not self.isVisibleTo(plot):
            return
        if plot.layout.rowMaximumHeight(0) != height:
            self.setMaximumHeight(height)
            plot.layout.setRowFixedHeight(0, height)


def wrap_title(plot: pg.PlotItem) -> pg.PlotItem:
    """Give `plot` a WrappingTitle in place of its own (call before setTitle); returns it."""
    old = plot.titleLabel
    plot.layout.removeItem(old)
    old.setParentItem(None)
    if old.scene() is not None:
        old.scene().removeItem(old)
    plot.titleLabel = title = WrappingTitle(plot)
    plot.layout.addItem(title, 0, 0, 1, 3)  # over the axes too: room for one line
    plot.setTitle(None)

    def set_title(text: str | None = None, **args) -> None:
        """PlotItem.setTitle without its fixed 30 px row (WrappingTitle sizes the row) and
        without any work when the title is unchanged."""
        if text is None:
            title.setVisible(False)
            plot.layout.setRowFixedHeight(0, 0)
            title.setMaximumHeight(0)
            title.text = None
            return
        if not title.isVisible():
            title.setVisible(True)
            title.setMaximumHeight(QWIDGETSIZE_MAX)
        title.setText(text, **args)

    plot.setTitle = set_title
    return plot


def still_plot(plot: pg.PlotItem, tick_font: QFont | None = None) -> pg.PlotItem:
    """A plot that holds still (no mouse pan or zoom, no menu, no auto-range button: the panel
    sets its ranges) with a wrapping title, plain tick labels, and `tick_font` on its left and
    bottom axes where given; returns it."""
    wrap_title(plot)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(False, False)
    plot.hideButtons()
    plain_axes(plot)
    if tick_font is not None:
        for side in ("left", "bottom"):
            plot.getAxis(side).setStyle(tickFont=tick_font)
    return plot


def _ink(fm: QFontMetricsF, rect: QRectF, flags: int, text: str) -> QRectF:
    """Where a tick label's ink is: pyqtgraph's text rect is the label's box shrunk to 0.8 of
    its height, and the text, drawn unclipped and aligned in it, reaches past it."""
    size = fm.boundingRect(QRectF(0, 0, 1e4, 1e4), int(Qt.AlignmentFlag.AlignCenter), text).size()
    box = QRectF(rect.topLeft(), size)
    box.moveCenter(rect.center())
    if flags & Qt.AlignmentFlag.AlignRight:
        box.moveRight(rect.right())
    elif flags & Qt.AlignmentFlag.AlignLeft:
        box.moveLeft(rect.left())
    if flags & Qt.AlignmentFlag.AlignTop:  # a bottom axis's labels hang from the rect's top
        box.moveTop(rect.top())
    # a label staggered onto a lower line by leading newlines has no ink on the lines above
    box.setTop(box.top() + (len(text) - len(text.lstrip("\n"))) * fm.lineSpacing())
    return box


def _legible(specs):
    """pyqtgraph's draw specs without the labels that would print over one already placed.
    Labels come major ticks first, so a crowded axis keeps its round values; a gap of a
    quarter line (half a line across) keeps neighbours apart. Runs only when the axis draws
    its ticks anew (a new range or size), not at every paint."""
    if specs is None:
        return specs
    axis_spec, tick_specs, text_specs, axis = specs
    fm = QFontMetricsF(axis.style["tickFont"] or QFont())
    vertical = axis.orientation in ("left", "right")
    kept, boxes = [], []
    for rect, flags, text in text_specs:
        box = _ink(fm, rect, int(flags), text)
        # the gap along the axis only: labels staggered onto two lines may sit one above another
        if vertical:
            wide = box.adjusted(0, -box.height() / 8, 0, box.height() / 8)
        else:
            wide = box.adjusted(-box.height() / 4, 0, box.height() / 4, 0)
        if any(wide.intersects(b) for b in boxes):
            continue
        kept.append((rect, flags, text))
        boxes.append(wide)
    return axis_spec, tick_specs, kept


def _fit_axis_title(axis: pg.AxisItem) -> None:
    """Hide an axis title longer than its axis (a short plot's rotated "factor per step"
    would print over the plots above and below it), and show it again when it fits."""
    label = axis.label
    if label is None or not axis.labelText:
        return
    vertical = axis.orientation in ("left", "right")
    fits = label.boundingRect().width() <= (axis.height() if vertical else axis.width())
    hidden = getattr(axis, "_title_too_long", False)
    if not fits and label.isVisible():
        label.setVisible(False)
        axis._title_too_long = True
    elif fits and hidden:
        label.setVisible(True)
        axis._title_too_long = False


def legible_tick_labels() -> None:
    """Make every pyqtgraph axis drop the tick labels that would overlap, and hide a title
    longer than the axis (once per process).

    pyqtgraph always draws its major tick labels and thins only the minor ones, by their
    total length: on a short axis, or with presentation mode's larger font, "6.5e+33",
    "6e+33" and "5.5e+33" print over one another. Every panel's axes (their own subclasses
    and the plain ones pyqtgraph makes for a PlotItem) go through AxisItem.generateDrawSpecs,
    so the rule lives there rather than in a subclass each panel would have to remember."""
    if getattr(pg.AxisItem, "_legible", False):
        return
    draw_specs = pg.AxisItem.generateDrawSpecs

    def generate_draw_specs(self, p):
        specs = draw_specs(self, p)
        _fit_axis_title(self)
        return None if specs is None else _legible((*specs, self))

    pg.AxisItem.generateDrawSpecs = generate_draw_specs
    pg.AxisItem._legible = True


class FitToView(QObject):
    """Keeps a GraphicsLayoutWidget's whole figure in view: where the panel is smaller than
    the figure's minimum size (titles, axes, labels), the view draws it scaled down, so that
    a small dock or presentation mode's larger fonts shrink the figure instead of cutting off
    its right or bottom side. Runs only when the view or the figure's geometry changes."""

    def __init__(self, view: pg.GraphicsView) -> None:
        super().__init__(view)
        self.view = view
        self.busy = False
        view.sigDeviceRangeChanged.connect(self.fit)  # a resize
        view.centralWidget.geometryChanged.connect(self.fit)  # a figure that needs more room

    @Slot()
    def fit(self) -> None:
        view = self.view
        w, h = view.width(), view.height()
        if self.busy or w <= 0 or h <= 0:
            return
        self.busy = True  # the figure answers a new size (titles rewrap): the loop follows it
        try:
            for _ in range(3):
                figure, shown = view.centralWidget, view.range
                need = figure.effectiveSizeHint(Qt.SizeHint.MinimumSize)
                size = figure.geometry().size()
                # a figure the layout has grown past what the view shows needs that size (its
                # minimum may not say so yet); one that fills the view may still shrink
                need_w = max(need.width(), size.width() if size.width() > shown.width() else 1)
                need_h = max(need.height(), size.height() if size.height() > shown.height() else 1)
                scale = min(1.0, w / need_w, h / need_h)
                shown = QRectF(0, 0, w / scale, h / scale)  # the same scale across and down
                fits = scale == 1.0  # then pyqtgraph's rule: scene pixels are screen pixels
                moved = abs(shown.width() - view.range.width())
                moved += abs(shown.height() - view.range.height())
                if moved < 1 and fits == view.autoPixelRange:
                    return
                view.autoPixelRange = fits
                view.setRange(shown, padding=0, disableAutoPixel=not fits)
        finally:
            self.busy = False
            grown = view.centralWidget.geometry().size()
            shown = view.range
            if grown.width() > shown.width() + 0.5 or grown.height() > shown.height() + 0.5:
                QTimer.singleShot(0, self, self.fit)  # grown while being fitted; none once gone


class LogAxis(pg.AxisItem):
    """A log axis whose labels stay legible. Across decades it labels 1, 2 and 5 × 10^k only
    (pyqtgraph labels every minor tick, and 0.1, 0.09, 0.08 … print over one another); within
    less than a decade, where pyqtgraph may label nothing, it ticks round values (2.1, 2.2)."""

    def __init__(self, orientation: str = "left", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        # Room for "5·10⁻⁵" from the start: the axis widens to its labels only after a first
        # paint, too late for an export, which would drop the labels that do not fit.
        self.textWidth = round(4.5 * theme.FONT_PT)
        self.setStyle(tickTextWidth=self.textWidth)
        self.enableAutoSIPrefix(False)  # labels carry their own exponent

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 (pyqtgraph API)
        if not 0 < maxVal - minVal < 1:
            return super().logTickValues(minVal, maxVal, size, stdTicks)
        lo, hi = 10.0**minVal, 10.0**maxVal
        fits = min(6, max(2, int(size / (2 * self._label_extent()))))  # as many as fit
        step = 10.0 ** np.floor(np.log10((hi - lo) / fits))
        step *= next(m for m in (1, 2, 5, 10) if (hi - lo) / (m * step) <= fits)
        values = np.arange(np.ceil(lo / step), np.floor(hi / step) + 1) * step
        return [(None, np.log10(values[values > 0]).tolist())]

    def _label_extent(self) -> float:
        """A label's length along the axis: a line's height on a vertical axis, the width of
        "5.5e+33" on a horizontal one."""
        fm = QFontMetricsF(self.style["tickFont"] or self.font())
        return (
            fm.height()
            if self.orientation in ("left", "right")
            else fm.horizontalAdvance("5.5e+33")
        )

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        if self.range[1] - self.range[0] < 1:
            return [f"{v:.3g}" for v in 10.0 ** np.asarray(values, dtype=float)]
        strings = super().logTickStrings(values, scale, spacing)
        keep = [round(10 ** (v % 1)) in (1, 2, 5, 10) for v in values]
        return [s if k else "" for k, s in zip(keep, strings, strict=True)]


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values at each index (fewer at the start)."""
    c = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    n = np.arange(1, len(values) + 1)
    lo = np.maximum(n - window, 0)
    return (c[n] - c[lo]) / (n - lo)


# A curve over training steps keeps at most this many points: its smallest and largest value
# in each of half as many equal runs of steps. Drawn 1920 wide, that is every pixel column's
# extremes; and a window left training for hours holds a bounded copy of each curve instead
# of a float64 copy per step (pyqtgraph keeps what it is given, downsampled or not).
STEP_POINTS = 4096


def envelope(x: np.ndarray, y: np.ndarray, points: int = STEP_POINTS):
    """(x, y) as is when short; else the smallest and largest y of each of points/2 equal
    runs, in the order they occur, at their own x. NaN gaps stay gaps (a run of NaN only)."""
    n = len(x)
    if n <= points:
        return x, y
    y = np.asarray(y, dtype=np.float64)
    runs = points // 2
    starts = np.linspace(0, n, runs + 1).astype(np.int64)[:-1]  # (runs,)
    ends = np.append(starts[1:], n)
    with np.errstate(invalid="ignore"):
        filled_lo = np.where(np.isnan(y), np.inf, y)
        filled_hi = np.where(np.isnan(y), -np.inf, y)
    lo_v = np.minimum.reduceat(filled_lo, starts)
    hi_v = np.maximum.reduceat(filled_hi, starts)
    # where each extreme lies: the first index in its run holding it
    run_of = np.repeat(np.arange(runs), ends - starts)
    lo_i = _first_where(filled_lo == lo_v[run_of], run_of, starts, runs)
    hi_i = _first_where(filled_hi == hi_v[run_of], run_of, starts, runs)
    first, second = np.minimum(lo_i, hi_i), np.maximum(lo_i, hi_i)
    idx = np.stack([first, second], axis=1).reshape(-1)  # (2 * runs,) in order
    out = y[idx]
    empty = np.repeat(np.isinf(lo_v), 2)  # a run of NaN only
    out[empty] = np.nan
    return np.asarray(x)[idx], out


def _first_where(hit: np.ndarray, run_of: np.ndarray, starts: np.ndarray, runs: int):
    """For each run, the first index where `hit` is true (its start if none)."""
    where = np.flatnonzero(hit)
    first = np.full(runs, -1, dtype=np.int64)
    r = run_of[where]
    keep = np.r_[True, r[1:] != r[:-1]]  # the first hit of each run
    first[r[keep]] = where[keep]
    return np.where(first < 0, starts, first)
