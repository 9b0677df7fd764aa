"""The bottleneck curve: held-out exact match against the input's length, one curve per run.

Without attention the decoder reads the input only through the encoder's final state, one
vector of fixed size (Sutskever et al. 2014; Cho et al. 2014 saw translation quality fall with
the sentence's length): the longer the input, the less of it survives and the fewer outputs
are wholly right. With attention (Bahdanau et al. 2015) every decoder step reads every encoder
state and the curve holds. Runs trained side by side (a preset: with and without attention)
draw one curve each, in the runs' colours.

Measuring decodes the whole held-out set, so it happens on demand, in the training process
(protocol.MeasureBottleneck, core/seq2seq/bottleneck.py), never in the window: the Measure
button asks at once; "at each pause" asks again whenever training pauses at a step the curve
was not measured at, while the panel is shown. The panel never talks to the worker: it emits
`command_requested` and the window sends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rnnviz.core.protocol import MeasureBottleneck
from rnnviz.core.seq2seq.bottleneck import EXTRAS_KEY, BottleneckCurves, RunCurve
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.plotkit import plain_axes, wrap_title
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

NOT_SEQ2SEQ = (
    "The bottleneck curve belongs to the encoder-decoder: train the reverse, sort or dates "
    "task (the Bottleneck preset trains reverse with and without attention)."
)
NOT_MEASURED = "Not measured yet: press Measure (it decodes the held-out set)."
SYMBOL_SIZE = 10  # the points' diameter (px): one per input length
# Exact match ticks, in the order a short axis keeps them (plotkit drops a label that would
# print over one placed before it): 0% and 100% always, the quarters where there is room.
LEVELS = (0.0, 1.0, 0.5, 0.25, 0.75)


def run_name(curve: RunCurve, alone: bool = False) -> str:
    """A curve's legend entry: the run's label beside other runs; alone, what the curve
    compares, its attention (a single run's label is the preset's title)."""
    if curve.label and not alone:
        return curve.label
    return "no attention" if curve.attention == "none" else f"{curve.attention} attention"


class BottleneckPanel(Panel):
    title = "Bottleneck curve"
    key = "bottleneck"
    info = (
        "Held-out exact match (the fraction of held-out sequences whose whole output is "
        "right up to <eos>, decoded without the targets) against the input's length, one "
        "curve per run. Without attention the decoder sees the input only through the "
        "encoder's final state s_0 = h_n, one vector of fixed size, so exact match falls as "
        "the input grows; with attention each decoder step reads c_t = Σ_j α_t,j h_j over "
        "every encoder state and the curve holds. Measured on demand, in the training "
        "process: Measure, or at each pause while the panel is shown."
    )

    # a core.protocol command for the training process; the window sends it
    command_requested = Signal(object)

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.measure_button = QPushButton("Measure")
        self.measure_button.setToolTip(
            "Decode the held-out sequences now and score each input length (in the training "
            "process: the window stays responsive)"
        )
        self.measure_button.clicked.connect(self.measure)
        self.at_pause = QCheckBox("at each pause")
        self.at_pause.setChecked(True)
        self.at_pause.setToolTip("Measure again whenever training pauses, while this is shown")
        self.at_pause.toggled.connect(self._measure_if_due)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        for w in (self.measure_button, self.at_pause, self.progress):
            self.controls_row.addWidget(w)
        self.controls_row.addStretch(1)

        self.note = QLabel(NOT_SEQ2SEQ)  # part of the figure: why there is nothing to show
        self.note.setWordWrap(True)
        font = QFont()
        font.setPointSize(theme.FONT_PT)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.legend = pg.LegendItem(labelTextSize=f"{theme.FONT_PT + 2}pt", colCount=2)
        self.legend.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.view.addItem(self.legend, row=0, col=0)  # a row of its own: it covers no point
        self.view.ci.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignCenter)
        plot = self.plot = wrap_title(self.view.addPlot(row=1, col=0))
        plain_axes(plot)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        # Grid lines of their own: an axis drawing the grid clips its labels to the plot, and
        # the 0% and 100% labels, half outside it, would go.
        for v in LEVELS[1:]:
            plot.addItem(pg.InfiniteLine(v, angle=0, pen=pg.mkPen(0, 0, 0, 64)), ignoreBounds=True)
        plot.setLabel("bottom", "input length (symbols)")
        plot.setLabel("left", "held-out exact match")
        for side in ("left", "bottom"):
            plot.getAxis(side).setStyle(tickFont=font)
        plot.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in LEVELS]])
        plot.setYRange(-0.03, 1.04, padding=0)  # 0% and 100% labelled, the points whole
        self.curves: list[pg.PlotDataItem] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        self.shown: BottleneckCurves | None = None  # the curves drawn
        self._request = 0  # the number of the last MeasureBottleneck sent
        self._waiting = False  # for its answer
        self._asked_step: int | None = None  # the training step it was sent at

    # -- data

    @property
    def found(self) -> BottleneckCurves | None:
        """The latest snapshot's curves (complete or in progress), None before any."""
        s = self.snapshot
        return None if s is None else s.extras.get(EXTRAS_KEY)

    @property
    def measuring(self) -> bool:
        """A measurement asked for has not been answered in full yet."""
        found = self.found
        return self._waiting and (found is None or found.request != self._request or not found.done)

    def set_snapshot(self, snapshot: Snapshot) -> None:
        before = self.found
        if self._asked_step is not None and snapshot.step < self._asked_step:
            self._waiting = False  # a new run: what it was asked will not be answered
        super().set_snapshot(snapshot)
        if self.found != before:
            self._dirty = True  # `draws` holds the trace: new curves come in the extras
        self._show_progress()
        self._measure_if_due()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self._measure_if_due()

    def measure(self) -> None:
        """Ask the training process for every run's curve now."""
        if not self._seq2seq():
            return
        self._request += 1
        self._waiting, self._asked_step = True, self.snapshot.step
        self.command_requested.emit(MeasureBottleneck(self._request))
        self._show_progress()

    def _seq2seq(self) -> bool:
        s = self.snapshot
        return s is not None and s.trace is not None and s.trace.meta.get("model") == "seq2seq"

    def _measure_if_due(self, *_args) -> None:
        """At a pause, measure the weights there once (while shown, and "at each pause")."""
        s = self.snapshot
        if not (self.at_pause.isChecked() and self.isVisible() and self._seq2seq()):
            return
        if s.state == "running" or s.step == 0 or self._asked_step == s.step:
            return
        found = self.found
        if found is not None and found.done and found.runs[0].step == s.step:
            return
        self.measure()

    def _show_progress(self) -> None:
        measuring = self.measuring
        self.progress.setVisible(measuring)
        self.measure_button.setEnabled(self._seq2seq() and not measuring)
        if measuring:
            found = self.found
            runs = max(1, len(self.snapshot.runs))
            done = len(found.runs) if found is not None and found.request == self._request else 0
            self.progress.setRange(0, runs)
            self.progress.setValue(done)
            self.progress.setFormat(f"measuring: {done} of {runs} runs")

    def redraw(self, snapshot: Snapshot) -> None:
        found = self.found
        if not self._seq2seq():
            self._clear(NOT_SEQ2SEQ)
            return
        if found is None or not found.done or found.runs[0].step > snapshot.step:
            if self.shown is None or self.shown.runs[0].step > snapshot.step:
                self._clear(NOT_MEASURED)  # nothing yet, or curves of weights since reset
            return  # in progress: the last complete curves stay
        self.note.setVisible(False)
        self.shown = found
        for item in self.curves:
            self.plot.removeItem(item)
        self.legend.clear()
        self.curves = []
        colours = theme.SERIES
        for i, curve in enumerate(found.runs):
            colour = colours[i % len(colours)]
            item = pg.PlotDataItem(
                curve.lengths,
                curve.exact,
                pen=theme.pen(colour, 2 * theme.LINE_WIDTH),
                symbol="o",
                symbolSize=SYMBOL_SIZE,
                symbolBrush=colour,
                symbolPen=colour,
            )
            self.plot.addItem(item)
            self.legend.addItem(item, run_name(curve, alone=len(found.runs) == 1))
            self.curves.append(item)
        lengths = [n for c in found.runs for n in c.lengths]
        lo, hi = min(lengths), max(lengths)
        self.plot.setXRange(lo - 0.5, hi + 0.5, padding=0)
        every = max(1, round((hi - lo + 1) / 20))  # about 20 labelled lengths at most
        self.plot.getAxis("bottom").setTicks([[(n, str(n)) for n in range(lo, hi + 1, every)]])
        sequences = found.runs[0].sequences
        self.plot.setTitle(
            f"Held-out exact match by input length, step {found.runs[0].step} "
            f"(about {round(np.mean(sequences))} held-out sequences a length)"
        )

    def _clear(self, why: str) -> None:
        self.note.setText(why)
        self.note.setVisible(True)
        for item in self.curves:
            self.plot.removeItem(item)
        self.curves = []
        self.legend.clear()
        self.shown = None
        self.plot.getAxis("bottom").setTicks([[]])  # no lengths to mark before a measurement
        self.plot.setTitle(" ")

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """One row per input length: every run's exact match, and how many held-out
        sequences have that length."""
        if self.shown is None:
            return {}
        first = self.shown.runs[0]
        table = {"input length": np.asarray(first.lengths)}
        alone = len(self.shown.runs) == 1
        for curve in self.shown.runs:
            table[f"exact match: {run_name(curve, alone)}"] = np.asarray(curve.exact)
        table["held-out sequences"] = np.asarray(first.sequences)
        return {"lengths": table}
