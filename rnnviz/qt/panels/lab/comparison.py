"""Side by side: the runs of a comparison preset, overlaid, one colour per run.

Left, ‖∂L/∂h_t‖₂ over t for probe sequence 0 of layer 0 of each run, on one log axis: where a
tanh RNN's gradient falls by orders of magnitude towards t = 0, a gated cell's stays within a
few (Bengio, Simard & Frasconi 1994; Hochreiter & Schmidhuber 1997). Right, each run's training
loss per step (faint) and its mean over the last 50 steps (the number the presets quote),
against the chance level. A run that diverged says so in the legend, with the step at which it
did; its gradient is not drawn (its last finite weights are long past the blow-up).

Without a comparison (a single run) the panel shows that run the same way, with a hint to the
presets that train several runs together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from rnnviz.core.claims import RECENT_STEPS
from rnnviz.qt import theme
from rnnviz.qt.csv_tables import on_common_rows, padded
from rnnviz.qt.legend_rows import wrap_legend
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.plotkit import (
    LogAxis,
    coloured,
    envelope,
    level_line,
    positive_or_nan,
    running_mean,
    sci,
    wrap_title,
)
from rnnviz.qt.ranges import Ranger, steps_ranger, timesteps
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:
    from rnnviz.core.trace import Trace
    from rnnviz.core.train import History, Snapshot

HINT = (
    "Comparison presets (Side by side, Exploding gradients and clipping, Forget-gate bias) "
    "train several runs together."
)
RAW_ALPHA = 70  # of 255: the per-step losses, under their running mean


@dataclass(frozen=True, eq=False)
class ShownRun:
    """What the panel draws of one run (a RunView, or the snapshot itself with no runs)."""

    name: str  # the run's label
    label: str  # as in the legend: the name, and "— diverged at step n" if it did
    colour: str
    diverged: bool
    history: History
    trace: Trace | None


def shown_runs(snapshot: Snapshot) -> list[ShownRun]:
    """The comparison's runs in order, or the snapshot's single run."""
    colours = theme.SERIES
    if not snapshot.runs:
        diverged = snapshot.state == "diverged"
        name = f"this run ({snapshot.config.cell})"
        return [
            ShownRun(
                name,
                _label(name, diverged, snapshot.step),
                colours[0],
                diverged,
                snapshot.history,
                snapshot.trace,
            )
        ]
    return [
        ShownRun(
            r.label,
            _label(r.label, r.diverged, r.step),
            colours[i % len(colours)],
            r.diverged,
            r.history,
            r.trace,
        )
        for i, r in enumerate(snapshot.runs)
    ]


def _label(name: str, diverged: bool, step: int) -> str:
    # `step` counts the steps applied; the one that diverged was the next (Trainer.message).
    return f"{name} — diverged at step {step + 1}" if diverged else name


def gradient_norms(trace: Trace | None) -> np.ndarray:
    """‖∂L/∂h_t‖ of sequence 0, layer 0 (forward), (T,); empty without a trace or without
    recurrent layers (the bag-of-words baseline beside a recurrent model)."""
    if trace is None or not trace.layers:
        return np.zeros(0)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's huge values
        return np.linalg.norm(trace.layer(0).grad_h[0].astype(np.float64), axis=-1)


class ComparisonPanel(Panel):
    title = "Side by side"
    key = "comparison"
    draws = ("runs", "trace", "history", "chance_loss", "config", "state", "step")
    info = (
        "The runs of a comparison preset (RNN vs LSTM vs GRU, no clipping vs clipping, forget "
        "bias 0 vs 1), one colour each. Left: the norm of the BPTT gradient ‖∂L/∂h_t‖ at each "
        "timestep of probe sequence 0, on a log axis. Through the chain "
        "∂L/∂h_t = (∂h_{t+1}/∂h_t)ᵀ ∂L/∂h_{t+1} + …, a tanh RNN multiplies by "
        "diag(1 − h²) W_hh at every step and its curve falls exponentially towards t = 0; the "
        "LSTM's cell path multiplies only by the forget gate f_t, the GRU's direct path by its "
        "update gate z_t, so theirs fall far more slowly while those gates stay near 1. "
        "Right: the training loss of each run, per step (faint) and its "
        "running mean, against the chance level; a run that diverged says so in the legend."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.hint = self.add_hint(HINT)
        self.hint.setWordWrap(True)
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)  # several runs' values: lines, not a wider panel
        self.hover_label = self.add_hint("Hover a curve for exact values")

        self.tick_font = QFont()
        self.tick_font.setPointSize(theme.FONT_PT)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        # The legend is a row of its own above both plots: it covers no curve.
        self.legend = pg.LegendItem(labelTextSize=f"{theme.FONT_PT}pt", colCount=3)
        self.legend.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.view.addItem(self.legend, row=0, col=0, colspan=2)
        self.view.ci.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignCenter)
        self.view.ci.layout.setRowMaximumHeight(0, 2.4 * theme.FONT_PT)
        gp = self.grad_plot = self.view.addPlot(row=1, col=0, axisItems={"left": LogAxis("left")})
        lp = self.loss_plot = self.view.addPlot(row=1, col=1, axisItems={"left": LogAxis("left")})
        wrap_title(gp)  # titles that wrap instead of forcing the plots wider than the panel
        wrap_title(lp)
        gp.setTitle("‖∂L/∂h<sub>t</sub>‖ per timestep (sequence 0)")
        gp.setLabel("bottom", "timestep t")
        gp.setLabel("left", "‖∂L/∂h<sub>t</sub>‖")
        lp.setLabel("bottom", "training step")
        lp.setLabel("left", "loss")
        for plot in (gp, lp):  # steps, or T up to 10000: 100x faster to paint
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.setLogMode(y=True)
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.enableAutoSIPrefix(False)
                axis.setStyle(tickFont=self.tick_font)
        self.cursor_line = pg.InfiniteLine(angle=90, movable=True, pen=theme.pen(theme.CURSOR, 1.5))
        self.cursor_line.sigDragged.connect(self._line_dragged)
        gp.addItem(self.cursor_line, ignoreBounds=True)
        # below the line, at the left
        self.chance_line = level_line("chance", theme.BLACK, 0.02, [(0, 0), (0, 0)])
        lp.addItem(self.chance_line, ignoreBounds=True)
        self.chance_line.hide()
        self.grad_ranger, self.loss_ranger = Ranger(gp), steps_ranger(lp)

        self.grad_curves: list[pg.PlotDataItem] = []
        self.loss_curves: list[pg.PlotDataItem] = []  # per step, faint
        self.mean_curves: list[pg.PlotDataItem] = []  # running mean
        self.end_markers: list[pg.PlotDataItem] = []  # × at a diverged run's last step
        self.runs: list[ShownRun] = []
        self.norms: list[np.ndarray] = []  # (T_i,) per run
        self._norm_traces: list = []  # (trace, diverged) `norms` were computed from
        self.view.scene().sigMouseMoved.connect(self._hover)

        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.readout)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self.hint.hide()

    # -- drawing

    def redraw(self, snapshot: Snapshot) -> None:
        runs = shown_runs(snapshot)
        self.hint.setVisible(not snapshot.runs)
        if [(r.label, r.colour) for r in runs] != [(r.label, r.colour) for r in self.runs]:
            self._build(runs)
        self.runs = runs
        # One window for every run, the presets' quoted mean: the curves end at their numbers.
        window = RECENT_STEPS
        self.loss_plot.setTitle(f"training loss (faint) and mean of {window} steps")
        for i, run in enumerate(runs):
            drawn = self._norm_traces[i]
            if drawn is None or drawn[0] is not run.trace or drawn[1] != run.diverged:
                self._norm_traces[i] = (run.trace, run.diverged)
                # A diverged run's recording is of its last finite weights, long past the
                # blow-up (saturated, flat at 1e30 and more): not the picture of its gradient.
                self.norms[i] = np.zeros(0) if run.diverged else gradient_norms(run.trace)
                T = len(self.norms[i])
                self.grad_curves[i].setData(
                    np.arange(T),
                    positive_or_nan(self.norms[i]),
                    pen=theme.pen(run.colour, theme.curve_width(T)),
                )
            h = run.history
            self.loss_curves[i].setData(*envelope(h.step, positive_or_nan(h.loss)))
            with np.errstate(invalid="ignore"):
                mean = positive_or_nan(running_mean(h.loss, window))
                self.mean_curves[i].setData(*envelope(h.step, mean))
            # A diverged run's cross at its last step, where its last loss can be drawn (an
            # infinite or NaN loss has no place on a log axis: no cross, not a NaN point).
            last = positive_or_nan(h.loss[-1:]) if run.diverged and len(h) else np.zeros(0)
            drawn = len(last) and np.isfinite(last[0])
            self.end_markers[i].setData(h.step[-1:] if drawn else [], last if drawn else [])
        chance = snapshot.chance_loss
        self.chance_line.setVisible(chance is not None and chance > 0)
        if chance is not None and chance > 0:
            self.chance_line.setValue(np.log10(chance))
        T = max((len(n) for n in self.norms), default=0)
        self.grad_ranger.fit(ys=self.norms, x=timesteps(T))
        steps = [r.history.step[[0, -1]] for r in runs if len(r.history)]
        losses = [r.history.loss for r in runs]
        self.loss_ranger.fit(
            xs=steps,
            ys=[*losses, [] if chance is None else [chance]],
            settled=snapshot.state != "running",
        )

    def _build(self, runs: list[ShownRun]) -> None:
        """One set of curves per run, and the legend naming them."""
        for item in self.grad_curves:
            self.grad_plot.removeItem(item)
        for item in (*self.loss_curves, *self.mean_curves, *self.end_markers):
            self.loss_plot.removeItem(item)
        self.legend.clear()
        self.grad_curves, self.loss_curves, self.mean_curves, self.end_markers = [], [], [], []
        for run in runs:
            faint = QColor(run.colour)
            faint.setAlpha(RAW_ALPHA)
            grad = self.grad_plot.plot(pen=theme.pen(run.colour), connect="finite")
            # Dense, jagged curve: Qt strokes a wide antialiased zigzag path ~100x slower.
            raw = self.loss_plot.plot(pen=pg.mkPen(faint, width=1.0), antialias=False)
            mean = self.loss_plot.plot(pen=theme.pen(run.colour), connect="finite")
            mark = self.loss_plot.plot(
                pen=None, symbol="x", symbolSize=16, symbolBrush=run.colour, symbolPen=None
            )
            self.grad_curves.append(grad)
            self.loss_curves.append(raw)
            self.mean_curves.append(mean)
            self.end_markers.append(mark)
            self.legend.addItem(grad, f"<b>{run.label}</b>" if run.diverged else run.label)
        self._wrap_legend()
        self.norms = [np.zeros(0) for _ in runs]
        self._norm_traces = [None] * len(runs)

    def _wrap_legend(self) -> None:
        # one row of three runs was cut off at a narrow dock's right edge
        wrap_legend(self.legend, self.view.ci.layout, 0, self.view.range.width())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._wrap_legend()

    def show_time(self, t: int) -> None:
        self.cursor_line.setValue(t)
        if not any(len(n) for n in self.norms):
            self.readout.setText("‖∂L/∂h<sub>t</sub>‖: no recording yet")
            return
        parts = [
            coloured(
                f"{run.name} {sci(n[min(t, len(n) - 1)])}"
                if len(n)
                else f"{run.name}: diverged, not drawn",
                run.colour,
            )
            for run, n in zip(self.runs, self.norms, strict=True)
            if len(n) or run.diverged
        ]
        self.readout.setText(f"<b>t = {t}</b>: ‖∂L/∂h<sub>t</sub>‖ " + ", ".join(parts))

    # -- export

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Over t, each run's ‖∂L/∂h_t‖ (layer 0, sequence 0; empty for a diverged run);
        over training steps, each run's loss and its running mean (empty cells where a run
        has no such step)."""
        if not self.runs:
            return {}
        T = max((len(n) for n in self.norms), default=0)
        time = {"t": np.arange(T)}
        time.update(
            {f"‖∂L/∂h_t‖ of {r.name}": n for r, n in zip(self.runs, self.norms, strict=False)}
        )
        series = {}
        with np.errstate(invalid="ignore"):
            for r in self.runs:
                h = r.history
                series[f"loss of {r.name}"] = (h.step, h.loss)
                series[f"mean loss of the last {RECENT_STEPS} steps, {r.name}"] = (
                    h.step,
                    running_mean(h.loss, RECENT_STEPS),
                )
        return {"time": padded(time), "steps": on_common_rows("step", series)}

    # -- interaction

    def _line_dragged(self, line: pg.InfiniteLine) -> None:
        self.cursor.set(round(line.value()))

    def _hover(self, pos) -> None:
        gp, lp = self.grad_plot, self.loss_plot
        if gp.sceneBoundingRect().contains(pos) and any(len(n) for n in self.norms):
            t = max(0, round(gp.vb.mapSceneToView(pos).x()))
            values = [
                f"{run.name} {n[min(t, len(n) - 1)]:.4g}"
                for run, n in zip(self.runs, self.norms, strict=True)
                if len(n)
            ]
            self.hover_label.setText(f"t = {t}:  ‖∂L/∂h_t‖  " + ",  ".join(values))
        elif lp.sceneBoundingRect().contains(pos) and any(len(r.history) for r in self.runs):
            x = lp.vb.mapSceneToView(pos).x()
            values = []
            for run in self.runs:
                h = run.history
                if len(h):
                    i = int(np.clip(np.searchsorted(h.step, x - 0.5), 0, len(h) - 1))  # nearest
                    values.append(f"{run.name} {h.loss[i]:.4g} (step {h.step[i]})")
            self.hover_label.setText("loss  " + ",  ".join(values))
