"""What joins an encoder-decoder's two blocks in the unrolled graph: the bridge and attention.

The bridge: the encoder's final state h_{N−1} of each layer (forward direction) is the start
state of the decoder's layer, drawn as an edge from the encoder's last column into the
decoder's first (dashed where the window leaves steps out between them). Without attention it
is all the decoder ever gets from the input: the bottleneck, so labelled.

Attention: the context vector of decoder step t, c_t = Σ_j α_{t,j} h_j, drawn as a fan of
edges from the encoder's top-layer states h_j of the window into the node c_t, each as wide
and as dark as its weight α_{t,j}, the weight written above h_j. The edges rise from h_j
into the free space above the encoder and come down into c_t from above the decoder's
context row, so that they cross no node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsPathItem

from rnnviz.qt import theme
from rnnviz.qt.panels.core.graph_style import EDGE_GREY, HALF_W, pen

if TYPE_CHECKING:
    from rnnviz.core.trace import Trace
    from rnnviz.qt.panels.core.graph import UnrolledGraphPanel

FAN_PX = 8.0  # the width of an edge of weight 1


def decoder_input(trace: Trace, t: int) -> str:
    """The token decoder step t reads: the previous target (teacher forcing), <bos> first."""
    return str(trace.tokens_out[0, t - 1]) if t else "<bos>"


class Links:
    """The bridge edges and the attention fan of a panel's encoder and decoder blocks: made
    when the panel builds its nodes, moved and recoloured by `show` at every cursor move."""

    def __init__(self, panel: UnrolledGraphPanel) -> None:
        self.panel = panel
        rows = panel.rows
        self.bridges = []  # (encoder row, decoder row, line, arrowhead)
        for d, row in enumerate(rows):
            if row.block != 1 or row.kind not in ("h", "c"):
                continue
            source = [
                e
                for e, enc in enumerate(rows)
                if enc.block == 0
                and enc.kind == row.kind
                and enc.layer.layer == row.layer.layer
                and not enc.reverse
            ]
            if source:  # an encoder without a cell state gives the decoder's c_0 = 0
                line = panel._add(QGraphicsLineItem(), 1)
                arrow = panel._add(pg.ArrowItem(angle=180, headLen=9, tailLen=None, pen=None), 1)
                self.bridges.append((source[0], d, line, arrow))
        top = max(rows[e].y for e, _, _, _ in self.bridges) if self.bridges else 0
        attention = panel.trace.attn is not None
        self.note = pg.TextItem(
            "bottleneck" if not attention else "start state", color=theme.BLACK, anchor=(0.5, 1)
        )
        panel._add(self.note, 4, (panel.x0[1] - 1, top + panel.half_h))
        self.ctx = next((r for r, row in enumerate(rows) if row.kind == "ctx"), None)
        self.top = max((r for r, row in enumerate(rows) if row.block == 0), key=lambda r: rows[r].y)
        self.fan: list[tuple[QGraphicsPathItem, pg.TextItem]] = []
        for _ in range(panel.counts[0] if attention else 0):
            line = panel._add(QGraphicsPathItem(), 1.5)
            weight = pg.TextItem(color=theme.BLACK, anchor=(1, 1))
            self.fan.append((line, panel._add(weight, 4)))

    def show(self, t: int) -> None:
        """Place the bridge and the fan of decoder step t (under the time cursor)."""
        p = self.panel
        enc, dec = p.halves
        (w_enc, w_dec), (x_enc, x_dec), hh = p.windows, p.x0, p.half_h
        joined = w_enc.stop == enc.steps and w_dec.start == 0  # no step left out between
        for e, d, line, arrow in self.bridges:
            a, b = (x_enc + len(w_enc) - 1 + HALF_W, p.rows[e].y), (x_dec - HALF_W, p.rows[d].y)
            line.setLine(*a, *b)
            arrow.setPos(*b)
            colour = QColor(EDGE_GREY)
            if p.backward and joined:  # the gradient it carries back: the decoder's at step 0
                colour = p.colour_of(p.values[d][0])
            line.setPen(pen(colour.rgb(), 4 if p.backward and joined else 2, not joined))
            arrow.setBrush(QBrush(colour))
        if self.ctx is None:
            return
        i = dec.at(t)
        alpha = p.trace.attn[0, i, enc.start + w_enc.start : enc.start + w_enc.stop]  # (n,)
        x, y = x_dec + i - w_dec.start - HALF_W / 2, p.rows[self.ctx].y  # into c_t's top
        over = y + 0.5  # the fan's height: between the context row and the outputs
        bottom = p.rows[self.top].y + hh
        for c, ((line, weight), a) in enumerate(zip(self.fan, alpha, strict=True)):
            path = QPainterPath(QPointF(x_enc + c, bottom))
            path.cubicTo(QPointF(x_enc + c, over), QPointF(x - 0.5, over), QPointF(x, y + hh))
            line.setPath(path)
            colour = QColor(theme.CURSOR)
            colour.setAlphaF(0.25 + 0.75 * float(a))
            fan_pen = QPen(colour, 1 + FAN_PX * float(a))
            fan_pen.setCosmetic(True)
            fan_pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            line.setPen(fan_pen)
            weight.setText(f"α={a:.2f}" if a >= 0.005 else "α≈0")
            weight.setPos(x_enc + c - 0.03, bottom + 0.02)
