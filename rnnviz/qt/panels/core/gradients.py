"""Gradient norms: how much of the loss reaches each timestep, and what clipping does to it.

Top left, ‖∂L/∂h_t‖₂ over t for probe sequence 0: the total backpropagation-through-time
gradient of the loss with respect to the hidden state, through every later step and every
higher layer. Top right, ‖∂h_{T−1}/∂h_t‖₂, the spectral norm of the product of one-step
Jacobians ∏ ∂h_k/∂h_{k−1} from t to the last step T − 1 (t counts from 0; Pascanu, Mikolov &
Bengio 2013, "On the difficulty of training recurrent neural networks"). Both on log axes:
a vanishing gradient is a straight line falling towards t = 0, and the readout says by how much.

Bottom, the global gradient norm of every training step before and after clipping, the clip
threshold and each step that was clipped.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.halves import Half, half
from rnnviz.qt.plotkit import (
    NOT_DRAWABLE,
    LogAxis,
    coloured,
    envelope,
    level_line,
    plain_axes,
    positive_or_nan,
    sci,
    unbroken,
    wrap_title,
)
from rnnviz.qt.ranges import Ranger, steps_ranger, timesteps
from rnnviz.qt.timeline import TimeCursor
from rnnviz.qt.tokens import set_time_axis

if TYPE_CHECKING:
    from rnnviz.core.train import Snapshot

JACOBIAN_TITLE = f"‖∂h<sub>T−1</sub>/∂h<sub>t</sub>‖ {unbroken('(spectral norm)')}"
GRAD_TITLE = f"‖∂L/∂h<sub>t</sub>‖ {unbroken('(sequence 0)')}"


def _zero_title(name: str, values: np.ndarray) -> str | None:
    """A title saying that `values` (T,) are 0 at (almost) every t, where a log plot of them
    would be empty (saturated units make every one-step Jacobian 0); None otherwise."""
    nonzero = np.flatnonzero(values > 0)
    if len(values) < 2 or len(nonzero) > 1:
        return None
    where = "at every t" if not len(nonzero) else f"except at t = {nonzero[0]}"
    return f"{name} = 0 {where} {NOT_DRAWABLE}"


class GradientNormsPanel(Panel):
    title = "Gradient norms through time"
    key = "gradients"
    needs_layers = True
    picks_halves = True
    draws = ("trace", "history", "clip", "clip_threshold", "state")
    info = (
        "Top: the norm of the total BPTT gradient ‖∂L/∂h_t‖ at each timestep of probe "
        "sequence 0, and the spectral norm of the Jacobian "
        "‖∂h_{T−1}/∂h_t‖ = ‖∏_{k>t} ∂h_k/∂h_{k−1}‖ (log axes; t counts from 0, the last step is "
        "T − 1). If the one-step Jacobians have norm below 1 the product shrinks exponentially "
        "with T − 1 − t: the vanishing gradient. Bottom: the global gradient norm of every "
        "training step before and after clipping; clipping by norm rescales g to "
        "threshold·g/‖g‖ when ‖g‖ exceeds the threshold. An encoder-decoder's encoder "
        "(Layer: encoder …) gets its gradient through the decoder's start state only, its "
        "last steps first, unless attention gives every input step j a path of one step "
        "from every decoder step: then ‖∂L/∂h_j‖ does not fade towards j = 0."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker(
            "Layer and direction (encoder or decoder) whose gradients are shown"
        )
        self.layer_combo.currentIndexChanged.connect(self._draw_trace)
        self.readout = QLabel()  # values at t, and below them the vanishing ratio
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)  # a narrow panel breaks lines between values, not in one
        self.controls_row.addStretch(1)
        self.hover_label = self.add_hint("Hover a curve for exact values")

        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.grad_plot = self.view.addPlot(row=0, col=0, axisItems={"left": LogAxis("left")})
        self.jacobian_plot = self.view.addPlot(row=0, col=1, axisItems={"left": LogAxis("left")})
        self.history_plot = self.view.addPlot(
            row=1, col=0, colspan=2, axisItems={"left": LogAxis("left")}
        )
        for plot in (self.grad_plot, self.jacobian_plot, self.history_plot):
            wrap_title(plot)
            plain_axes(plot)
        self.grad_plot.setTitle(GRAD_TITLE)
        self.jacobian_plot.setTitle(JACOBIAN_TITLE)
        self.cursor_lines = []
        for plot in (self.grad_plot, self.jacobian_plot):
            plot.setLogMode(y=True)
            plot.setLabel("bottom", "timestep t")
            line = pg.InfiniteLine(angle=90, movable=True, pen=theme.pen(theme.CURSOR, 1.5))
            line.sigDragged.connect(self._line_dragged)
            plot.addItem(line, ignoreBounds=True)
            self.cursor_lines.append(line)
        self.grad_ranger, self.jacobian_ranger = Ranger(self.grad_plot), Ranger(self.jacobian_plot)
        self.grad_curve = self.grad_plot.plot(pen=theme.pen(theme.BLUE), connect="finite")
        self.jacobian_curve = self.jacobian_plot.plot(pen=theme.pen(theme.GREEN), connect="finite")
        for plot in (self.grad_plot, self.jacobian_plot):  # T = 10000: 100x faster to paint
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)

        hp = self.history_plot
        hp.setLogMode(y=True)
        hp.setDownsampling(auto=True, mode="peak")
        hp.setClipToView(True)
        hp.setLabel("bottom", "training step")
        hp.setLabel("left", "‖g‖")
        self.history_ranger = steps_ranger(hp)
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
        # left-aligned inside the plot, on the side of the line facing the plot's centre
        self.threshold_line = level_line("clip threshold", theme.THRESHOLD, 0.02, [(0, 0), (0, 1)])
        hp.addItem(self.threshold_line, ignoreBounds=True)

        self.view.scene().sigMouseMoved.connect(self._hover)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.readout)  # a row of its own: part of the figure (the ratio)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self._grad = self._jac = np.zeros(0)
        self._ratio_text = ""
        self.half: Half | None = None  # the layer shown, its steps and tokens

    # -- drawing

    def redraw(self, snapshot: Snapshot) -> None:
        self._draw_history(snapshot)
        if snapshot.trace is not self._drawn_trace:
            self._drawn_trace = snapshot.trace
            self._draw_trace()

    def _draw_trace(self) -> None:
        trace = self.snapshot.trace if self.snapshot is not None else None
        index = self.layer_combo.currentIndex()
        self._ratio_text = ""
        if trace is None or index < 0:
            self._grad = self._jac = np.zeros(0)
            self.half = None
        else:
            shown = self.half = half(trace, index)  # a padded sentence's words, or a half's
            lt = shown.layer
            self._grad = np.linalg.norm(shown.seq(lt.grad_h).astype(np.float64), axis=-1)  # (T,)
            self._jac = np.asarray(shown.seq(lt.jacobian_norm), dtype=np.float64)  # (T,)
            # The far end is where the direction starts: t = 0 forward, T-1 reverse.
            end = "N−1" if shown.part == "encoder" else "T−1"
            first, last = (end, "0") if lt.reverse else ("0", end)
            far, near = (self._grad[-1], self._grad[0]) if lt.reverse else self._grad[[0, -1]]
            ratio = far / near if near > 0 else np.nan
            self._ratio_text = (  # a line of its own
                f"‖∂L/∂h<sub>{first}</sub>‖ / ‖∂L/∂h<sub>{last}</sub>‖ = <b>{sci(ratio)}</b>"
            )
        t = np.arange(len(self._grad))
        width = theme.curve_width(len(t))
        self.grad_curve.setData(t, positive_or_nan(self._grad), pen=theme.pen(theme.BLUE, width))
        jac_pen = theme.pen(theme.GREEN, width)
        self.jacobian_curve.setData(t, positive_or_nan(self._jac), pen=jac_pen)
        self.grad_ranger.fit(ys=[self._grad], x=timesteps(len(t)))
        self.jacobian_ranger.fit(ys=[self._jac], x=timesteps(len(t)))
        for plot in (self.grad_plot, self.jacobian_plot):
            set_time_axis(plot.getAxis("bottom"), self.half, len(t))
            plot.setLabel("bottom", self.half.axis_label if self.half else "timestep t")
        for line in self.cursor_lines:  # an encoder's mark follows the cursor only
            line.setMovable(self.half is None or self.half.follows_cursor)
        note = trace.meta.get("jacobian", "") if trace is not None else ""
        self.jacobian_plot.setTitle(self._jacobian_title(self._jac, note))
        objective = trace.meta.get("objective") if trace is not None else None
        title = self._grad_title(self._grad, objective)
        part = self.half.part if self.half is not None else ""
        self.grad_plot.setTitle(f"{title}, {part}" if part else title)
        self.show_time(self.cursor.t)

    @staticmethod
    def _jacobian_title(jac: np.ndarray, note: str = "") -> str:
        """`note` is the trace's meta["jacobian"]: "skipped: why" when the recording budget
        left the chain out (core/budget.py)."""
        if len(jac) and not np.isfinite(jac).any():
            why = html.escape(note) if note.startswith("skipped") else "not recorded"
            return f"‖∂h<sub>T−1</sub>/∂h<sub>t</sub>‖: {why}"
        return _zero_title("‖∂h<sub>T−1</sub>/∂h<sub>t</sub>‖", jac) or JACOBIAN_TITLE

    @staticmethod
    def _grad_title(grad: np.ndarray, objective: str | None = None) -> str:
        """`objective` names L where no task does (an opened model: core/foreign_trace)."""
        title = _zero_title("‖∂L/∂h<sub>t</sub>‖", grad) or GRAD_TITLE
        return f"{title}, {html.escape(objective)}" if objective else title

    def _draw_history(self, snapshot: Snapshot) -> None:
        h = snapshot.history
        self.norm_curve.setData(*envelope(h.step, positive_or_nan(h.grad_norm)))
        self.clipped_curve.setData(*envelope(h.step, positive_or_nan(h.grad_norm_clipped)))
        self.clip_markers.setData(
            *envelope(h.step[h.clipped], positive_or_nan(h.grad_norm[h.clipped]))
        )
        self.clipped_curve.setVisible(snapshot.clip != "none")
        self.threshold_line.setVisible(snapshot.clip == "norm")
        threshold = [snapshot.clip_threshold] if snapshot.clip == "norm" else []
        self.history_ranger.fit(
            xs=[h.step[[0, -1]]] if len(h) else [],
            ys=[h.grad_norm, threshold],
            settled=snapshot.state != "running",
        )
        fraction = f"clipped {h.clipped.mean():.0%} of steps" if len(h) else "no steps yet"
        if snapshot.clip == "none":  # markers may remain from before clipping was switched off
            earlier = f" (earlier: {fraction})" if h.clipped.any() else ""
            self.history_plot.setTitle(
                f"Global gradient norm ‖g‖ per step — {unbroken('no clipping')}{earlier}"
            )
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
        T = len(self._grad)
        if T == 0:
            self.readout.setText("no recording yet")
            return
        t = self.half.at(t)
        for line in self.cursor_lines:
            line.setValue(t)
        where, s = html.escape(self.half.where(t)), self.half.symbol
        self.readout.setText(
            unbroken(f"<b>{where}</b>: ‖∂L/∂h<sub>{s}</sub>‖ = {sci(self._grad[t])},")
            + " "
            + unbroken(f"‖∂h<sub>T−1</sub>/∂h<sub>{s}</sub>‖ = {sci(self._jac[t])}")
            + "<br>"
            + self._ratio_text
        )
        # Where the values at t need an extra line, keep it while the cursor moves on: plots
        # that jump up and down as t changes are hard to follow.
        lines = self.readout.heightForWidth(self.readout.width())
        self.readout.setMinimumHeight(max(self.readout.minimumHeight(), lines))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.readout.setMinimumHeight(0)  # a new width: as many lines as it needs now
        super().resizeEvent(event)

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Over t, the two norms of the layer shown; over training steps, ‖g‖ before and
        after clipping, and whether the step was clipped (1) or not (0)."""
        tables = {}
        if len(self._grad):
            tables["time"] = {
                "t": np.arange(len(self._grad)),
                "‖∂L/∂h_t‖": self._grad,
                "‖∂h_T−1/∂h_t‖ (spectral norm)": self._jac,
            }
        h = self.snapshot.history if self.snapshot is not None else None
        if h is not None and len(h):
            tables["steps"] = {
                "step": h.step,
                "‖g‖ before clipping": h.grad_norm,
                "‖g‖ after clipping": h.grad_norm_clipped,
                "clipped": h.clipped,
            }
        return tables

    # -- interaction

    def _line_dragged(self, line: pg.InfiniteLine) -> None:
        self.cursor.set(round(line.value()))

    def _hover(self, pos) -> None:
        for plot, name, values in (
            (self.grad_plot, "‖∂L/∂h_t‖", self._grad),
            (self.jacobian_plot, "‖∂h_{T−1}/∂h_t‖", self._jac),
        ):
            if plot.sceneBoundingRect().contains(pos) and len(values):
                t = int(np.clip(round(plot.vb.mapSceneToView(pos).x()), 0, len(values) - 1))
                where = self.half.where(t, compact=True)
                self.hover_label.setText(f"{where}:  {name} = {values[t]:.4g}")
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
