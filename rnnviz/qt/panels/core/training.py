"""Training: the loss over steps against the chance level, and what the model predicts now.

The loss curve is every training step's batch loss (log axis by default), with its mean over
the last 50 steps (the number in the title, and the one the presets quote) and, dashed, the
loss of the best constant predictor. Beside it, for probe sequence 0:
    sine    prediction ŷ_t against the target y_t = x_{t+1}
    adding  the running output ŷ_t, the two marked values and their sum (the target, scored
            at t = T-1), and prediction against target for every probe sequence
    copy    input, target and predicted symbols across t (scored steps green if right, red
            if wrong)
    charlm  a text sampled from the model at an adjustable temperature, and the probe text
            with the predicted next character at every t
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from rnnviz.core.claims import RECENT_STEPS, recent_loss
from rnnviz.core.config import ConfigError, check_temperature
from rnnviz.qt import theme
from rnnviz.qt.form import refusal_note
from rnnviz.qt.number_field import NumberField
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.plotkit import (
    LogAxis,
    coloured,
    envelope,
    level_line,
    plain_axes,
    running_mean,
    unbroken,
    wrap_title,
)
from rnnviz.qt.ranges import Ranger, steps_ranger, timesteps
from rnnviz.qt.timeline import TimeCursor
from rnnviz.qt.tokens import steps_shown

if TYPE_CHECKING:
    from rnnviz.core.trace import Trace
    from rnnviz.core.train import Snapshot

NO_SAMPLE = "(sample appears after training starts)"
CURSOR_STYLE = "background-color:#fde6b0"  # the column at the time cursor in the symbol rows
UNSCORED = "#8c8c8c"  # predictions at steps the loss ignores
# The plots sit side by side while the plot area's width : height is at least this (each
# plot then at least 5 wide to 8 tall); in a narrower area they stack in one column.
STACK_ASPECT = 1.25
PLOT_EM = 5  # a plot's least data height, in font sizes: a short dock draws them smaller


def symbol_rows(trace: Trace) -> list[tuple[str, list[str], list[str]]]:
    """(row name, symbol per t, colour per t) for probe sequence 0 of a classification task.

    Where inputs and outputs share their steps, every column is as wide as its widest
    symbol (words and tags: "not", "PER"), and a padded sentence ends at its last word; an
    encoder-decoder's rows (T_in inputs, T_out outputs) keep one character a step."""
    vocab_in, vocab_out = trace.meta["input_vocab"], trace.meta["output_vocab"]
    x, y = trace.x_raw[0], trace.y[0]  # (T,) ids
    pred = trace.y_hat[0].argmax(axis=-1)  # (T,)
    scored = trace.loss_mask[0] > 0
    right = np.where(scored & (pred == y), theme.GREEN, theme.VERMILION)
    shown = np.where(scored, right, UNSCORED).tolist()
    rows = [[vocab[int(i)] for i in ids] for vocab, ids in ((vocab_in, x), (vocab_out, y))]
    rows.append([vocab_out[int(i)] for i in pred])
    if len(x) == len(y):
        n = steps_shown(trace)
        rows, shown = [row[:n] for row in rows], shown[:n]
        widths = [max(map(len, column)) for column in zip(*rows, strict=True)]
        if max(widths, default=1) > 1:  # a space between words keeps them apart
            rows = [[s.ljust(w) + " " for s, w in zip(row, widths, strict=True)] for row in rows]
    else:  # one character a column keeps the rows aligned
        rows = [[s if len(s) == 1 else "·" for s in row] for row in rows]
    next_name = "next" if trace.meta["task"] == "charlm" else "target"
    return [
        ("input", rows[0], ["black"] * len(rows[0])),
        (next_name, rows[1], ["black"] * len(rows[1])),  # an encoder-decoder's y: T_out
        ("predicted", rows[2], shown),
    ]


class TrainingPanel(Panel):
    title = "Training"
    key = "training"
    draws = ("trace", "history", "extras", "chance_loss", "state")
    info = (
        "The training loss of each step's batch against the chance level (the loss of the "
        "best constant predictor: MSE of predicting the mean, or the cross-entropy of the "
        "class frequencies), and the model's predictions for probe sequence 0."
    )
    temperature_changed = Signal(float)

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.log_check = QCheckBox("log loss axis")
        self.log_check.setChecked(True)
        self.log_check.toggled.connect(self._set_log)
        self.temperature_spin = NumberField(1.0, step=0.1)
        self.temperature_spin.setToolTip(
            "Sampling temperature T: p ∝ exp(logits / T). Below 1 the likeliest characters "
            "win more often; above 1 the text gets more random."
        )
        self.temperature_spin.valueChanged.connect(self._on_temperature)
        self.temperature_label = QLabel("Sampling temperature:")
        self.temperature_note = refusal_note()  # why a typed temperature is refused
        self.temperature = 1.0  # the last one accepted: what the samples are drawn at
        self.hover_label = self.add_hint("Hover a curve for exact values")

        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        lp = self.loss_plot = wrap_title(pg.PlotItem(axisItems={"left": LogAxis("left")}))
        lp.setLogMode(y=True)
        lp.setDownsampling(auto=True, mode="peak")
        lp.setClipToView(True)
        lp.setLabel("bottom", "training step")
        # Dense, jagged curve: Qt strokes a wide antialiased zigzag path ~100x slower.
        self.loss_curve = lp.plot(pen=theme.pen(theme.SKY, 1.0), antialias=False)
        self.mean_curve = lp.plot(pen=theme.pen(theme.BLUE))
        # right-aligned at the right end, where a learning model's loss is far below it, on
        # the side facing the plot's centre: never over the title when the line is on top
        self.chance_line = level_line("chance level", theme.BLACK, 0.98, [(1, 0), (1, 1)])
        lp.addItem(self.chance_line, ignoreBounds=True)
        self.chance_loss: float | None = None
        self.loss_ranger = steps_ranger(lp)

        self.pred_plot = wrap_title(pg.PlotItem())
        self.pred_plot.setLabel("bottom", "timestep t")
        self.pred_plot.setDownsampling(auto=True, mode="peak")  # T = 10000: 100x faster
        self.pred_plot.setClipToView(True)
        self.target_curve = self.pred_plot.plot(
            pen=theme.pen(theme.BLACK, style=Qt.PenStyle.DashLine)
        )
        self.pred_curve = self.pred_plot.plot(pen=theme.pen(theme.BLUE))
        self.marked = self.pred_plot.plot(
            pen=None, symbol="o", symbolSize=10, symbolBrush=theme.ORANGE, symbolPen="k"
        )
        self.cursor_line = pg.InfiniteLine(angle=90, movable=True, pen=theme.pen(theme.CURSOR, 1.5))
        self.cursor_line.sigDragged.connect(self._line_dragged)
        self.pred_plot.addItem(self.cursor_line, ignoreBounds=True)
        self.scatter_plot = wrap_title(pg.PlotItem())
        self.scatter_plot.setTitle("ŷ vs target, scored steps")
        self.scatter_plot.setLabel("bottom", "target y")
        self.scatter_plot.setLabel("left", "prediction ŷ")
        self.diagonal = self.scatter_plot.plot(pen=theme.pen("#9a9a9a", 1.0))
        self.scatter = pg.ScatterPlotItem(
            size=11,
            brush=pg.mkBrush(theme.BLUE),
            pen="k",
            hoverable=True,
            tip="y = {x:.4f}\nŷ = {y:.4f}".format,
        )
        self.scatter_plot.addItem(self.scatter)
        self.pred_ranger, self.scatter_ranger = Ranger(self.pred_plot), Ranger(self.scatter_plot)
        plain_axes(self.loss_plot, self.pred_plot, self.scatter_plot)
        for plot in (self.loss_plot, self.pred_plot, self.scatter_plot):  # never flat
            plot.vb.setMinimumHeight(PLOT_EM * theme.FONT_PT)
        self.stacked = False
        self.view.scene().sigMouseMoved.connect(self._hover)

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSize(theme.FONT_PT + 2)
        self.sample_box = QPlainTextEdit(NO_SAMPLE)
        self.sample_box.setReadOnly(True)
        self.sample_box.setFont(mono)
        self.sample_title = QLabel("Sampled text")
        self.rows_label = QLabel()
        self.rows_label.setFont(mono)
        self.rows_label.setTextFormat(Qt.TextFormat.RichText)
        self.rows_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.rows_scroll = QScrollArea()
        self.rows_scroll.setWidget(self.rows_label)
        self.rows_scroll.setWidgetResizable(True)
        self.rows_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.rows_scroll.setFixedHeight(  # the header and three rows, no more: room for the loss
            4 * self.rows_label.fontMetrics().lineSpacing()
            + 2 * self.rows_scroll.frameWidth()
            + self.rows_scroll.horizontalScrollBar().sizeHint().height()
        )

        self.temperature_label.setBuddy(self.temperature_spin)
        self.controls_row.addWidget(self.log_check)
        self.controls_row.addStretch(1)
        self.controls_row.addWidget(self.temperature_label)
        self.controls_row.addWidget(self.temperature_spin)
        self.controls_row.addWidget(self.temperature_note)
        self.sample_group = QWidget()
        sample_layout = QVBoxLayout(self.sample_group)
        sample_layout.setContentsMargins(0, 0, 0, 0)
        sample_layout.addWidget(self.sample_title)
        sample_layout.addWidget(self.sample_box)
        top = QHBoxLayout()
        top.addWidget(self.view, 3)
        top.addWidget(self.sample_group, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addLayout(top, 1)
        layout.addWidget(self.rows_scroll)
        layout.addWidget(self.hover_label)
        self.task: str | None = None
        self._rows: list[tuple[str, list[str], list[str]]] = []
        self._arrange(None)

    @Slot(float)
    def _on_temperature(self, value: float) -> None:
        """Send a usable temperature on; say beside the field why another is refused."""
        try:
            check_temperature(value)
        except ConfigError as e:
            self.temperature_note.setText(str(e))
            self.temperature_note.show()
            return
        self.temperature_note.hide()
        self.temperature = value
        self.temperature_changed.emit(value)

    # -- drawing

    def redraw(self, snapshot: Snapshot) -> None:
        h = snapshot.history
        loss = np.where(h.loss > 0, h.loss, np.nan)  # a log axis cannot show 0
        self.loss_curve.setData(*envelope(h.step, loss))
        # the mean the presets quote: the curve ends at the number in the title
        self.mean_curve.setData(*envelope(h.step, running_mean(h.loss, RECENT_STEPS)))
        self.chance_loss = snapshot.chance_loss
        self.chance_line.setVisible(snapshot.chance_loss is not None)
        self._set_log(self.log_check.isChecked())
        self._fit_loss()
        last = f"step {snapshot.step}: {recent_loss(h):.4g}" if len(h) else "no steps yet"
        self.loss_plot.setTitle(  # the title is the legend
            f"{coloured('loss per step', theme.SKY)}, "
            f"{coloured(f'mean of the last {RECENT_STEPS}', theme.BLUE)} — {unbroken(last)}"
        )
        sample = snapshot.extras.get("sample")
        if self.sample_box.toPlainText() != (sample or NO_SAMPLE):  # keep the reader's place
            self.sample_box.setPlainText(sample or NO_SAMPLE)
        if sample and "temperature" in snapshot.extras:
            self.sample_title.setText(
                f"Sampled text (temperature {snapshot.extras['temperature']:g}, "
                f"step {snapshot.extras.get('sample_step', snapshot.step)})"
            )
        trace = snapshot.trace
        if trace is not self._drawn_trace:
            self._drawn_trace = trace
            self._draw_trace(trace)

    def _set_log(self, on: bool) -> None:
        if self.loss_plot.getAxis("left").logMode != on:
            self.loss_plot.setLogMode(y=on)
            self._fit_loss()
        if self.chance_loss is not None:
            self.chance_line.setValue(np.log10(self.chance_loss) if on else self.chance_loss)

    def _fit_loss(self) -> None:
        """Every step's loss and the chance level in view."""
        if self.snapshot is None:
            return
        h = self.snapshot.history
        chance = [] if self.chance_loss is None else [self.chance_loss]
        self.loss_ranger.fit(
            xs=[h.step[[0, -1]]] if len(h) else [],
            ys=[h.loss, chance],
            settled=self.snapshot.state != "running",
        )

    def _arrange(self, task: str | None) -> None:
        """Lay out the views the task needs: plots for regression, symbol rows otherwise."""
        self.task = task
        # Regression losses fall through decades; cross-entropies from ln V by a factor of a
        # few, where a log axis would have no labelled tick.
        self.log_check.setChecked(task in ("sine", "adding"))
        self._place_plots()
        self.marked.setVisible(task == "adding")
        self.rows_scroll.setVisible(task in ("copy", "charlm"))
        for w in (self.sample_group, self.temperature_label, self.temperature_spin):
            w.setVisible(task == "charlm")

    def _place_plots(self) -> None:
        """The loss in the first column and the task's plots in the second, one above the
        other; or, stacked, the loss in the first row and the task's plots side by side below."""
        for plot in (self.loss_plot, self.pred_plot, self.scatter_plot):
            if plot.scene() is not None:
                self.view.removeItem(plot)
        extra = {"sine": [self.pred_plot], "adding": [self.pred_plot, self.scatter_plot]}
        plots = extra.get(self.task, [])
        cells = [(self.loss_plot, 0, 0, 2)]
        cells += [(plot, 1, i, 2 // len(plots)) for i, plot in enumerate(plots)]
        for plot, major, minor, span in cells:
            if self.stacked:
                self.view.addItem(plot, row=major, col=minor, colspan=span)
            else:
                self.view.addItem(plot, row=minor, col=major, rowspan=span)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        stacked = self.view.width() < STACK_ASPECT * self.view.height()
        if stacked != self.stacked:
            self.stacked = stacked
            self._place_plots()

    def _draw_trace(self, trace: Trace | None) -> None:
        task = None if trace is None else trace.meta["task"]
        if task != self.task:
            self._arrange(task)
        self._rows = []
        if trace is None:
            return
        if task in ("sine", "adding"):
            t = np.arange(trace.T)
            width = theme.curve_width(trace.T)
            self.pred_curve.setData(t, trace.y_hat[0, :, 0], pen=theme.pen(theme.BLUE, width))
            dashed = theme.pen(theme.BLACK, width, Qt.PenStyle.DashLine)
            self.target_curve.setData(t, trace.y[0, :, 0], pen=dashed)
            marked = []
            if task == "adding":
                self.pred_plot.setTitle(
                    f"{coloured('ŷ<sub>t</sub>', theme.BLUE)}, "
                    f"{coloured('● marked', theme.ORANGE)}, their sum (dashed)"
                )
                marks = np.flatnonzero(trace.x_raw[0, :, 1] > 0)
                marked = trace.x_raw[0, marks, 0]
                self.marked.setData(marks, marked)
                scored = trace.loss_mask > 0  # (B, T)
                ys, ps = trace.y[..., 0][scored], trace.y_hat[..., 0][scored]
                shown = np.isfinite(ps)  # a diverged run predicts NaN: no point for those
                ys, ps = ys[shown], ps[shown]
                self.scatter.setData(ys, ps)
                self.scatter_plot.setTitle(
                    "ŷ vs target, scored steps"
                    + ("" if shown.all() else f" ({(~shown).sum()} ŷ not finite: not drawn)")
                )
                lo, hi = (min(ys.min(), ps.min()), max(ys.max(), ps.max())) if ys.size else (0, 1)
                self.diagonal.setData([lo, hi], [lo, hi])
                self.scatter_ranger.fit(xs=[ys, ps], ys=[ys, ps])
            else:
                self.pred_plot.setTitle(
                    f"{coloured('prediction ŷ<sub>t</sub>', theme.BLUE)} vs "
                    f"target {unbroken('y<sub>t</sub> = x<sub>t+1</sub>')} (dashed)"
                )
            self.pred_ranger.fit(
                ys=[trace.y_hat[0, :, 0], trace.y[0, :, 0], marked], x=timesteps(trace.T)
            )
        elif trace.meta["output_vocab"]:  # symbols; an opened model has no outputs to show
            self._rows = symbol_rows(trace)
        self.show_time(self.cursor.t)

    def show_time(self, t: int) -> None:
        self.cursor_line.setValue(t)
        if self._rows:
            self._show_rows(t)

    def _show_rows(self, t: int) -> None:
        width = max(len(name) for name, _, _ in self._rows) + 2
        lines = []
        for name, symbols, colours in self._rows:
            cells = [
                f'<span style="color:{c};{CURSOR_STYLE if i == t else ""}">{html.escape(s)}</span>'
                for i, (s, c) in enumerate(zip(symbols, colours, strict=True))
            ]
            lines.append(html.escape(name.ljust(width)) + "".join(cells))
        colours = self._rows[-1][2]
        right, scored = colours.count(theme.GREEN), len(colours) - colours.count(UNSCORED)
        header = f"t = {t}; scored steps right: {right}/{scored}"
        self.rows_label.setText(
            f'<pre style="margin:0">{html.escape(header)}\n' + "\n".join(lines) + "</pre>"
        )
        before = sum(len(s) for s in self._rows[0][1][:t])  # characters left of column t
        x = self.rows_label.fontMetrics().horizontalAdvance("M" * (width + before))
        self.rows_scroll.ensureVisible(x, 0, 60, 0)

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Over training steps, each step's loss and the running mean drawn; over t (the
        regression tasks), the prediction and the target of probe sequence 0."""
        tables = {}
        h = self.snapshot.history if self.snapshot is not None else None
        if h is not None and len(h):
            tables["steps"] = {
                "step": h.step,
                "loss": h.loss,
                f"mean loss of the last {RECENT_STEPS} steps": running_mean(h.loss, RECENT_STEPS),
            }
        y, y_hat = self.target_curve.yData, self.pred_curve.yData
        if self.task in ("sine", "adding") and y is not None and len(y):
            tables["time"] = {"t": np.arange(len(y)), "prediction ŷ": y_hat, "target y": y}
        return tables

    def animation_axes(self) -> tuple[str, ...]:
        return ("steps", "time")  # the loss curve first: what a slide of training shows

    # -- interaction

    def _line_dragged(self, line: pg.InfiniteLine) -> None:
        self.cursor.set(round(line.value()))

    def _hover(self, pos) -> None:
        lp, snap = self.loss_plot, self.snapshot
        if snap is not None and len(snap.history) and lp.sceneBoundingRect().contains(pos):
            h, x = snap.history, lp.vb.mapSceneToView(pos).x()
            i = int(np.clip(np.searchsorted(h.step, x - 0.5), 0, len(h) - 1))  # nearest step
            self.hover_label.setText(f"step {h.step[i]}:  loss = {h.loss[i]:.5g}")
        elif self.pred_plot.scene() and self.pred_plot.sceneBoundingRect().contains(pos):
            y, y_hat = self.target_curve.yData, self.pred_curve.yData
            if y is not None and len(y):
                x = self.pred_plot.vb.mapSceneToView(pos).x()
                t = int(np.clip(round(x), 0, len(y) - 1))
                self.hover_label.setText(f"t = {t}:  ŷ = {y_hat[t]:.4f},  y = {y[t]:.4f}")
