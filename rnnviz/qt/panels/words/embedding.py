"""The vocabulary's map: every symbol's input vector projected to 2-D by PCA, as a labelled
point, moving live as training moves the vectors (rnnviz.core.embedding_map).

The vectors are the learned embedding's rows, or for one-hot input the columns of layer 0's
input weights (the title says which). Each axis says the share of the variance it explains.
The axes are kept in the orientation of the previous update, so a point moves only as far as
its vector does. Hover a word: its nearest neighbours by cosine (in the full space, not the
picture) are ringed and listed. Works for any vocabulary: words, characters, notes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rnnviz.core.embedding_map import Projection, SymbolVectors, nearest, project, symbol_vectors
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.words.point_labels import PointLabels
from rnnviz.qt.plotkit import still_plot
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

WAITING = "Waiting for the first recording of the model…"
NO_VOCABULARY = "This panel needs a task whose inputs are symbols: words, characters or notes."
NEIGHBOURS = 5
PICK = 14.0  # px: how near the mouse a point must be to be hovered
MARGIN = 0.08  # of the points' extent, around them when the view must move
LABELLED = 80  # a larger vocabulary (notes) labels only the probe sequence's symbols
UNSEEN = {" ": "␣", "\n": "⏎", "\t": "⇥"}  # characters that print as nothing


def symbol_labels(vocab: list[str]) -> list[str]:
    """What each symbol's point is labelled: whitespace made visible, <eos> as ⟨eos⟩ (a text
    item reads < as the start of a tag)."""
    return [UNSEEN.get(s, s).replace("<", "⟨").replace(">", "⟩") for s in vocab]


class EmbeddingPanel(Panel):
    title = "Embedding"
    key = "embedding"
    info = (
        "Every symbol of the vocabulary as the vector the first layer reads for it: the "
        "learned embedding's row, or for one-hot input the column of layer 0's input weights "
        "W_ih (what W_ih e_v adds for symbol v). The vectors are projected onto their first "
        "two principal components (PCA); each axis says the share of the variance it "
        "explains. Words used alike drift together as training goes on; the axes keep their "
        "orientation between updates. Hover a symbol: its nearest neighbours by cosine "
        "similarity in the full space are ringed and listed. <pad>, whose vector is 0, is "
        "left out."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.controls_row.addStretch(1)
        self.note = QLabel(WAITING)
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hover_label = self.add_hint("Hover a symbol to see its nearest neighbours.")
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.font = QFont()
        self.font.setPointSize(theme.FONT_PT)
        self.plot = still_plot(self.view.addPlot(), self.font)
        self.points = self.plot.plot(
            pen=None, symbol="o", symbolSize=6, symbolBrush=theme.BLUE, symbolPen=None
        )
        self.rings = self.plot.plot(
            pen=None, symbol="o", symbolSize=16, symbolBrush=None, symbolPen=theme.pen("k", 2)
        )
        self.labels = PointLabels(self.font)  # no ground: it would hide points
        self.plot.addItem(self.labels, ignoreBounds=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self.view.setVisible(False)
        self.vocab: list[str] = []
        self.vectors: SymbolVectors | None = None
        self.projection: Projection | None = None
        self.view.scene().sigMouseMoved.connect(self._hover)

    # -- data

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        vocab = trace.meta.get("input_vocab")
        vectors = symbol_vectors(trace.params, len(vocab)) if vocab else None
        if vectors is None:
            self.note.setText(NO_VOCABULARY)
            self.note.setVisible(True)
            self.view.setVisible(False)
            self.vectors = self.projection = None
            return
        self.note.setVisible(False)
        self.view.setVisible(True)
        same = self.vectors is not None and self.vectors.vectors.shape == vectors.vectors.shape
        previous = self.projection.axes if same and self.projection is not None else None
        self.vocab, self.vectors = [str(v) for v in vocab], vectors
        self.projection = p = project(vectors.vectors, previous)
        step = trace.meta.get("step")
        at = "" if step is None else f", step {step}"
        self.plot.setTitle(f"{len(vocab)} symbols: {vectors.source}, by PCA{at}")
        for k, side in enumerate(("bottom", "left")):
            label = f"axis {k + 1} ({p.explained[k]:.0%} of the variance)"
            if self.plot.getAxis(side).labelText != label:  # else the axis lays out again
                self.plot.setLabel(side, label)
        keep = np.isfinite(p.points[:, 0])
        self.points.setData(p.points[keep, 0], p.points[keep, 1])
        labelled = np.ones(len(vocab), bool)
        if len(vocab) > LABELLED:  # too many to read: the symbols of the probe sequence
            labelled[:] = False
            labelled[np.unique(np.asarray(trace.x_raw[0], dtype=np.int64))] = True
            self.plot.setTitle(
                f"{len(vocab)} symbols: {vectors.source}, by PCA{at} (labelled: those of the "
                f"probe sequence)"
            )
        self._place_labels(p.points, labelled)
        self._hold_range(p.points[keep])
        self.rings.setData([], [])

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Each symbol's place on the map: its id, itself, its two coordinates (empty for a
        zero vector, which the map leaves out)."""
        p = self.projection if self.vectors is not None else None
        if p is None:
            return {}
        table = {"id": np.arange(len(self.vocab)), "symbol": np.array(self.vocab)}
        for k in range(2):
            table[f"axis {k + 1} ({p.explained[k]:.0%} of the variance)"] = p.points[:, k]
        return {"symbols": table}

    def _place_labels(self, points: np.ndarray, labelled: np.ndarray) -> None:
        """Label the symbols where `labelled` (those with a point)."""
        names = symbol_labels(self.vocab)
        shown = np.flatnonzero(labelled & np.isfinite(points[:, 0]))
        self.labels.set_labels([names[i] for i in shown], points[shown])

    def _hold_range(self, points: np.ndarray) -> None:
        """Move the view only when a point leaves it, or when the points fill under a third
        of it: the picture holds still while the words drift."""
        if not len(points):
            return
        lo, hi = points.min(0), points.max(0)
        span = np.maximum(hi - lo, 1e-9)
        (x0, x1), (y0, y1) = self.plot.vb.viewRange()
        inside = lo[0] >= x0 and hi[0] <= x1 and lo[1] >= y0 and hi[1] <= y1
        roomy = span[0] < (x1 - x0) / 3 or span[1] < (y1 - y0) / 3
        if not inside or roomy:
            pad = MARGIN * span
            self.plot.setRange(
                xRange=(lo[0] - pad[0], hi[0] + 3 * pad[0]),  # labels run to the right
                yRange=(lo[1] - pad[1], hi[1] + 2 * pad[1]),
                padding=0,
            )

    # -- interaction

    def hovered_symbol(self, pos) -> int | None:
        """The symbol whose point is within PICK pixels of scene position `pos`."""
        p = self.projection
        if p is None or not self.plot.sceneBoundingRect().contains(pos):
            return None
        vb = self.plot.vb
        m = vb.mapSceneToView(pos)
        pw, ph = vb.viewPixelSize()
        d = np.hypot((p.points[:, 0] - m.x()) / pw, (p.points[:, 1] - m.y()) / ph)
        d = np.where(np.isfinite(d), d, np.inf)
        v = int(np.argmin(d))
        return v if d[v] < PICK else None

    def show_neighbours(self, v: int) -> None:
        """Ring symbol v's nearest neighbours by cosine and list them."""
        near = nearest(self.vectors.vectors, v, NEIGHBOURS)
        pts = self.projection.points[[j for j, _ in near]] if near else np.zeros((0, 2))
        self.rings.setData(pts[:, 0], pts[:, 1])
        listed = ", ".join(f"'{self.vocab[j]}' {c:.2f}" for j, c in near)
        self.hover_label.setText(f"'{self.vocab[v]}': nearest by cosine {listed}")

    def _hover(self, pos) -> None:
        v = self.hovered_symbol(pos)
        if v is not None:
            self.show_neighbours(v)
