"""Gate weights: one layer's W_ih and W_hh split into their gates' blocks (core/gate_weights.py).

Top row, the input blocks W_ii, W_if, W_ig, W_io (H × I each; W_ir, W_iz, W_in for a GRU);
middle row, the recurrent blocks W_hi, W_hf, W_hg, W_ho (H × H), as heatmaps on one symmetric
colour scale, so that blocks compare at a glance; each title gives the block's Frobenius norm
‖W‖_F, its largest singular value σ₁ and, for the square recurrent blocks, its spectral radius
ρ. Bottom, every block's singular values σ_k, largest first, in its gate's colour (solid:
recurrent W_h·; dashed: input W_i·), with a line at σ = 1.

For a user's own model (File → Open model) this is the picture Netron cannot draw: which gate
reads the input hardest, which recurrent block could make gradients grow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from rnnviz.core.gate_weights import WeightBlock, gate_blocks
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.lab.spectrum import colour
from rnnviz.qt.plotkit import plain_axes, wrap_title
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:
    from rnnviz.core.train import Snapshot

MAX_GATES = 4  # the LSTM's; fewer columns are left empty


def block_title(b: WeightBlock) -> str:
    """'W<sub>if</sub>: ‖W‖<sub>F</sub> 1.2, σ₁ 0.8' (and ρ for a recurrent block)."""
    text = f"<b>W<sub>{b.source}{b.gate}</sub></b> ‖·‖<sub>F</sub> {b.frobenius:.3g}"
    if len(b.singular_values):
        text += f", σ₁ {b.singular_values[0]:.3g}"
    if b.radius is not None:
        text += f", ρ {b.radius:.3g}"
    return text


class GateWeightsPanel(Panel):
    title = "Gate weights"
    key = "gate_weights"
    needs_layers = True
    draws = ("trace",)
    info = (
        "The layer's weight matrices split into their gates' blocks, as torch stacks them: "
        "top, the input blocks W_ii, W_if, W_ig, W_io (LSTM; W_ir, W_iz, W_in for a GRU), "
        "each H × I; middle, the recurrent blocks W_hi, W_hf, W_hg, W_ho, each H × H (rows: "
        "the gate's units; columns: the inputs or the previous state's units), on one "
        "symmetric colour scale. Each title gives the Frobenius norm ‖W‖_F = √(Σ w²), the "
        "largest singular value σ₁ (the most any input vector is stretched) and, for a "
        "recurrent block, the spectral radius ρ = max |λ|. Bottom: every block's singular "
        "values σ_k, largest first (solid: recurrent; dashed: input), with σ = 1 dashed."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker("Layer and direction whose weights are shown")
        self.layer_combo.currentIndexChanged.connect(self._draw)
        self.controls_row.addStretch(1)
        self.hover_label = self.add_hint("Hover a block for a weight's value")

        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.block_plots: list[pg.PlotItem] = []  # 2 rows of MAX_GATES: W_i·, then W_h·
        self.images: list[pg.ImageItem] = []
        for row in range(2):
            for col in range(MAX_GATES):
                plot = wrap_title(self.view.addPlot(row=row, col=col))
                plot.invertY(True)  # row 0 (the first unit) at the top, as a matrix is written
                plot.setAspectLocked(True)
                plot.hideButtons()
                plot.setMenuEnabled(False)
                plain_axes(plot)
                image = pg.ImageItem(axisOrder="row-major")
                image.setColorMap(theme.cmap(theme.DIVERGING))
                plot.addItem(image)
                self.block_plots.append(plot)
                self.images.append(image)
        self.colorbar = pg.ColorBarItem(
            values=(-1, 1), interactive=False, colorMap=theme.cmap(theme.DIVERGING), width=12
        )
        self.colorbar.setImageItem(self.images)
        self.view.addItem(self.colorbar, row=0, col=MAX_GATES, rowspan=2)
        self.sv_plot = wrap_title(self.view.addPlot(row=2, col=0, colspan=MAX_GATES))
        self.sv_plot.setTitle("Singular values σ<sub>k</sub> of every block, largest first")
        self.sv_plot.setLabel("bottom", "k")
        plain_axes(self.sv_plot)
        self.sv_plot.addItem(
            pg.InfiniteLine(
                pos=1, angle=0, pen=theme.pen(theme.THRESHOLD, 1.5, Qt.PenStyle.DashLine)
            )
        )
        self.sv_curves: list[pg.PlotDataItem] = []
        self.view.scene().sigMouseMoved.connect(self._hover)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self.blocks: list[WeightBlock] = []

    # -- drawing

    def redraw(self, snapshot: Snapshot) -> None:
        self._draw()

    def _draw(self) -> None:
        trace = self.snapshot.trace if self.snapshot is not None else None
        key = self.layer_combo.currentData()
        self.blocks = (
            [] if trace is None or key is None else gate_blocks(trace.params, trace.cell, key)
        )
        G = len(self.blocks) // 2
        finite = [np.abs(b.weights[np.isfinite(b.weights)]) for b in self.blocks]
        top = max((float(a.max()) for a in finite if a.size), default=1.0) or 1.0
        for i, (plot, image) in enumerate(zip(self.block_plots, self.images, strict=True)):
            row, col = divmod(i, MAX_GATES)
            b = self.blocks[row * G + col] if col < G else None
            plot.setVisible(b is not None)
            if b is None:
                image.clear()
                continue
            image.setImage(b.weights, levels=(-top, top), autoLevels=False)
            plot.setTitle(block_title(b))
        self.colorbar.setLevels((-top, top))
        for curve in self.sv_curves:
            self.sv_plot.removeItem(curve)
        self.sv_curves = []
        for b in self.blocks:
            style = Qt.PenStyle.SolidLine if b.source == "h" else Qt.PenStyle.DashLine
            k = np.arange(1, len(b.singular_values) + 1)
            self.sv_curves.append(
                self.sv_plot.plot(k, b.singular_values, pen=theme.pen(colour(b.gate), None, style))
            )

    # -- export

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Each block as drawn (a row per unit of the gate, a column per input or previous
        unit), and every block's singular values by k (empty cells past a block's last)."""
        tables = {}
        for b in self.blocks:
            reads = "input" if b.source == "i" else "h_{t−1} unit"
            table = {"unit": np.arange(b.weights.shape[0])}
            table.update({f"{reads} {c}": b.weights[:, c] for c in range(b.weights.shape[1])})
            tables[b.name] = table
        if self.blocks:
            n = max(len(b.singular_values) for b in self.blocks)
            sv = {"k": np.arange(1, n + 1)}
            for b in self.blocks:
                sv[f"σ_k of {b.name}"] = np.pad(
                    b.singular_values, (0, n - len(b.singular_values)), constant_values=np.nan
                )
            tables["singular_values"] = sv
        return tables

    def animation_axes(self) -> tuple[str, ...]:
        return ()  # the weights hold still as t moves, and an opened model does not train

    # -- interaction

    def _hover(self, pos) -> None:
        G = len(self.blocks) // 2
        for i, plot in enumerate(self.block_plots):
            if not plot.isVisible() or not plot.sceneBoundingRect().contains(pos):
                continue
            row, col = divmod(i, MAX_GATES)
            b = self.blocks[row * G + col]
            p = plot.vb.mapSceneToView(pos)
            r, c = int(np.floor(p.y())), int(np.floor(p.x()))
            if 0 <= r < b.weights.shape[0] and 0 <= c < b.weights.shape[1]:
                source = "input" if b.source == "i" else "h_{t−1} unit"
                self.hover_label.setText(
                    f"{b.name}[{r}, {c}] = {b.weights[r, c]:.4g}  "
                    f"(unit {r} of the gate, {source} {c})"
                )
            return
