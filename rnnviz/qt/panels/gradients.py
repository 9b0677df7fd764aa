"""Gradient norms: how much of the loss reaches each timestep, and what clipping does to it.

Top left, ‖∂L/∂h_t‖₂ over t for probe sequence 0: the total backpropagation-through-time
gradient of the loss with respect to the hidden state, through every later step and every
higher layer. Top right, ‖∂h_final/∂h_t‖₂, the spectral norm of the product of one-step
Jacobians ∏ ∂h_k/∂h_{k-1} from t to the end of the sequence (Pascanu, Mikolov & Bengio 2013,
"On the difficulty of training recurrent neural networks"). Both on log axes: a vanishing
gradient is a straight line falling towards t = 0, and the readout says by how much.

Bottom, the global gradient norm of every training step before and after clipping, the clip
threshold and each step that was clipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:
    from rnnviz.core.train import Snapshot


def positive_or_nan(values: np.ndarray) -> np.ndarray:
    """Values a log axis can draw: zeros, negatives and non-finite values become NaN gaps."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


def coloured(text: str, colour: str) -> str:
    """Rich text in a colour: titles that double as legends."""
    return f'<span style="color:{colour}">{text}</span>'


def sci(v: float) -> str:
    """A number for a rich-text label: 0.0314 or 3.1×10⁻⁵ (HTML superscript)."""
    if not np.isfinite(v):
        return "–"
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.3g}"
    mantissa, exponent = f"{v:.2e}".split("e")
    return f"{mantissa}×10<sup>{int(exponent)}</sup>"


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
        step = 10.0 ** np.floor(np.log10((hi - lo) / 4))
        step *= next(m for m in (1, 2, 5, 10) if (hi - lo) / (m * step) <= 6)
        values = np.arange(np.ceil(lo / step), np.floor(hi / step) + 1) * step
        return [(None, np.log10(values[values > 0]).tolist())]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        if self.range[1] - self.range[0] < 1:
            return [f"{v:.3g}" for v in 10.0 ** np.asarray(values, dtype=float)]
        strings = super().logTickStrings(values, scale, spacing)
        keep = [round(10 ** (v % 1)) in (1, 2, 5, 10) for v in values]
        return [s if k else "" for k, s in zip(keep, strings, strict=True)]


class GradientNormsPanel(Panel):
    title = "Gradient norms through time"
    key = "gradients"
    info = (
        "Top: the norm of the total BPTT gradient ‖∂L/∂h_t‖ at each timestep of probe "
        "sequence 0, and the spectral norm of the Jacobian ‖∂h_T/∂h_t‖ = ‖∏_{k>t} ∂h_k/∂h_{k-1}‖ "
        "(log axes). If the one-step Jacobians have norm below 1 the product shrinks "
        "exponentially with T - t: the vanishing gradient. Bottom: the global gradient norm of "
        "every training step before and after clipping; clipping by norm rescales g to "
        "threshold·g/‖g‖ when ‖g‖ exceeds the threshold."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("Layer and direction whose gradients are shown")
        self.layer_combo.currentIndexChanged.connect(self._draw_trace)
        self.readout = QLabel()  # values at t and the vanishing ratio
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.hover_label = QLabel("Hover a curve for exact values")

        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.grad_plot = self.view.addPlot(row=0, col=0, axisItems={"left": LogAxis("left")})
        self.jacobian_plot = self.view.addPlot(row=0, col=1, axisItems={"left": LogAxis("left")})
        self.history_plot = self.view.addPlot(
            row=1, col=0, colspan=2, axisItems={"left": LogAxis("left")}
        )
        self.grad_plot.setTitle("‖∂L/∂h<sub>t</sub>‖ (sequence 0)")
        self.jacobian_plot.setTitle("‖∂h<sub>T</sub>/∂h<sub>t</sub>‖ (spectral norm)")
        self.cursor_lines = []
        for plot in (self.grad_plot, self.jacobian_plot):
            plot.setLogMode(y=True)
            plot.setLabel("bottom", "timestep t")
            plot.showGrid(x=True, y=True, alpha=0.25)
            line = pg.InfiniteLine(angle=90, movable=True, pen=theme.pen(theme.CURSOR, 1.5))
            line.sigDragged.connect(self._line_dragged)
            plot.addItem(line, ignoreBounds=True)
            self.cursor_lines.append(line)
        self.grad_curve = self.grad_plot.plot(pen=theme.pen(theme.BLUE), connect="finite")
        self.jacobian_curve = self.jacobian_plot.plot(pen=theme.pen(theme.GREEN), connect="finite")

        hp = self.history_plot
        hp.setLogMode(y=True)
        hp.setDownsampling(auto=True, mode="peak")
        hp.setClipToView(True)
        hp.showGrid(x=True, y=True, alpha=0.25)
        hp.setLabel("bottom", "training step")
        hp.setLabel("left", "‖g‖")
        # Dense, jagged curves: Qt strokes a wide antialiased zigzag path ~100x slower.
        self.norm_curve = hp.plot(pen=theme.pen(theme.BLUE), antialias=False)
        self.clipped_curve = hp.plot(pen=theme.pen(theme.ORANGE), antialias=False)
        self.norm_curve.setZValue(1)  # on top: where nothing was clipped the two coincide
        self.clip_markers = hp.plot(
            pen=None,
            symbol="t",
            symbolSize=6,
            symbolPen=None,
            symbolBrush=theme.VERMILION,
        )
        self.clip_markers.setZValue(2)
        # Drawn in the plot's log10 coordinates: an InfiniteLine is not log-transformed.
        self.threshold_line = pg.InfiniteLine(
            angle=0,
            pen=theme.pen(theme.THRESHOLD, 1.5, Qt.PenStyle.DashLine),
            label="clip threshold",
            labelOpts={"position": 0.1, "color": theme.THRESHOLD},
        )
        hp.addItem(self.threshold_line, ignoreBounds=True)

        self.view.scene().sigMouseMoved.connect(self._hover)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer:"))
        controls.addWidget(self.layer_combo)
        controls.addWidget(self.readout, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self._grad = self._jac = np.zeros(0)
        self._ratio_text = ""

    # -- drawing

    def redraw(self, snapshot: Snapshot) -> None:
        self._draw_history(snapshot)
        if snapshot.trace is not self._drawn_trace:
            self._drawn_trace = snapshot.trace
            names = [] if snapshot.trace is None else [lt.name for lt in snapshot.trace.layers]
            if names != [self.layer_combo.itemText(i) for i in range(self.layer_combo.count())]:
                self.layer_combo.blockSignals(True)
                self.layer_combo.clear()
                self.layer_combo.addItems(names)
                self.layer_combo.blockSignals(False)
            self._draw_trace()

    def _draw_trace(self) -> None:
        trace = self.snapshot.trace if self.snapshot is not None else None
        index = self.layer_combo.currentIndex()
        self._ratio_text = ""
        if trace is None or index < 0:
            self._grad = self._jac = np.zeros(0)
        else:
            lt = trace.layers[index]
            self._grad = np.linalg.norm(lt.grad_h[0].astype(np.float64), axis=-1)  # (T,)
            self._jac = np.asarray(lt.jacobian_norm[0], dtype=np.float64)  # (T,)
            # The far end is where the direction starts: t = 0 forward, T-1 reverse.
            first, last = ("T−1", "0") if lt.reverse else ("0", "T−1")
            far, near = (self._grad[-1], self._grad[0]) if lt.reverse else self._grad[[0, -1]]
            ratio = far / near if near > 0 else np.nan
            self._ratio_text = (
                f"‖∂L/∂h<sub>{first}</sub>‖ / ‖∂L/∂h<sub>{last}</sub>‖ = <b>{sci(ratio)}</b>"
            )
        t = np.arange(len(self._grad))
        self.grad_curve.setData(t, positive_or_nan(self._grad))
        self.jacobian_curve.setData(t, positive_or_nan(self._jac))
        recorded = not len(self._jac) or np.isfinite(self._jac).any()
        self.jacobian_plot.setTitle(
            "‖∂h<sub>T</sub>/∂h<sub>t</sub>‖ (spectral norm)"
            if recorded
            else "‖∂h<sub>T</sub>/∂h<sub>t</sub>‖: not recorded"
        )
        self.show_time(self.cursor.t)

    def _draw_history(self, snapshot: Snapshot) -> None:
        h = snapshot.history
        self.norm_curve.setData(h.step, positive_or_nan(h.grad_norm))
        self.clipped_curve.setData(h.step, positive_or_nan(h.grad_norm_clipped))
        self.clip_markers.setData(h.step[h.clipped], positive_or_nan(h.grad_norm[h.clipped]))
        self.clipped_curve.setVisible(snapshot.clip != "none")
        self.threshold_line.setVisible(snapshot.clip == "norm")
        fraction = f"clipped {h.clipped.mean():.0%} of steps" if len(h) else "no steps yet"
        if snapshot.clip == "none":  # markers may remain from before clipping was switched off
            earlier = f" (earlier: {fraction})" if h.clipped.any() else ""
            self.history_plot.setTitle(f"Global gradient norm ‖g‖ per step — no clipping{earlier}")
            return
        if snapshot.clip == "norm":
            self.threshold_line.setValue(np.log10(snapshot.clip_threshold))
            self.threshold_line.label.setFormat(f"clip threshold {snapshot.clip_threshold:g}")
            rule = f"clip by norm at {snapshot.clip_threshold:g}"
        else:
            rule = f"clip by value at ±{snapshot.clip_threshold:g} (per-element)"
        # The title is the legend: a legend box would hide the latest steps.
        self.history_plot.setTitle(
            f"‖g‖ {coloured('before', theme.BLUE)} / {coloured('after clipping', theme.ORANGE)}"
            f", {coloured('▼ clipped step', theme.VERMILION)} — {rule}; {fraction}"
        )

    def show_time(self, t: int) -> None:
        for line in self.cursor_lines:
            line.setValue(t)
        T = len(self._grad)
        if T == 0:
            self.readout.setText("no recording yet")
            return
        t = min(t, T - 1)
        self.readout.setText(
            f"<b>t = {t}</b>: ‖∂L/∂h<sub>t</sub>‖ = {sci(self._grad[t])}, "
            f"‖∂h<sub>T</sub>/∂h<sub>t</sub>‖ = {sci(self._jac[t])} &nbsp;|&nbsp; "
            + self._ratio_text
        )

    # -- interaction

    def _line_dragged(self, line: pg.InfiniteLine) -> None:
        self.cursor.set(round(line.value()))

    def _hover(self, pos) -> None:
        for plot, name, values in (
            (self.grad_plot, "‖∂L/∂h_t‖", self._grad),
            (self.jacobian_plot, "‖∂h_T/∂h_t‖", self._jac),
        ):
            if plot.sceneBoundingRect().contains(pos) and len(values):
                t = int(np.clip(round(plot.vb.mapSceneToView(pos).x()), 0, len(values) - 1))
                self.hover_label.setText(f"t = {t}:  {name} = {values[t]:.4g}")
                return
        hp = self.history_plot
        if hp.sceneBoundingRect().contains(pos) and self.snapshot is not None:
            h = self.snapshot.history
            if len(h):
                x = hp.vb.mapSceneToView(pos).x()
                i = int(np.clip(np.searchsorted(h.step, x - 0.5), 0, len(h) - 1))  # nearest
                self.hover_label.setText(
                    f"step {h.step[i]}:  ‖g‖ = {h.grad_norm[i]:.4g} before clipping, "
                    f"{h.grad_norm_clipped[i]:.4g} after" + ("  (clipped)" if h.clipped[i] else "")
                )
