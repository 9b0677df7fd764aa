"""Memory reach over training (issue 13): at every recording of the probe batch, the largest
distance j − t at which the itemized gradient ‖∂L_j/∂h_t‖ of probe sequence 0 is still above
a chosen fraction (default 1%) of the near-field one, ‖∂L_j/∂h_j‖ — averaged over the pairs
at each distance (core/memory_reach.py). One curve per run of a comparison, side by side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QVBoxLayout, QWidget

from rnnviz.core.memory_reach import REACH_FRACTION, reach_over_training
from rnnviz.qt import theme
from rnnviz.qt.legend_rows import fill_legend, wrap_legend
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.lab.gradient_history import StepAxis, layer_name
from rnnviz.qt.plotkit import plain_axes, wrap_title
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:
    from rnnviz.core.protocol import ProbeHistory
    from rnnviz.core.train import Snapshot

HINT = "Hover a curve for exact values"


def run_probes(snapshot: Snapshot) -> list[tuple[str, ProbeHistory]]:
    """(label, probe history) of each run of a comparison, or of the snapshot's one run."""
    if snapshot.runs:
        return [(r.label, r.probes) for r in snapshot.runs if r.probes is not None]
    return [] if snapshot.probes is None else [("this run", snapshot.probes)]


class MemoryReachPanel(Panel):
    title = "Memory reach"
    key = "memory_reach"
    draws = ("probes", "runs")
    info = (
        "How far back in time the gradient still teaches, at every recording over training. "
        "From the itemized gradients ∂L_j/∂h_t of probe sequence 0 (the panel 'Where the "
        "gradient comes from'): P(d) = the mean of ‖∂L_j/∂h_t‖ over the pairs at distance "
        "d = j − t (t − j for a reverse direction); the memory reach is the largest d with "
        "P(d) ≥ fraction × P(0), the near field (the loss at the state's own step). Choose "
        "the fraction above. One curve per run of a comparison: a tanh RNN's gradient fades "
        "within a few steps, a gated cell's carries further."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker("Layer and direction whose reach is shown")
        self.layer_combo.currentIndexChanged.connect(self._changed)
        self.fraction = QDoubleSpinBox()
        self.fraction.setRange(0.001, 50.0)
        self.fraction.setDecimals(3)
        self.fraction.setSuffix(" %")
        self.fraction.setValue(100 * REACH_FRACTION)
        self.fraction.setToolTip("The fraction of the near-field gradient that still counts")
        self.fraction.valueChanged.connect(self._changed)
        self.controls_row.addWidget(QLabel("Fraction:"))
        self.controls_row.addWidget(self.fraction)
        self.controls_row.addStretch(1)
        self.hover_label = self.add_hint(HINT)
        font = QFont()
        font.setPointSize(theme.FONT_PT)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        # The legend is a row of its own above the plot: it covers no curve.
        self.legend = pg.LegendItem(labelTextSize=f"{theme.FONT_PT}pt", colCount=4)
        self.view.addItem(self.legend, row=0, col=0)
        self.plot = wrap_title(
            self.view.addPlot(row=1, col=0, axisItems={"bottom": StepAxis("bottom")})
        )
        self.plot.setLabel("bottom", "training step")
        self.plot.setLabel("left", "memory reach (steps back)")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.vb.setMinimumHeight(8 * theme.FONT_PT)  # a short dock draws it smaller, not flat
        plain_axes(self.plot)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setStyle(tickFont=font)
        self.curves: list[pg.PlotDataItem] = []
        self.reaches: list[tuple[str, np.ndarray, np.ndarray]] = []  # (label, steps, reach)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self.plot.scene().sigMouseMoved.connect(self._hover)

    def layer_choices(self, snapshot: Snapshot) -> list[tuple[str, str]]:
        runs = run_probes(snapshot)
        keys = list(runs[0][1].profiles) if runs else []
        return [(layer_name(k), k) for k in keys]

    def redraw(self, snapshot: Snapshot) -> None:
        key = self.layer_combo.currentData()
        f = self.fraction.value() / 100
        self.reaches = []
        for label, probes in run_probes(snapshot):
            if key in probes.profiles and len(probes):
                reach = reach_over_training(probes.profiles[key], f)
                self.reaches.append((label, probes.step, reach))
        while len(self.curves) < len(self.reaches):
            colour = theme.SERIES[len(self.curves) % len(theme.SERIES)]
            self.curves.append(
                self.plot.plot(pen=theme.pen(colour), symbol="o", symbolSize=5,
                               symbolBrush=colour, symbolPen=None, connect="finite")
            )  # fmt: skip
        entries = []
        for i, curve in enumerate(self.curves):
            if i < len(self.reaches):
                label, steps, reach = self.reaches[i]
                last = reach[np.isfinite(reach)]
                # No reach at all: no points (pyqtgraph warns on a scatter of only NaN).
                curve.setData(
                    steps.astype(np.float64) if len(last) else [], reach if len(last) else []
                )
                tail = f" (now {last[-1]:.0f})" if len(last) else " (no reach)"
                entries.append((curve, label + tail))
            else:
                curve.setData([], [])
        if fill_legend(self.legend, entries):
            self._wrap_legend()
        finite = [r[np.isfinite(r)] for _, _, r in self.reaches]
        top = max((float(r.max()) for r in finite if len(r)), default=1.0)
        self.plot.setYRange(0, top + 1, padding=0.02)  # a reach of 0 steps is on the plot
        where = layer_name(key) if key else ""
        self.plot.setTitle(
            f"Memory reach, {where}: the largest j − t with ‖∂L<sub>j</sub>/∂h<sub>t</sub>‖ "
            f"≥ {self.fraction.value():g}% of the near field"
            if self.reaches
            else "Memory reach: no itemized gradient recorded yet"
        )

    def _wrap_legend(self) -> None:
        wrap_legend(self.legend, self.view.ci.layout, 0, self.view.range.width())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._wrap_legend()

    def _changed(self) -> None:
        if self.snapshot is not None:
            self.redraw(self.snapshot)

    def _hover(self, pos) -> None:
        if not self.reaches or not self.plot.sceneBoundingRect().contains(pos):
            return
        x = self.plot.vb.mapSceneToView(pos).x()
        words = []
        for label, steps, reach in self.reaches:
            i = int(np.clip(np.searchsorted(steps, x), 0, len(steps) - 1))
            words.append(f"{label}: {reach[i]:.0f} at step {steps[i]}")
        self.hover_label.setText("; ".join(words))

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Each run's memory reach at each recording (NaN where a run has none then)."""
        if not self.reaches:
            return {}
        steps = np.unique(np.concatenate([s for _, s, _ in self.reaches]))
        table = {"step": steps}
        for label, s, reach in self.reaches:
            col = np.full(len(steps), np.nan)
            col[np.searchsorted(steps, s)] = reach
            table[f"{label}: memory reach (steps)"] = col
        return {"steps": table}
