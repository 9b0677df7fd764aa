"""The cliff: why exploding gradients throw training far away, and how norm clipping helps.

Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural networks",
section 2.3: a network of one unit, x_t = w σ(x_{t−1}) + b with x_0 = 0.5, trained so that
σ(x_50) = 0.7, has the error E(w, b) = (σ(x_50) − 0.7)². For w > 4 the map has two stable
fixed points, and which one x_t settles into flips along a line in (w, b): there E jumps
from (0 − 0.7)² to (1 − 0.7)², a near-vertical wall where the gradient explodes. Gradient
descent that reaches the wall takes one enormous step and is thrown onto a flat plateau far
away; with the gradient rescaled to the threshold θ whenever ‖g‖ > θ (Pascanu's algorithm 1)
the same step keeps its direction but is at most lr·θ long.

The panel draws log₁₀ E over a grid of (w, b) with contour lines (bunched contours are the
wall), and animates both descents from a start point the user drops by clicking. It does not
depend on training: the surface is computed once, in numpy, when the panel first needs it
(cliff_surface.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rnnviz.core.analysis import DescentPath, cliff_descent, cliff_error
from rnnviz.qt import theme
from rnnviz.qt.csv_tables import padded
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.lab.cliff_surface import (
    B_RANGE,
    DEFAULT_LR,
    DEFAULT_START,
    DEFAULT_STEPS,
    DEFAULT_THRESHOLD,
    GRID,
    W_RANGE,
    contour_lines,
    error_surface,
    step_lengths,
    wall_at,
)
from rnnviz.qt.plotkit import coloured, sci
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:
    from rnnviz.core.train import Snapshot

E_FLOOR = 1e-12  # log10 needs E > 0; the grid's smallest E is ~1e-8
LEVELS = (-4.0, float(np.log10(0.5)))  # colour range of log10 E: valley ... lower plateau
# Log10 E of the contour lines: the valley's sides, then four levels that all run along the
# wall, where E steps from ~0.01 to 0.49 within one grid cell.
CONTOURS = (-3.0, -2.0, -1.5, -1.0, -0.8, -0.6, -0.4)
FRAME_MS = 60  # one descent step per frame
WALL_LABEL_W = 8.0  # where along the wall its label sits
DRAW_LIMIT = 1e4  # coordinates drawn beyond ±this are clamped (an exploded step can be 1e20)


class CliffPanel(Panel):
    title = "The cliff (Pascanu et al. 2013)"
    key = "cliff"
    draws = ()
    info = (
        "The error surface of the one-unit recurrent network x_t = w·σ(x_{t−1}) + b, x_0 = 0.5, "
        "with E(w, b) = (σ(x_50) − 0.7)² (Pascanu, Mikolov & Bengio 2013, §2.3), coloured by "
        "log₁₀ E; bunched contour lines are the wall, where E jumps and ∂E/∂(w, b) explodes. "
        "Click the surface to drop a start point: gradient descent θ ← θ − lr·g runs from it "
        "twice, without clipping and with norm clipping (g ← θ_c·g/‖g‖ when ‖g‖ > θ_c). "
        "Unclipped, the step at the wall is huge and throws the weights onto a flat plateau "
        "far away; clipped, it keeps its direction and is at most lr·θ_c long."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(3)
        self.lr_spin.setRange(0.001, 20.0)
        self.lr_spin.setSingleStep(0.1)
        self.lr_spin.setValue(DEFAULT_LR)
        self.lr_spin.setToolTip("Learning rate of plain gradient descent")
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setRange(0.01, 100.0)
        self.threshold_spin.setSingleStep(0.1)
        self.threshold_spin.setValue(DEFAULT_THRESHOLD)
        self.threshold_spin.setToolTip("Clip threshold θ: g ← θ·g/‖g‖ when ‖g‖ > θ")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 500)
        self.steps_spin.setValue(DEFAULT_STEPS)
        self.steps_spin.setToolTip("Number of descent steps")
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Animate the descent from the start point")
        self.play_button.clicked.connect(self.toggle_play)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to step 0")
        self.reset_button.clicked.connect(self.reset_animation)
        for spin in (self.lr_spin, self.threshold_spin, self.steps_spin):
            spin.setKeyboardTracking(False)  # one recomputation per value, not per keystroke
            spin.valueChanged.connect(self._settings_changed)
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.hover_label = self.add_hint(
            "Click the surface to start descent there; hover for E(w, b)"
        )
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.advance)

        self.tick_font = QFont()
        self.tick_font.setPointSize(theme.FONT_PT)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        plot = self.plot = self.view.addPlot()
        # Short: a pyqtgraph title sets its plot's minimum width (the hover label says "click").
        plot.setTitle(
            "error E = (σ(x<sub>50</sub>) − 0.7)², x<sub>t</sub> = w σ(x<sub>t−1</sub>) + b"
        )
        plot.setLabel("bottom", "w (recurrent weight)")
        plot.setLabel("left", "b (bias)")
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.enableAutoSIPrefix(False)
            axis.setStyle(tickFont=self.tick_font)
        plot.hideButtons()  # auto-range would zoom out to an exploded step

        w, b, E = error_surface()
        self.w_grid, self.b_grid, self.error = w, b, E
        self.log_error = np.log10(np.maximum(E, E_FLOOR))  # (N_b, N_w)
        self.log_error.setflags(write=False)
        dw, db = w[1] - w[0], b[1] - b[0]
        self.surface_rect = QRectF(w[0] - dw / 2, b[0] - db / 2, GRID * dw, GRID * db)
        cmap = theme.cmap(theme.SEQUENTIAL)
        # Lightened towards white so the paths, in full colour, stand out on any part of it.
        pale = pg.ColorMap(cmap.pos, np.round(255 * (0.5 * cmap.color + 0.5)).astype(np.uint8))
        self.image = pg.ImageItem(self.log_error, levels=LEVELS)
        self.image.setColorMap(pale)
        self.image.setRect(self.surface_rect)
        plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=LEVELS, colorMap=pale, label="log₁₀ E", interactive=False, width=16
        )
        self.colorbar.setImageItem(self.image, insert_in=plot)
        self.colorbar.axis.setStyle(tickFont=self.tick_font)
        self.colorbar.axis.setTicks([[(v, f"{v:g}") for v in range(-4, 1)]])
        contour_colour = QColor(theme.BLACK)
        contour_colour.setAlpha(90)
        self.contours = [
            plot.plot(
                *contour_lines(self.log_error, level, w, b).T,
                pen=pg.mkPen(contour_colour, width=1.0),
                connect="finite",
            )
            for level in CONTOURS
        ]

        # Unclipped: a wide line under the clipped one, so where the two paths coincide
        # (every step until the first clip) both stay visible.
        self.free_colour, self.clip_colour = theme.VERMILION, theme.BLUE
        self.free_curve = plot.plot(
            pen=theme.pen(self.free_colour, 2.5 * theme.LINE_WIDTH),
            symbol="o",
            symbolSize=7,
            symbolPen=None,
            symbolBrush=self.free_colour,
        )
        self.clip_curve = plot.plot(
            pen=theme.pen(self.clip_colour),
            symbol="o",
            symbolSize=4,
            symbolPen=None,
            symbolBrush=self.clip_colour,
        )
        self.start_marker = plot.plot(
            pen=None, symbol="star", symbolSize=20, symbolBrush=theme.YELLOW, symbolPen="k"
        )
        self.start_marker.setZValue(3)
        # Where both paths are at the same point the unclipped marker rings the clipped one.
        self.free_marker, self.clip_marker = (
            plot.plot(pen=None, symbol="o", symbolSize=size, symbolBrush=c, symbolPen="k")
            for c, size in ((self.free_colour, 20), (self.clip_colour, 12))
        )
        self.legend = pg.LegendItem(
            offset=(8, -8),  # bottom left: the flat high-error plateau, where nothing happens
            labelTextSize=f"{theme.FONT_PT}pt",
            brush=pg.mkBrush(255, 255, 255, 220),
            pen=pg.mkPen(theme.BLACK, width=0.5),
        )
        self.legend.setParentItem(plot.vb)
        fill = pg.mkBrush(255, 255, 255, 200)
        # Named on the picture: the wall, the start, the unclipped jump and the clipped step.
        b_wall, *across = wall_at(WALL_LABEL_W)
        slope = (wall_at(WALL_LABEL_W + 1)[0] - wall_at(WALL_LABEL_W - 1)[0]) / 2
        self.wall_label = pg.TextItem(
            f"the wall: E jumps from {min(across):.2f} to {max(across):.2f}",
            color=theme.BLACK,
            anchor=(0.5, 1.25),
            rotateAxis=(1.0, slope),  # along the wall, whatever the plot's aspect
        )
        self.wall_label.setPos(WALL_LABEL_W, b_wall)
        self.start_label = pg.TextItem("start", color=theme.BLACK, anchor=(1.25, 0.5), fill=fill)
        self.jump_label = pg.TextItem(fill=fill)
        # Below right of where the clipped step ends: the unclipped one went on up that line.
        self.clip_label = pg.TextItem(anchor=(-0.05, -0.1), fill=fill)
        for item in (self.wall_label, self.start_label, self.jump_label, self.clip_label):
            item.setFont(self.tick_font)
            plot.addItem(item, ignoreBounds=True)
        plot.setRange(self.surface_rect, padding=0)
        plot.setLimits(
            xMin=W_RANGE[0] - 10, xMax=W_RANGE[1] + 10, yMin=B_RANGE[0] - 10, yMax=B_RANGE[1] + 10
        )
        self.view.scene().sigMouseClicked.connect(self._clicked)
        self.view.scene().sigMouseMoved.connect(self._hover)

        for text, widget in (
            ("Learning rate:", self.lr_spin),
            ("Clip threshold θ:", self.threshold_spin),
            ("Steps:", self.steps_spin),
        ):
            label = QLabel(text)
            label.setBuddy(widget)
            self.controls_row.addWidget(label)
            self.controls_row.addWidget(widget)
        self.controls_row.addWidget(self.play_button)
        self.controls_row.addWidget(self.reset_button)
        self.controls_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.hover_label)

        self.start = DEFAULT_START
        self.free_path: DescentPath
        self.clip_path: DescentPath
        self.frame = 0  # descent steps shown
        self._compute()
        self.run_to_end()  # the whole story at a glance; Play animates it

    # -- model

    @property
    def n_frames(self) -> int:
        """The last frame: the longer path's number of steps (a non-finite step ends one)."""
        return max(len(self.free_path.points), len(self.clip_path.points)) - 1

    def set_start(self, w: float, b: float) -> None:
        """Start both descents at (w, b), shown at step 0 (what a click on the surface does,
        before it plays)."""
        self.start = (float(w), float(b))
        self._compute()
        self.show_frame(0)

    def _settings_changed(self) -> None:
        self.stop()
        self._compute()
        self.run_to_end()

    def _compute(self) -> None:
        lr, steps, threshold = self.lr_spin.value(), self.steps_spin.value(), self.threshold
        with np.errstate(all="ignore"):  # σ of an exploded x overflows exp harmlessly
            self.free_path = cliff_descent(*self.start, lr=lr, steps=steps)
            self.clip_path = cliff_descent(
                *self.start, lr=lr, steps=steps, clip_threshold=threshold
            )
        self.start_marker.setData([self.start[0]], [self.start[1]])
        self.start_label.setPos(*self.start)
        self.legend.clear()
        self.legend.addItem(self.free_curve, "no clipping")
        self.legend.addItem(self.clip_curve, f"norm clipping at θ = {threshold:g}")

    @property
    def threshold(self) -> float:
        return self.threshold_spin.value()

    # -- animation

    def advance(self) -> bool:
        """Show one more descent step (the timer calls this). False at the last step."""
        if self.frame >= self.n_frames:
            self.stop()
            return False
        self.show_frame(self.frame + 1)
        if self.frame >= self.n_frames:
            self.stop()
        return True

    def run_to_end(self) -> None:
        self.show_frame(self.n_frames)

    def play(self) -> None:
        """Animate from the current step, or from step 0 if the animation is at its end."""
        if self.frame >= self.n_frames:
            self.show_frame(0)
        self.timer.start()
        self.play_button.setText("Pause")

    def stop(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")

    def toggle_play(self) -> None:
        self.stop() if self.timer.isActive() else self.play()

    def reset_animation(self) -> None:
        self.stop()
        self.show_frame(0)

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.stop()  # nobody watches a hidden animation
        super().hideEvent(event)

    # -- drawing

    def show_frame(self, k: int) -> None:
        """Draw both paths up to descent step k, and the readout for that step."""
        self.frame = int(np.clip(k, 0, self.n_frames))
        rows = []
        paths = (
            ("no clipping", self.free_path, self.free_curve, self.free_marker, self.free_colour),
            (
                f"norm clipping at θ = {self.threshold:g}",
                self.clip_path,
                self.clip_curve,
                self.clip_marker,
                self.clip_colour,
            ),
        )
        for name, path, curve, marker, colour in paths:
            pts = np.clip(path.points[: self.frame + 1], -DRAW_LIMIT, DRAW_LIMIT)
            curve.setData(pts[:, 0], pts[:, 1])
            marker.setData(pts[-1:, 0], pts[-1:, 1])
            rows.append(self._readout_row(name, colour, path, len(pts) - 1))
        self._label_steps()
        head = "".join(
            f"<th align=left>{h}</th>"
            for h in (
                "",
                "step",
                "E",
                "(w, b)",
                "‖g‖ before clipping",
                "clipped",
                "step length",
                "longest step so far",
            )
        )
        self.readout.setText(
            f"<table cellspacing=0 cellpadding=1 width=100%><tr>{head}</tr>{''.join(rows)}</table>"
        )

    def _label_steps(self) -> None:
        """Name, once drawn, the longest unclipped step if clipping would have shortened it,
        and the clipped step whose gradient was largest."""
        lengths = step_lengths(self.free_path)[: self.frame]
        i = int(lengths.argmax()) if len(lengths) else 0
        big = bool(len(lengths)) and bool(lengths[i] > self.lr_spin.value() * self.threshold)
        self.jump_label.setVisible(big)
        if big:
            # Beside the middle of the part of the step that is on the map.
            a, b = self.free_path.points[i : i + 2]
            along = a + np.linspace(0, 1, 201)[:, None] * (b - a)  # (201, 2)
            r = self.surface_rect
            on_map = along[
                (along[:, 0] >= r.left())
                & (along[:, 0] <= r.right())
                & (along[:, 1] >= r.top())
                & (along[:, 1] <= r.bottom())
            ]
            x, y = on_map[len(on_map) // 2] if len(on_map) else a
            # Text to the right of the step, or to its left near the right edge of the map.
            right = x < r.left() + 0.6 * r.width()
            self.jump_label.setAnchor((-0.05, 0.5) if right else (1.05, 0.5))
            self.jump_label.setPos(x, y)
            g = self.free_path.grad_norms[i]
            self.jump_label.setHtml(
                coloured(f"one step {sci(lengths[i])} long (‖g‖ = {sci(g)})", self.free_colour)
            )
        clip = self.clip_path
        n = min(self.frame, len(clip.points) - 1)  # steps drawn
        clipped = np.flatnonzero(clip.clipped[:n])
        self.clip_label.setVisible(len(clipped) > 0)
        if len(clipped):
            i = clipped[clip.grad_norms[clipped].argmax()]
            length = np.linalg.norm(clip.points[i + 1] - clip.points[i])
            self.clip_label.setPos(*np.clip(clip.points[i + 1], -DRAW_LIMIT, DRAW_LIMIT))
            self.clip_label.setHtml(
                coloured(
                    f"clipped: {sci(length)} long (‖g‖ = {sci(clip.grad_norms[i])})",
                    self.clip_colour,
                )
            )

    def _readout_row(self, name: str, colour: str, path: DescentPath, k: int) -> str:
        w, b = path.points[k]
        where = f"({sci(w)}, {sci(b)})"
        if not self.surface_rect.contains(QPointF(w, b)):
            where += " off the map"
        cells = [coloured(f"● {name}", colour), f"<b>{k}</b>", sci(path.errors[k]), where]
        if k == 0:
            cells += ["–"] * 4
        elif k < self.frame:  # this path ended early: its next step gave non-finite weights
            cells += ["next step not finite", "", "", ""]
        else:
            lengths = step_lengths(path)[:k]
            i = int(lengths.argmax())
            cells += [
                sci(path.grad_norms[k - 1]),
                "<b>yes</b>" if path.clipped[k - 1] else "no",
                sci(lengths[-1]),
                f"{sci(lengths[i])} (step {i + 1})",
            ]
        return "<tr>" + "".join(f"<td>{c}&nbsp;&nbsp;</td>" for c in cells) + "</tr>"

    def redraw(self, snapshot: Snapshot) -> None:
        """The cliff does not depend on training."""

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Both descents whole, by step (0: the start): (w, b), E, and ‖g‖ before clipping
        of the step taken from there; empty cells past a path that ended."""
        table = {"step": np.arange(self.n_frames + 1)}
        for name, path in (("unclipped", self.free_path), ("clipped", self.clip_path)):
            table[f"w, {name}"], table[f"b, {name}"] = path.points[:, 0], path.points[:, 1]
            table[f"E, {name}"], table[f"‖g‖, {name}"] = path.errors, path.grad_norms
        return {"steps": padded(table)}

    # -- interaction

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.scenePos()
        if not self.plot.vb.sceneBoundingRect().contains(pos):
            return
        p = self.plot.vb.mapSceneToView(pos)
        self.set_start(p.x(), p.y())
        if self.isVisible():
            self.play()

    def _hover(self, pos) -> None:
        if not self.plot.vb.sceneBoundingRect().contains(pos):
            return
        p = self.plot.vb.mapSceneToView(pos)
        with np.errstate(all="ignore"):
            E = float(cliff_error(p.x(), p.y()))
        self.hover_label.setText(
            f"w = {p.x():.3f}, b = {p.y():.3f}:  E = {E:.4g}  (log₁₀ E = {np.log10(E):.3f})"
            if E > 0
            else f"w = {p.x():.3f}, b = {p.y():.3f}:  E = 0"
        )
