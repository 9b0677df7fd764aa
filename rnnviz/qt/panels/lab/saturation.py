"""Gate saturation: the scatter of Karpathy, Johnson & Fei-Fei (2015), figure 3, live.

One point per unit and sigmoid gate of the chosen layer: x the fraction of the probe batch's
steps the gate spends shut (γ < 0.1), y the fraction it spends open (γ > 0.9)
(rnnviz.core.saturation). Every point lies on or below the diagonal x + y = 1 (dashed): on it,
a gate that only switches; near the origin, one that stays in between. A forget gate high
up on the left keeps its cell state, the LSTM's long memory.

Right, the gate of the hovered unit over time, every probe sequence (sequence 0 in the
gate's colour), with the thresholds 0.1 and 0.9 and the time cursor t.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rnnviz.core.cells import GATES
from rnnviz.core.saturation import LEFT, RIGHT, GateSaturation, gate_saturation
from rnnviz.core.trace import LayerTrace
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.plotkit import level_line, still_plot
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

NO_GATES = "This model has no gates (an Elman RNN, or no recurrence): choose an LSTM or a GRU."
PICK = 12.0  # px: how near the mouse a point must be to be hovered
OTHERS = "#B0B0B0"  # the other probe sequences, behind sequence 0


class GateSaturationPanel(Panel):
    title = "Gate saturation"
    key = "saturation"
    info = (
        "One point per hidden unit and gate of the chosen layer, as in Karpathy, Johnson & "
        "Fei-Fei (2015): x = the fraction of the probe batch's steps at which the gate is "
        "left-saturated (γ < 0.1, shut), y = the fraction at which it is right-saturated "
        "(γ > 0.9, open). Only the sigmoid gates (i, f, o; r, z) saturate at 0 and 1; the "
        "tanh candidates g and n are values in (−1, 1), not gates, and are not shown. Points "
        "lie on or below the dashed diagonal x + y = 1: on it the gate only switches, near "
        "the origin it stays in between. A forget gate high on the left keeps c_t: long "
        "memory. Right: the hovered unit's gate γ_t over time for every probe sequence "
        "(sequence 0 in colour)."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker("Layer and direction whose gates are shown")
        self.layer_combo.currentIndexChanged.connect(self._layer_changed)
        self.controls_row.addStretch(1)
        self.note = QLabel(NO_GATES)  # part of the figure: why an Elman RNN shows nothing
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        self.hover_label = self.add_hint("Hover a point to see that unit's gate over time.")
        font = QFont()
        font.setPointSize(theme.FONT_PT)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.scatter = still_plot(self.view.addPlot(row=0, col=0), font)
        self.scatter.setLabel("bottom", f"fraction of steps left-saturated (γ &lt; {LEFT:g})")
        self.scatter.setLabel("left", f"fraction of steps right-saturated (γ &gt; {RIGHT:g})")
        self.scatter.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.03)
        self.trace_plot = still_plot(self.view.addPlot(row=0, col=1), font)
        self.trace_plot.setLabel("bottom", "t")
        self.trace_plot.setLabel("left", "γ<sub>t</sub>")
        self.trace_plot.setYRange(0, 1, padding=0.04)
        self.view.ci.layout.setColumnStretchFactor(0, 1)
        self.view.ci.layout.setColumnStretchFactor(1, 1)
        dash = theme.pen("#999999", 1.5, Qt.PenStyle.DashLine)
        self.scatter.plot([0, 1], [1, 0], pen=dash)  # x + y = 1: no unit lies above it
        self.legend = self.scatter.addLegend(offset=(-10, 10))  # the top right is always empty
        for level in (LEFT, RIGHT):
            line = level_line(f"γ = {level:g}", "#666666", 0.02, [(0, 1), (0, 0)])
            line.setValue(level)
            self.trace_plot.addItem(line)
        self.cursor_line = pg.InfiniteLine(angle=90, pen=theme.pen(theme.CURSOR, 1.5))
        self.trace_plot.addItem(self.cursor_line, ignoreBounds=True)
        self.others_curve = self.trace_plot.plot(pen=pg.mkPen(OTHERS, width=1), connect="finite")
        self.unit_curve = self.trace_plot.plot(connect="finite")
        self.points: dict[str, pg.PlotDataItem] = {}  # gate -> its scatter
        self.marker = self.scatter.plot(
            pen=None, symbol="o", symbolSize=16, symbolBrush=None, symbolPen=theme.pen("k", 2)
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self.trace = None
        self.layer: LayerTrace | None = None
        self.saturation: tuple[GateSaturation, ...] = ()
        self.shown: tuple[str, int] | None = None  # the (gate, unit) whose trace is drawn
        self.view.scene().sigMouseMoved.connect(self._hover)

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        if snapshot.trace is None:
            return
        self.trace = snapshot.trace
        self._show_layer()

    def _layer_changed(self) -> None:
        if self.trace is not None:
            self._show_layer()

    def _show_layer(self) -> None:
        if not self.trace.layers:  # a model without recurrent layers (bag of words)
            self.layer, self.saturation, self.shown = None, (), None
            self._show_points()
            return
        self.layer = self.trace.layers[max(self.layer_combo.currentIndex(), 0)]
        step = self.trace.meta.get("step")
        at = "" if step is None else f", step {step}"
        # the layer picker is left out of an export: the title names the layer
        self.scatter.setTitle(f"Each unit's gates, {self.layer.name}{at} (dashed: x + y = 1)")
        self.saturation = gate_saturation(self.layer, self.trace.input_mask)  # not padding
        H = self.layer.h.shape[-1]
        gates = [s.gate for s in self.saturation]
        if self.shown is None or self.shown[0] not in gates or self.shown[1] >= H:
            self.shown = (gates[0], 0) if gates else None
        self._show_points()

    def _show_points(self) -> None:
        """One scatter per sigmoid gate (made once, removed when the cell has no such gate)."""
        self.note.setVisible(not self.saturation)
        gates = [s.gate for s in self.saturation]
        for g in [g for g in self.points if g not in gates]:
            self.legend.removeItem(self.points[g])
            self.scatter.removeItem(self.points.pop(g))
        for s in self.saturation:
            if s.gate not in self.points:
                brush = QColor(theme.GATE_COLOURS[s.gate])
                brush.setAlpha(190)  # overlapping units show as darker spots
                self.points[s.gate] = self.scatter.plot(
                    pen=None,
                    symbol="o",
                    symbolSize=9,
                    symbolPen=None,
                    symbolBrush=brush,
                    name=f"{s.gate}: {GATES[s.gate].word}",
                )
            self.points[s.gate].setData(s.left, s.right)
        self._draw_unit()

    def _draw_unit(self) -> None:
        """The shown unit's gate over time, and a ring around its point."""
        if self.shown is None:
            self.trace_plot.setTitle(" ")
            for item in (self.others_curve, self.unit_curve, self.marker):
                item.setData([], [])
            return
        g, k = self.shown
        v = np.asarray(self.layer.gates[g][..., k], dtype=np.float64)  # (B, T)
        B, T = v.shape
        s = next(s for s in self.saturation if s.gate == g)
        self.trace_plot.setTitle(
            f"{GATES[g].word} {g} of unit {k}: shut {s.left[k]:.0%}, open {s.right[k]:.0%} "
            f"of {B} × {T} steps<br>sequence 0" + (" (grey: the others)" if B > 1 else "")
        )
        t = np.arange(T, dtype=np.float64)
        # the other sequences as one curve, NaN between them
        rest = np.concatenate([np.append(v[b], np.nan) for b in range(1, B)]) if B > 1 else []
        self.others_curve.setData(np.tile(np.append(t, np.nan), B - 1), rest)
        self.unit_curve.setData(t, v[0], pen=theme.pen(theme.GATE_COLOURS[g], theme.curve_width(T)))
        self.trace_plot.setXRange(0, max(T - 1, 1), padding=0.02)
        self.marker.setData([s.left[k]], [s.right[k]])

    def show_time(self, t: int) -> None:
        self.cursor_line.setValue(t)

    # -- export

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """The scatter (each unit's fractions of steps shut and open, per gate) and the shown
        unit's gate over t, every sequence of the probe batch."""
        if not self.saturation:
            return {}
        units = {"unit": np.arange(len(self.saturation[0].left))}
        for s in self.saturation:
            units[f"{s.gate} fraction shut (γ < 0.1)"] = s.left
            units[f"{s.gate} fraction open (γ > 0.9)"] = s.right
        g, k = self.shown
        v = self.layer.gates[g][..., k]  # (B, T)
        time = {"t": np.arange(v.shape[1])}
        time.update({f"{g} of unit {k}, sequence {b}": v[b] for b in range(v.shape[0])})
        return {"units": units, "time": time}

    # -- interaction

    def _hover(self, pos) -> None:
        if not self.saturation or not self.scatter.sceneBoundingRect().contains(pos):
            return
        vb = self.scatter.vb
        m = vb.mapSceneToView(pos)
        pw, ph = vb.viewPixelSize()  # view units per pixel: distances in pixels
        best, near = None, PICK
        for s in self.saturation:
            d = np.hypot((s.left - m.x()) / pw, (s.right - m.y()) / ph)  # (H,)
            k = int(d.argmin())
            if d[k] < near:
                best, near = (s.gate, k), d[k]
        if best is None:
            return
        g, k = best
        s = next(s for s in self.saturation if s.gate == g)
        self.hover_label.setText(
            f"{g} ({GATES[g].word}), unit {k}: left-saturated {s.left[k]:.1%}, "
            f"right-saturated {s.right[k]:.1%}"
        )
        if best != self.shown:
            self.shown = best
            self._draw_unit()
