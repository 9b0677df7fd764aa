"""Attribution strip: the probe sentence with each word coloured by its share of the decision,
by integrated gradients (rnnviz.core.attribution) from the stated baseline, the <pad>
embedding (every word's input zero).

For two classes the colours always mean the same: towards 'positive' one way, towards
'negative' the other, whichever the model decided (the log-odds of one class is minus the
other's); with more classes, towards the class decided. One diverging scale, symmetric about
0, serves every run of a comparison, drawn one under another. The title says that the
attributions add up to f(x) − f(x′) (completeness), and how closely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from rnnviz.core.trace import Trace
from rnnviz.qt import theme
from rnnviz.qt.csv_tables import padded
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.text.char_units import fixed_font
from rnnviz.qt.panels.text.token_grid import TokenGrid
from rnnviz.qt.panels.words.evidence import NO_DECISION, WAITING, sentence_runs, shown_class
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

SWATCHES = 11  # colours in the heading's scale
STRIP_HEIGHT = 150  # px: a run's words and values at most (its font grows to fill it)


def towards(trace: Trace) -> tuple[np.ndarray, int]:
    """Sequence 0's attributions towards one class (T,), and that class: the shown class for
    two classes (the sign turned where the model decided the other), else the decided one."""
    vocab = trace.meta["output_vocab"]
    decided = int(trace.meta["attribution_target"]["class"])
    values = np.asarray(trace.attribution, dtype=np.float64)
    if len(vocab) != 2:
        return values, decided
    shown = shown_class(list(vocab))
    return (values if decided == shown else -values), shown


class AttributionPanel(Panel):
    title = "Attribution"
    key = "attribution"
    draws = ("trace", "runs")
    info = (
        "Each word's contribution to the model's decision about the probe sentence, by "
        "integrated gradients (Sundararajan, Taly & Yan 2017): A_s = (x_s − x′_s) · "
        "∫₀¹ ∂f(x′ + α(x − x′))/∂x_s dα, with f the log-odds of a class at the last word and "
        "the baseline x′ every word's input zero (the <pad> embedding). The attributions add "
        "up to f(x) − f(x′) (completeness; the title says how closely). Colours: towards one "
        "class one way, towards the other the other way, on one scale for every run; a "
        "comparison's runs one under another. Hover a word for its value."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.controls_row.addStretch(1)
        self.heading = QLabel(WAITING)  # part of the figure: what, the scale and its classes
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setWordWrap(True)
        # The runs' strips scroll together: in a short dock each strip keeps all its lines
        # (a strip of its own height showed one line and half the next behind a scrollbar).
        runs = QWidget()
        self.runs_box = QVBoxLayout(runs)
        self.runs_box.setContentsMargins(0, 0, 0, 0)
        self.runs_box.addStretch(1)
        self.runs_scroll = QScrollArea()
        self.runs_scroll.setWidget(runs)
        self.runs_scroll.setWidgetResizable(True)
        self.runs_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.runs_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.hover_label = self.add_hint("Hover a word for its attribution.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.heading)
        layout.addWidget(self.runs_scroll, 1)
        layout.addWidget(self.hover_label)
        self._map = theme.cmap(theme.DIVERGING)
        self.runs: list[tuple[str, Trace]] = []
        self.values: list[np.ndarray | None] = []  # per run, towards `self.target`
        self.scale = 1.0  # |A| at either end of the colour scale
        self.target = 0
        self.grids: list[TokenGrid] = []
        self.titles: list[QLabel] = []
        self.runs_scroll.viewport().installEventFilter(self)  # the room: _fit_strips

    def fill_of(self, value: float) -> QColor:
        """The colour of attribution `value` on the symmetric scale ±self.scale: blue towards
        the class, red against it (the diverging map read from its blue end)."""
        return self.fills_of(np.array([value]))[0]

    def fills_of(self, values: np.ndarray) -> list[QColor]:
        """fill_of for every value at once (one look-up in the map, not one a word)."""
        return self._map.map(0.5 - 0.5 * np.clip(values / self.scale, -1, 1), mode="qcolor")

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        if snapshot.trace is None:
            return
        self.runs = sentence_runs(snapshot)
        first = self.runs[0][1]
        self.values = []
        for _, tr in self.runs:
            if tr.attribution is None:
                self.values.append(None)
            else:
                values, self.target = towards(tr)
                self.values.append(values)
        done = [v[np.isfinite(v)] for v in self.values if v is not None]
        top = max((float(np.abs(v).max()) for v in done if v.size), default=0.0)
        self.scale = top if top > 0 else 1.0
        self._heading(first, bool(done))
        if not done:  # no sentence to show: the heading says why
            self.runs, self.values = [], []
        while len(self.grids) < len(self.runs):
            title, grid = QLabel(), TokenGrid()
            title.setTextFormat(Qt.TextFormat.RichText)
            title.setWordWrap(True)
            grid.setFont(fixed_font())
            grid.hovered.connect(self._hover)
            grid.installEventFilter(self)  # its height follows its width: _fit_strips
            at = self.runs_box.count() - 1  # above the stretch
            self.runs_box.insertWidget(at, title)
            self.runs_box.insertWidget(at + 1, grid)
            self.titles.append(title)
            self.grids.append(grid)
        for i, (title, grid) in enumerate(zip(self.titles, self.grids, strict=True)):
            title.setVisible(i < len(self.runs))
            grid.setVisible(i < len(self.runs))
            if i < len(self.runs):
                self._draw_run(self.runs[i], self.values[i], title, grid)
        self._fit_strips()

    def _heading(self, first: Trace, any_values: bool) -> None:
        if not any_values:
            why = first.meta.get("attribution", NO_DECISION).removeprefix("skipped: ")
            self.heading.setText(f"No attribution: {why}.")
            return
        vocab = first.meta["output_vocab"]
        scale = "".join(
            f'<span style="background-color:{fill.name()}">&nbsp;&nbsp;</span>'
            for fill in self.fills_of(np.linspace(-self.scale, self.scale, SWATCHES))
        )
        c = vocab[self.target]
        against = f"towards '{vocab[1 - self.target]}'" if len(vocab) == 2 else f"against '{c}'"
        step = first.meta.get("step")
        at = "" if step is None else f", step {step}"
        # a learned embedding holds <pad> at 0; a one-hot <pad> is not 0, so say only "0"
        pad = " (the &lt;pad&gt; embedding)" if first.meta.get("encoder") == "embedding" else ""
        self.heading.setText(
            f"<b>Each word's share of the decision</b> (probe sentence{at}): integrated "
            f"gradients of the log-odds of '{c}' from the baseline x′ = 0, every word's input "
            f"zero{pad}.<br>{against} −{self.scale:.2g} {scale} +{self.scale:.2g} towards '{c}'"
        )

    def _draw_run(
        self, run: tuple[str, Trace], values: np.ndarray | None, title: QLabel, grid: TokenGrid
    ) -> None:
        label, tr = run
        n = int(tr.input_mask[0].sum())
        words = [str(w) for w in tr.tokens[0, :n]]
        name = f"<b>{label}</b>: " if label else ""
        if values is None:
            grid.set_cells([words], [[None] * n])
            title.setText(f"{name}{tr.meta.get('attribution', 'not recorded')}")
            return
        grid.set_cells([words, [f"{v:+.2f}" for v in values[:n]]], [[None] * n] * 2)
        target = tr.meta["attribution_target"]
        vocab = tr.meta["output_vocab"]
        delta = target["f_input"] - target["f_baseline"]
        total = float(np.nansum(tr.attribution))
        off = abs(total - delta) / max(abs(delta), 1e-12)
        title.setText(
            f"{name}decides '{vocab[target['class']]}'. Completeness: Σ A = {total:.3g}, "
            f"f(x) − f(x′) = {delta:.3g} (off by {off:.1%}; {target['steps']} steps)"
        )
        fills = self.fills_of(values[:n])
        grid.set_fills([fills, fills])

    def _fit_strips(self) -> None:
        """Every wrapped line of each strip whole; where the runs leave room, the strips share
        it, up to STRIP_HEIGHT each, for the words to grow (a sentence is a strip, not a page)."""
        shown = list(zip(self.titles, self.grids, strict=True))[: len(self.runs)]
        if not shown:
            return
        gap = self.runs_box.spacing()
        titles = sum(t.heightForWidth(t.width()) + 2 * gap for t, _ in shown)
        each = (self.runs_scroll.viewport().height() - titles) // len(shown)
        for _, grid in shown:
            height = max(grid.whole_height(), min(STRIP_HEIGHT, each))
            if grid.minimumHeight() != height or grid.maximumHeight() != height:
                grid.setFixedHeight(height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Resize:
            self._fit_strips()  # a new width wraps the words anew; a new height shares it anew
        return super().eventFilter(watched, event)

    def _hover(self, t: int) -> None:
        lines = []
        vocab = self.runs[0][1].meta["output_vocab"] if self.runs else ()
        for (label, tr), values in zip(self.runs, self.values, strict=True):
            if values is None or not 0 <= t < int(tr.input_mask[0].sum()):
                continue
            lines.append(f"{label + ': ' if label else ''}{values[t]:+.3g}")
        if lines:
            word = self.runs[0][1].tokens[0, t]
            self.hover_label.setText(
                f"'{word}' towards '{vocab[self.target]}': " + ";  ".join(lines)
            )

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Each word's attribution A_t towards the class of the colour scale, per run (in
        log-odds: they add up to f(x) − f(x′))."""
        if not self.runs or all(v is None for v in self.values):
            return {}
        first = self.runs[0][1]
        n = int(first.input_mask[0].sum())
        c = first.meta["output_vocab"][self.target]
        table = {"t": np.arange(n), "word": np.array([str(w) for w in first.tokens[0, :n]])}
        for (label, tr), values in zip(self.runs, self.values, strict=True):
            if values is not None:
                m = int(tr.input_mask[0].sum())
                table[f"A_t towards '{c}' (log-odds){', ' + label if label else ''}"] = values[:m]
        return {"time": padded(table)}

    def show_time(self, t: int) -> None:
        for (_, tr), grid in zip(self.runs, self.grids, strict=False):
            grid.mark(t if 0 <= t < int(tr.input_mask[0].sum()) else -1)
