"""Plot ranges that hold still while a model trains.

pyqtgraph's auto-range follows the data exactly: every new recording moves the range a
little, and a moved range makes each axis lay out and draw its ticks again and the curves
rebuild their paths — most of a live panel's drawing time, and axes whose labels flicker.
Here a range changes only when the data leaves it or fills too little of it, and then snaps
to round numbers with some headroom, so a plot keeps its axes for many redraws:

    StableRange   the rule for one axis (pure arithmetic, tested on its own)
    Ranger        keeps a PlotItem's x and y ranges; a user who zooms or pans takes over
                  until they click the plot's "A" (auto) button

Log axes work in pyqtgraph's view coordinates, log10 of the values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg


def nice_step(span: float, target: int = 6) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10^k) that splits `span` into about `target` parts."""
    raw = span / target
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))


def nice_bounds(
    lo: float, hi: float, *, log: bool = False, pad: float = 0.03
) -> tuple[float, float]:
    """[lo, hi] widened by `pad` of its span on each side and rounded out to round numbers:
    tick steps for a linear axis, half decades (or tenths of a decade within one) for a log
    axis, whose lo and hi are already log10 values."""
    if hi < lo:
        lo, hi = hi, lo
    span = hi - lo
    if span <= 1e-12 * max(1.0, abs(lo), abs(hi)):  # a constant: a small range around it
        half = 0.1 if log else max(abs(lo) * 0.1, 1e-6)
        lo, hi, span = lo - half, hi + half, 2 * half
    lo, hi = lo - pad * span, hi + pad * span  # on screen, a log axis pads alike
    span = hi - lo
    if log:
        step = 0.5 if span >= 2 else 0.1 if span >= 0.3 else nice_step(span, 20)
    else:
        step = nice_step(span, 20)  # fine: a close fit leaves about a fifth empty at most
    return _round(math.floor(lo / step) * step, step), _round(math.ceil(hi / step) * step, step)


def _round(value: float, step: float) -> float:
    """value, a multiple of step, without the float noise (0.30000000000000004)."""
    return round(value, max(0, 1 - math.floor(math.log10(step))))


class StableRange:
    """One axis's range: it changes when the data leaves it or fills less than `fill` of it,
    and then to nice_bounds of the data, extended by `headroom` of the data's span above the
    data (for a range that grows, like training steps, so it does not move at every step).
    A range never reaches below `floor` where the data does not (training step 0).

    Once the data is `settled` (training paused: the picture a lecturer looks at or exports)
    the range fits it closely: no headroom, and it shrinks to nice_bounds unless the data
    fills 9/10 of it."""

    SETTLED_FILL = 0.9  # the close fit itself may fill less: then it is kept as it is

    def __init__(
        self,
        *,
        log: bool = False,
        fill: float = 0.5,
        headroom: float = 0.0,
        pad: float = 0.03,
        floor: float | None = None,
    ) -> None:
        self.log, self.fill, self.headroom, self.pad = log, fill, headroom, pad
        self.floor = floor
        self.range: tuple[float, float] | None = None

    def fit(self, lo: float, hi: float, settled: bool = False) -> bool:
        """Take data spanning [lo, hi] (log10 values on a log axis); True if the range moved."""
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return False
        fill = max(self.fill, self.SETTLED_FILL) if settled else self.fill
        if self.range is not None:
            r0, r1 = self.range
            # clear of the frame by half the padding, or a marker at the edge is cut in half
            margin = 0.5 * self.pad * (r1 - r0)
            bottom = r0 if r0 == self.floor else r0 + margin
            inside = bottom <= lo and hi <= r1 - margin
            if inside and (hi - lo) >= fill * (r1 - r0):
                return False
        grown = hi + (0.0 if settled else self.headroom) * (hi - lo)
        new = nice_bounds(lo, grown, log=self.log, pad=self.pad)
        if self.floor is not None and lo >= self.floor and new[0] < self.floor:
            new = (self.floor, new[1])
        if new == self.range:
            return False
        self.range = new
        return True

    def reset(self) -> None:
        self.range = None


def timesteps(T: int) -> tuple[float, float]:
    """The x range of a plot over timesteps 0 … T-1: half a step beyond each end."""
    return -0.5, max(T, 1) - 0.5


def finite_bounds(arrays: Iterable, log: bool) -> tuple[float, float]:
    """(min, max) of the finite values in `arrays` (log10 of the positive ones on a log axis);
    (nan, nan) when there are none."""
    lo, hi = math.inf, -math.inf
    for a in arrays:
        if a is None:
            continue
        v = np.asarray(a, dtype=np.float64).ravel()
        if log:
            v = v[v > 0]
        v = v[np.isfinite(v)]
        if not len(v):
            continue
        lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    if lo > hi:
        return math.nan, math.nan
    return (math.log10(lo), math.log10(hi)) if log else (lo, hi)


class Ranger:
    """Keeps `plot`'s ranges stable (see StableRange) in place of pyqtgraph's auto-range.

    `fit(xs, ys)` takes the arrays a plot shows (raw values; logs are taken on log axes) and
    moves the view only when a range changes. A user who drags or zooms the plot holds the
    view: fits are remembered but not applied, and the plot's "A" button, which appears on
    hover, hands the view back (re-fitted to the latest data)."""

    def __init__(
        self,
        plot: pg.PlotItem,
        *,
        x: tuple[float, float] | None = None,
        x_headroom: float = 0.0,
        x_floor: float | None = None,
        fill: float = 0.5,
        pad: float = 0.03,
    ) -> None:
        self.plot, self.vb = plot, plot.vb
        self.x = StableRange(fill=fill, headroom=x_headroom, pad=pad, floor=x_floor)
        self.y = StableRange(fill=fill, pad=pad)
        self.fixed_x = x
        self.held = False
        self.vb.disableAutoRange()
        plot.hideButtons()
        self.vb.sigRangeChangedManually.connect(self._hold)
        plot.autoBtn.clicked.connect(self.release)

    def fit(
        self,
        xs: Iterable = (),
        ys: Iterable = (),
        *,
        x: tuple[float, float] | None = None,
        settled: bool = False,
    ) -> None:
        """Show the data in `xs` and `ys` (iterables of arrays); `x` fixes the x range instead
        (e.g. timesteps 0..T-1), in view coordinates. `settled`: no more data is coming for
        now (training paused), so fit it closely."""
        log_x, log_y = self.vb.state["logMode"]
        for axis, log in ((self.x, log_x), (self.y, log_y)):
            if axis.log != log:  # the old range, and a user's zoom, are in other coordinates
                axis.log = log
                axis.reset()
                self.held = False
                self.plot.hideButtons()
        x = x if x is not None else self.fixed_x
        moved = False
        if x is not None:
            moved |= self.x.range != x
            self.x.range = x
        else:
            moved |= self.x.fit(*finite_bounds(xs, log_x), settled)
        moved |= self.y.fit(*finite_bounds(ys, log_y), settled)
        if moved or self.vb.autoRangeEnabled() != [False, False]:
            self.apply()

    def apply(self) -> None:
        if self.held:
            return
        ranges = {}
        if self.x.range is not None:
            ranges["xRange"] = self.x.range
        if self.y.range is not None:
            ranges["yRange"] = self.y.range
        if ranges:
            self.vb.setRange(**ranges, padding=0)  # also turns pyqtgraph's auto-range off
        self.vb.disableAutoRange()

    def _hold(self, *_) -> None:
        self.held = True
        self.plot.showButtons()

    def release(self) -> None:
        """Back to the fitted ranges (the "A" button)."""
        self.held = False
        self.plot.hideButtons()
        self.apply()


def steps_ranger(plot: pg.PlotItem) -> Ranger:
    """A Ranger for a plot over training steps: from step 0, with a quarter of room to grow
    while training runs, so the axis moves every few seconds rather than at every redraw."""
    return Ranger(plot, x_headroom=0.25, x_floor=0.0)
