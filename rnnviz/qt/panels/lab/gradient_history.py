"""Gradient history: does the gradient that reaches early timesteps grow or die as training goes?

A heatmap of log₁₀ ‖∂L/∂h_t‖ for probe sequence 0, with the timestep t across and the
training step up: one row per recording of the probe batch (`Snapshot.probes`). Recordings
come at irregular steps, so the rows are resampled onto a regular grid of training steps
(at most MAX_ROWS rows; each row shows the latest recording made by the end of its step
range), and the y axis reads in training steps. The colour levels are robust percentiles
that only ever widen, so colours keep their meaning while training runs.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.plotkit import sci
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:
    from rnnviz.core.train import ProbeHistory, Snapshot

MAX_ROWS = 400  # image rows: a screen's height; more recordings are decimated
PERCENTILES = (1.0, 99.0)  # colour levels: robust to a few extreme recordings
HINT = "Hover the heatmap for exact values"
# log10 of a zero norm (a gradient that underflowed) and of an infinite one: far outside
# any colour levels, so they take the end colours; NaN (a diverged run) stays transparent.
ZERO, INFINITE = -1000.0, 1000.0


def layer_name(key: str) -> str:
    """'l1_reverse' -> 'layer 1 ←', as LayerTrace.name says it."""
    layer, _, direction = key[1:].partition("_")
    return f"layer {layer}" + (" ←" if direction else "")


def step_grid(steps: np.ndarray, max_rows: int = MAX_ROWS) -> tuple[float, float, np.ndarray]:
    """Rows on a regular grid of training steps: (first step, row height, recording per row).

    Row r covers steps [y0 + r·dy, y0 + (r+1)·dy) and shows the latest recording made before
    its end. The last recording gets a row as tall as the typical gap between recordings.
    """
    steps = np.asarray(steps, dtype=np.float64)
    gaps = np.diff(steps)
    gap = float(np.median(gaps[gaps > 0])) if (gaps > 0).any() else 1.0
    y0 = float(steps[0])
    span = float(steps[-1]) + gap - y0
    rows = int(min(max_rows, max(1, np.ceil(span))))
    dy = span / rows
    ends = y0 + dy * np.arange(1, rows + 1)
    return y0, dy, np.searchsorted(steps, ends, side="left") - 1


class StepAxis(pg.AxisItem):
    """An axis of training steps: whole steps only, never 0.2 of a step."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph API)
        levels = [(sp, vs) for sp, vs in super().tickValues(minVal, maxVal, size) if sp >= 1]
        if levels:
            return levels
        return [(1.0, np.arange(np.ceil(minVal), np.floor(maxVal) + 1).tolist())]


class GradientHistoryPanel(Panel):
    title = "Gradient history"
    key = "gradient_history"
    needs_layers = True
    draws = ("probes",)
    info = (
        "A heatmap of log₁₀ ‖∂L/∂h_t‖, the norm of the total backpropagation-through-time "
        "gradient at each timestep t (across) of probe sequence 0, at every recording over "
        "training (up, in training steps). ∂L/∂h_t = Σ_{k≥t} (∂L_k/∂h_k) ∏_{s=t+1}^{k} "
        "∂h_s/∂h_{s−1}: the contributions of later losses reach t through a product of "
        "one-step Jacobians, so with factors below 1 the left of each row fades (vanishing "
        "gradient) and above 1 it glows (exploding). Read a column upward to see whether the "
        "gradient reaching early timesteps grows or dies as training goes on."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker("Layer and direction whose gradients are shown")
        self.layer_combo.currentIndexChanged.connect(self._layer_changed)
        self.readout = QLabel()  # how the gradient at t changed over training
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)
        self.hover_label = self.add_hint(HINT)

        font = QFont()
        font.setPointSize(theme.FONT_PT)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        plot = self.plot = self.view.addPlot(axisItems={"left": StepAxis("left")})
        plot.setTitle("log₁₀ ‖∂L/∂h<sub>t</sub>‖ of probe sequence 0 at every recording")
        plot.setLabel("bottom", "timestep t")
        plot.setLabel("left", "training step")
        plot.setMenuEnabled(False)
        for side in ("left", "bottom"):
            plot.getAxis(side).enableAutoSIPrefix(False)
            plot.getAxis(side).setStyle(tickFont=font)
        self.image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(-1, 0),
            colorMap=theme.cmap(theme.SEQUENTIAL),
            label="log₁₀ ‖∂L/∂h<sub>t</sub>‖",
            interactive=False,
            width=16,
        )
        self.colorbar.setImageItem(self.image, insert_in=plot)
        self.colorbar.axis.setStyle(tickFont=font)
        self.cursor_line = pg.InfiniteLine(angle=90, movable=True, pen=theme.pen(theme.CURSOR, 1.5))
        self.cursor_line.sigDragged.connect(self._line_dragged)
        plot.addItem(self.cursor_line, ignoreBounds=True)

        self.view.scene().sigMouseMoved.connect(self._hover)
        self.controls_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.readout)  # a row of its own: part of the figure
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self.probes: ProbeHistory | None = None
        self.norms = np.zeros((0, 0))  # (N, T) of the layer shown
        self.rows = np.zeros(0, dtype=np.int64)  # recording shown in each image row
        self.y0, self.dy = 0.0, 1.0
        self.levels: tuple[float, float] | None = None
        self._drawn = None  # (layer key, recordings, buffer) of the image drawn
        self._levels_for = None  # ((layer key, T), recordings) the levels were widened for

    # -- drawing

    def redraw(self, snapshot: Snapshot) -> None:
        probes = snapshot.probes
        self.probes = probes if self.layer_combo.count() else None
        self._draw()

    def layer_choices(self, snapshot: Snapshot) -> list[tuple[str, str]]:
        """The layers recorded in the probes (this panel draws no trace)."""
        probes = snapshot.probes
        keys = [] if probes is None or not len(probes) else list(probes.grad_norms)
        return [(layer_name(k), k) for k in keys]

    def _layer_changed(self) -> None:
        if self.snapshot is not None:
            self._draw()
            self.show_time(self.cursor.t)

    def _draw(self) -> None:
        key = self.layer_combo.currentData()
        if self.probes is None or key is None:
            self.norms, self.rows = np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
            self._drawn = None
            self.image.clear()
            self.plot.setTitle("log₁₀ ‖∂L/∂h<sub>t</sub>‖: no recordings yet")
            return
        steps, norms = self.probes.step, self.probes.grad_norms[key]  # (N,), (N, T)
        # The history is append-only: the same buffer and length is the same picture.
        buffer = norms if norms.base is None else norms.base
        drawn = (key, len(norms), buffer)
        if self._drawn is not None and self._drawn[:2] == drawn[:2] and self._drawn[2] is buffer:
            return
        self._drawn = drawn
        self.norms = norms
        N, T = norms.shape
        self.y0, self.dy, self.rows = step_grid(steps)
        with np.errstate(divide="ignore", invalid="ignore"):
            img = np.log10(self.norms[self.rows])  # (rows, T)
        self._widen_levels(img[np.isfinite(img)], key, N, T)
        img[img == -np.inf] = ZERO
        img[img == np.inf] = INFINITE
        self.image.setImage(img, autoLevels=False, autoDownsample=True)
        self.image.setRect(QRectF(-0.5, self.y0, T, self.dy * len(self.rows)))
        trace = self.snapshot.trace
        objective = trace.meta.get("objective") if trace is not None else None  # opened model
        self.plot.setTitle(
            f"log₁₀ ‖∂L/∂h<sub>t</sub>‖, sequence 0: {N} recording{'s' * (N != 1)}"
            f", steps {steps[0]}–{steps[-1]}" + (f", {html.escape(objective)}" if objective else "")
        )

    def _widen_levels(self, finite: np.ndarray, key: str, N: int, T: int) -> None:
        """Robust colour levels, in half decades, that widen but never narrow within a run."""
        run, previous = (key, T), self._levels_for
        # Another layer, another sequence length, or fewer recordings (a reset or a new
        # model): start afresh. A new learning rate or clipping keeps the colours' meaning.
        if previous is None or previous[0] != run or N < previous[1]:
            self.levels = None
        self._levels_for = (run, N)
        if finite.size:
            lo, hi = np.percentile(finite, PERCENTILES)
            lo, hi = np.floor(2 * lo) / 2, np.ceil(2 * hi) / 2
            if hi <= lo:
                hi = lo + 0.5
            if self.levels is not None:
                lo, hi = min(lo, self.levels[0]), max(hi, self.levels[1])
            self.levels = (float(lo), float(hi))
        if self.levels is not None:
            self.colorbar.setLevels(self.levels)

    def show_time(self, t: int) -> None:
        self.cursor_line.setValue(t)
        N, T = self.norms.shape
        if N == 0:
            self.readout.setText("no recordings yet")
            return
        t = min(t, T - 1)
        steps = self.probes.step
        first, last = self.norms[0, t], self.norms[-1, t]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            change = last / first if first > 0 else np.nan  # inf / inf of a diverged run: NaN
        self.readout.setText(
            f"<b>at t = {t}</b>: ‖∂L/∂h<sub>t</sub>‖ = {sci(first)} at step {steps[0]}, "
            f"{sci(last)} at step {steps[-1]} (× {sci(change)})"
        )

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Each recording of the layer shown: its training step, then ‖∂L/∂h_t‖ at every t
        (the heatmap shows their log₁₀, its rows resampled onto a grid of steps)."""
        N, T = self.norms.shape
        if N == 0:
            return {}
        table = {"step": self.probes.step[:N]}
        table.update({f"‖∂L/∂h_t‖ at t = {t}": self.norms[:, t] for t in range(T)})
        return {"steps": table}

    # -- interaction

    def _line_dragged(self, line: pg.InfiniteLine) -> None:
        self.cursor.set(round(line.value()))

    def _hover(self, pos) -> None:
        N, T = self.norms.shape
        if N == 0 or not self.plot.vb.sceneBoundingRect().contains(pos):
            return
        p = self.plot.vb.mapSceneToView(pos)
        t, row = round(p.x()), int(np.floor((p.y() - self.y0) / self.dy))
        if not (0 <= t < T and 0 <= row < len(self.rows)):
            self.hover_label.setText(HINT)
            return
        i = self.rows[row]
        self.hover_label.setText(
            f"step {self.probes.step[i]}, t = {t}: ‖∂L/∂h_t‖ = {self.norms[i, t]:.4g}"
        )
