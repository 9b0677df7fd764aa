"""Connectivity: which earlier inputs a prediction depends on, as in Madsen (2019), "Visualizing
memorization in RNNs" (Distill), for every run side by side.

Pick a step t (hover a symbol, or move the time cursor): every input x_s of sequence 0 is
shaded by C[t, s] = ‖∂ ln p_t(y_t) / ∂x_s‖ (rnnviz.core.connectivity), as a share of the
largest in that row, white 0 to dark 1; t itself is outlined. A model that uses only the last
few symbols lights up just before t; one that remembers lights up far back. A comparison
preset's runs (RNN, LSTM, GRU) are drawn one under the other, the same t in each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rnnviz.core.protocol import CONNECTIVITY_UNWATCHED
from rnnviz.core.trace import Trace
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.text.char_units import fixed_font
from rnnviz.qt.panels.text.guesses import (
    NEEDS_SYMBOLS,
    data_steps,
    input_labels,
    predicts_next,
    symbol_task,
)
from rnnviz.qt.panels.text.note_stack import NoteStack
from rnnviz.qt.panels.text.token_grid import TokenGrid, ramp, shade, swatches
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

SYMBOL = "‖∂ ln p<sub>t</sub>(y<sub>t</sub>) / ∂x<sub>s</sub>‖"
REACH = 0.1  # an input this share of the largest still counts as used


def row_shares(C: np.ndarray | None, t: int) -> np.ndarray | None:
    """Row t of C as shares of its largest entry (T,), or None without a connectivity;
    a row of zeros (or not finite) stays zero."""
    if C is None or not 0 <= t < len(C):
        return None
    row = np.nan_to_num(np.asarray(C[t], dtype=np.float64), nan=0.0, posinf=0.0)
    top = row.max()
    return row / top if top > 0 else np.zeros_like(row)


def reach(shares: np.ndarray, t: int) -> int:
    """How many steps before t the earliest input with at least REACH of the row's largest
    lies (0: only x_t itself)."""
    strong = np.flatnonzero(shares[: t + 1] >= REACH)
    return t - int(strong[0]) if len(strong) else 0


def reach_ahead(shares: np.ndarray, t: int) -> int:
    """How many steps after t the latest input with at least REACH of the row's largest lies
    (0 for a forward model: its prediction at t cannot depend on a later input)."""
    strong = np.flatnonzero(shares[t + 1 :] >= REACH)
    return int(strong[-1]) + 1 if len(strong) else 0


class ConnectivityPanel(Panel):
    title = "Connectivity"
    key = "connectivity"
    draws = ("trace", "runs")
    info = (
        "Which earlier inputs the prediction at step t depends on (Madsen 2019, Distill, "
        "“Visualizing memorization in RNNs”): every input x_s of the probe sequence is shaded "
        "by C[t, s] = ‖∂ ln p_t(y_t) / ∂x_s‖, the gradient of the log-probability of the "
        "true next symbol y_t with respect to the input (its one-hot vector or embedding), "
        "as a share of the largest in the row (white 0, dark 1). Hover a symbol, or move the "
        "time cursor, to choose t. A model with a short memory lights up only just before t; "
        "a long memory reaches back. The runs of a comparison are drawn one under another."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.controls_row.addStretch(1)
        self.hover_label = self.add_hint("Hover a symbol to see what its prediction depends on.")
        runs = QWidget()  # one title and grid per run
        self.runs_box = QVBoxLayout(runs)
        self.runs_box.setContentsMargins(0, 0, 0, 0)
        self.stack = NoteStack(
            runs, heading=True, clear_right=self.controls_row.contentsMargins().right()
        )
        self.note = self.stack.note
        self.heading = self.stack.heading  # t, the symbol, the colour scale
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.hover_label)
        self._ramp = ramp(theme.VERMILION)
        self.runs: list[tuple[str, Trace]] = []  # (label, trace) drawn, this run first
        self.grids: list[TokenGrid] = []
        self.titles: list[QLabel] = []
        self.query = 0  # the step t whose prediction is explained

    def fill_of(self, share: float) -> QColor | None:
        return shade(self._ramp, share)

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        if not symbol_task(trace):
            self.runs = []
            self.stack.show_note(NEEDS_SYMBOLS)
            return
        self.stack.show_figure()
        runs = [(r.label, r.trace) for r in snapshot.runs if r.trace is not None]
        self.runs = runs or [("", trace)]
        while len(self.grids) < len(self.runs):
            title, grid = QLabel(), TokenGrid()
            title.setTextFormat(Qt.TextFormat.RichText)
            grid.setFont(fixed_font())
            grid.hovered.connect(self._hover)
            self.runs_box.addWidget(title)
            self.runs_box.addWidget(grid, 1)
            self.titles.append(title)
            self.grids.append(grid)
        for i, (title, grid) in enumerate(zip(self.titles, self.grids, strict=True)):
            title.setVisible(i < len(self.runs))
            grid.setVisible(i < len(self.runs))
            if i < len(self.runs):
                run = self.runs[i][1]
                labels = input_labels(run)[: data_steps(run)]
                grid.set_cells([labels], [[None] * len(labels)])
        self._colour()

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Each run's whole connectivity C (the panel shades row t of it, t the cursor): a
        row per input step s with its symbol, a column per prediction step t. Tables are
        named by run ("run1", …) where a comparison has several."""
        tables = {}
        for i, (_, trace) in enumerate(self.runs):
            if trace.connectivity is None:
                continue
            n = data_steps(trace)
            C = np.asarray(trace.connectivity, dtype=np.float64)[:n, :n]  # [t, s]
            table = {"s": np.arange(n), "input x_s": np.array(input_labels(trace)[:n])}
            table.update({f"‖∂ ln p_t(y_t)/∂x_s‖ for t = {t}": C[t] for t in range(n)})
            tables["matrix" if len(self.runs) == 1 else f"run{i + 1}"] = table
        return tables

    def show_time(self, t: int) -> None:
        self.query = t
        self._colour()

    def _hover(self, t: int) -> None:
        if t != self.query:
            self.query = t
            self._colour()

    def _colour(self) -> None:
        """Shade every run's inputs by row `query` of its connectivity."""
        if not self.runs:
            return
        t = self.query
        step = self.runs[0][1].meta.get("step")
        at = "" if step is None else f", step {step}"
        scale = swatches(self._ramp[:: len(self._ramp) // 10])
        self.heading.setText(
            f"<b>What the prediction at t = {t} depends on</b> (sequence 0{at}): each input "
            f"x<sub>s</sub> shaded by {SYMBOL} as a share of the row's largest: 0 {scale} 1"
        )
        lines = []
        # where a run reads the sentence backwards too, every run says how far ahead it reaches
        two_way = any(trace.meta.get("bidirectional") for _, trace in self.runs)
        for (label, trace), title, grid in zip(self.runs, self.titles, self.grids, strict=False):
            shares = row_shares(trace.connectivity, t)
            name = f"<b>{label}</b>: " if label else ""
            if shares is None:
                why = trace.meta.get("connectivity", "not recorded")
                if why == CONNECTIVITY_UNWATCHED:  # the window has asked for it: coming next
                    why = "recording…"
                title.setText(f"{name}connectivity {why}")
                grid.set_fills([[None] * grid.columns])
            else:
                row = np.asarray(trace.connectivity[t], dtype=np.float64)
                s = int(np.argmax(row))
                reaches = f"reaches {reach(shares, t)} back"
                if two_way:
                    reaches += f" and {reach_ahead(shares, t)} ahead"
                y = trace.meta["output_vocab"][int(trace.y[0, t])]
                when = "after" if predicts_next(trace) else "at"
                title.setText(
                    f"{name}predicting '{y}' {when} t = {t}: largest {SYMBOL} = {row[s]:.3g} at "
                    f"s = {s}; {reaches} (≥ {REACH:.0%} of the largest)"
                )
                grid.set_fills([[self.fill_of(v) for v in shares[: grid.columns]]])
                lines.append(f"{label or 'this run'}: largest at s = {s}, {reaches}")
            grid.mark(t if 0 <= t < grid.columns else -1)
        self.hover_label.setText(f"t = {t}: " + ";  ".join(lines) if lines else "")
