"""Evidence over time (many-to-one): what the model would answer if the probe sentence stopped
after each word, P(class | x_0 … x_t), drawn against the words themselves.

Each prefix was run as a sentence of its own when the trace was recorded
(rnnviz.core.evidence), so the curve is right for a bidirectional model and the bag of words
too. "the film was not bad" should read negative at "not" and turn positive at "bad"; an
order-blind model cannot turn. A comparison's runs are curves side by side, one colour each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rnnviz.core.trace import Trace
from rnnviz.qt import theme
from rnnviz.qt.legend_rows import wrap_legend
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.seq2seq.drawing import shown as token_label
from rnnviz.qt.plotkit import still_plot
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

WAITING = "Waiting for the first recording of the model…"
NOT_RECORDED = "No evidence over time: {why}."
# what a trace says without a word on it (a task that is not a sentence's)
NO_DECISION = "only a many-to-one task of sentences (sentiment) has one decision to explain"


def shown_class(output_vocab: list[str]) -> int:
    """The class whose probability is drawn: 'positive' where there is one, else the last."""
    return output_vocab.index("positive") if "positive" in output_vocab else len(output_vocab) - 1


def sentence_runs(snapshot: Snapshot) -> list[tuple[str, Trace]]:
    """(label, trace) of every run drawn: a comparison's runs, or the one run unlabelled."""
    runs = [(r.label, r.trace) for r in snapshot.runs if r.trace is not None]
    return runs or ([("", snapshot.trace)] if snapshot.trace is not None else [])


class EvidencePanel(Panel):
    title = "Evidence over time"
    key = "evidence"
    draws = ("trace", "runs")
    info = (
        "For a task that reads a whole sentence and then decides (sentiment): after each word "
        "t of the probe sentence, the probability the model would give a class if the sentence "
        "stopped there, P(class | x_0 … x_t). Each prefix is run as a sentence of its own, so "
        "a bidirectional model does not peek at the words after t. Where the curve crosses "
        "0.5 the decision turns: 'the film was not bad' reads negative at 'not' and positive "
        "at 'bad' for a model that understood the negation; the bag of words, blind to order, "
        "cannot turn. The runs of a comparison are drawn side by side."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.controls_row.addStretch(1)
        self.add_hint("Move the time cursor to read the answer after word t.")
        self.note = QLabel(WAITING)  # part of the figure: why there is no curve
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.readout = QLabel()  # part of the figure: the values at the cursor
        self.readout.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        font = QFont()
        font.setPointSize(theme.FONT_PT)
        # the runs' names in a row of their own above the plot: inside it, they covered a curve
        self.legend = pg.LegendItem(labelTextSize=f"{theme.FONT_PT}pt")
        self.view.addItem(self.legend, row=0, col=0)
        self.plot = still_plot(self.view.addPlot(row=1, col=0), font)
        self.plot.setYRange(0, 1, padding=0.04)
        self.plot.setLabel("bottom", "the sentence so far: … up to word t")
        self.plot.addItem(
            pg.InfiniteLine(0.5, angle=0, pen=theme.pen("#999999", 1.5, Qt.PenStyle.DashLine))
        )
        # the two answers as light grounds, in the attribution strip's colours (blue: the
        # class drawn, red: the other)
        self.sides = []
        for lo, hi, end in ((0.5, 1.0, 0.0), (0.0, 0.5, 1.0)):
            region = pg.LinearRegionItem(
                (lo, hi), orientation="horizontal", movable=False, pen=pg.mkPen(None)
            )
            ground = theme.cmap(theme.DIVERGING).map(end, mode="qcolor")
            ground.setAlpha(36)
            region.setBrush(pg.mkBrush(ground))
            region.setZValue(-10)
            self.plot.addItem(region)
            side = pg.TextItem(anchor=(1, 0 if lo else 1), color="#555555")
            self.plot.addItem(side, ignoreBounds=True)
            self.sides.append((side, hi if lo else lo))
        self.plot.vb.sigResized.connect(self._word_ticks)  # the words' room follows the width
        self.cursor_line = pg.InfiniteLine(angle=90, pen=theme.pen(theme.CURSOR, 1.5))
        self.plot.addItem(self.cursor_line, ignoreBounds=True)
        self.curves: list[pg.PlotDataItem] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.hints[0])
        self.view.setVisible(False)
        self.runs: list[tuple[str, Trace]] = []
        self.words: list[str] = []
        self.shown = 0  # the class whose probability is drawn
        self._axes: tuple[str, tuple[str, ...]] | None = None  # (class, words) they show
        self._staggered: bool | None = None  # the words alternate between two lines
        self._labels: tuple[str, ...] | None = None  # the runs the legend names

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        runs = [(label, tr) for label, tr in sentence_runs(snapshot) if tr.evidence is not None]
        trace = snapshot.trace
        if trace is None:
            return
        if not runs:
            why = trace.meta.get("evidence", NO_DECISION).removeprefix("skipped: ")
            self.note.setText(NOT_RECORDED.format(why=why))
            self.note.setVisible(True)
            self.view.setVisible(False)
            self.runs = []
            self.readout.setText("")
            return
        self.note.setVisible(False)
        self.view.setVisible(True)
        self.runs = runs
        first = runs[0][1]
        n = int(first.input_mask[0].sum())
        self.words = [str(w) for w in first.tokens[0, :n]]
        vocab = list(first.meta["output_vocab"])
        self.shown = shown_class(vocab)
        step = first.meta.get("step")
        at = "" if step is None else f", step {step}"
        title = (
            f"P('{vocab[self.shown]}') if the sentence stopped after each word "
            f"(probe sentence{at}; dashed: 0.5)"
        )
        axes = (vocab[self.shown], tuple(self.words))
        if axes != self._axes:  # the axes repaint only when their words change
            self._axes = axes
            self.plot.setLabel("left", f"P('{axes[0]}' | x<sub>0</sub> … x<sub>t</sub>)")
            self._staggered = None
            self._word_ticks()
        other = vocab[1 - self.shown] if len(vocab) == 2 else "another class"
        for (side, y), name in zip(self.sides, (vocab[self.shown], other), strict=True):
            if side.toPlainText() != f"answer '{name}'":  # setting it lays the text out again
                side.setText(f"answer '{name}'")
            side.setPos(n - 0.5, y)
        while len(self.curves) < len(runs):
            colour = theme.SERIES[len(self.curves) % len(theme.SERIES)]
            self.curves.append(
                self.plot.plot(
                    pen=theme.pen(colour),
                    symbol="o",
                    symbolSize=8,
                    symbolBrush=colour,
                    symbolPen=None,
                )
            )
        labels = tuple(label for label, _ in runs)
        if labels != self._labels:  # a legend built anew at every recording costs a layout
            self._labels = labels
            self.legend.clear()
            for curve, label in zip(self.curves, labels, strict=False):
                if label:
                    self.legend.addItem(curve, label)
            self._wrap_legend()
        left_out = 0  # a diverged run's NaN answers: no point (pyqtgraph warned at every paint)
        for i, curve in enumerate(self.curves):
            if i < len(runs):
                p = np.asarray(runs[i][1].evidence[:n, self.shown], dtype=np.float64)
                drawn = np.flatnonzero(np.isfinite(p))
                left_out += len(p) - len(drawn)
                x = np.arange(len(p), dtype=np.float64)  # a gap where there is no answer
                curve.setData(*((x, p) if len(drawn) else ([], [])), connect="finite")
                curve.setVisible(True)
            else:
                curve.setVisible(False)
        self.plot.setTitle(title + (f" ({left_out} not finite: not drawn)" if left_out else ""))
        self.legend.setVisible(len(runs) > 1 or bool(runs[0][0]))
        self.show_time(self.cursor.t)

    def _word_ticks(self) -> None:
        """A tick label for every word: on one line where they fit side by side, else every
        other word a line lower (the axis drops a label that would print over a neighbour:
        "hotel", "charming" in a 455 px dock); and room at the ends for the first and last
        words, which the axis drops where they would stick out of it."""
        if not self.words:
            return
        axis = self.plot.getAxis("bottom")
        fm = QFontMetricsF(axis.style["tickFont"] or QFont())
        labels = [token_label(w) for w in self.words]
        n, widths = len(labels), [fm.horizontalAdvance(a) for a in labels]
        step = max(self.plot.vb.width(), 1.0) / n  # px between two words' ticks
        pairs = max(a + b for a, b in zip(widths, widths[1:] + [0.0], strict=True))
        staggered = pairs / 2 + fm.height() / 2 > step  # _legible's gap: half a line
        # half the end words' widths past their ticks, in steps, a little to spare
        ends = [max(0.5, 0.6 * w / step) for w in (widths[0], widths[-1])]
        self.plot.setXRange(-ends[0], n - 1 + ends[1], padding=0)
        if staggered == self._staggered:  # setTicks lays the axis out again: only on a change
            return
        self._staggered = staggered
        shown = [("\n" if staggered and t % 2 else "") + a for t, a in enumerate(labels)]
        axis.setTicks([list(enumerate(shown))])
        axis.setStyle(  # room for the second line from the first paint (an export has one)
            autoExpandTextSpace=False,
            tickTextHeight=round((2.2 if staggered else 1.2) * fm.height()),
        )

    def _wrap_legend(self) -> None:
        wrap_legend(self.legend, self.view.ci.layout, 0, self.view.range.width())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._wrap_legend()

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """After each word t of the probe sentence, each run's probability of the class
        drawn."""
        if not self.runs:
            return {}
        n = len(self.words)
        name = self.runs[0][1].meta["output_vocab"][self.shown]
        table = {"t": np.arange(n), "word": np.array(self.words)}
        for label, tr in self.runs:
            table[f"P('{name}' | x_0 … x_t){', ' + label if label else ''}"] = tr.evidence[
                :n, self.shown
            ]
        return {"time": table}

    def show_time(self, t: int) -> None:
        self.cursor_line.setValue(t)
        if not self.runs or not 0 <= t < len(self.words):
            self.readout.setText("")
            return
        vocab = self.runs[0][1].meta["output_vocab"]
        values = ", ".join(
            f"{label + ' ' if label else ''}{float(tr.evidence[t, self.shown]):.2f}"
            for label, tr in self.runs
        )
        self.readout.setText(
            f"after t = {t} '{self.words[t]}': P('{vocab[self.shown]}') = {values}"
        )
