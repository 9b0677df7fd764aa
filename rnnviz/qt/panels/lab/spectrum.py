"""The spectrum of W_hh: why a recurrent weight matrix makes gradients grow or shrink.

Left, the eigenvalues λ of W_hh in the complex plane with the unit circle |λ| = 1. Top right,
its singular values σ_k, sorted, with a line at σ = 1. Bottom right, the spectral radius
ρ = max |λ| of every recording of the probe batch over training, with a dashed line at ρ = 1.
For the linear recurrence h_t = W h_{t−1}, ∂h_{T−1}/∂h_t = W^(T−1−t) (t counts from 0),
whose norm grows or decays like ρ^(T−1−t); the largest singular value bounds every one-step
gain ‖W v‖ / ‖v‖ (Pascanu, Mikolov & Bengio 2013, section 3). For LSTMs and GRUs every gate
block W_hi, W_hf, … is an H × H matrix of its own, drawn in its gate's colour.

When a run explodes (ρ in the thousands and more) linear axes would shrink the unit circle to a
dot: beyond LOG_FROM the eigenvalues are drawn with a log radius (the unit circle stays, with
rings at |λ| = 10, 100, …) and the singular values and ρ on log axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from rnnviz.core.analysis import BlockSpectrum, spectrum
from rnnviz.core.cells import CELLS, GATES
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel, set_choices
from rnnviz.qt.plotkit import coloured, wrap_title
from rnnviz.qt.ranges import Ranger, steps_ranger
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:
    from rnnviz.core.train import Snapshot

BLOCKS = tuple(dict.fromkeys(b for spec in CELLS.values() for b in spec.blocks))
ALL = "all gate blocks"
CIRCLE = np.exp(2j * np.pi * np.linspace(0, 1, 361))  # the unit circle, 1° steps
LOG_FROM = 10.0  # |λ|, σ or ρ beyond this: log scales, or the unit circle shrinks to a dot
EIG_TITLE = "Eigenvalues λ (dashed: |λ| = 1)"
LOG_EIG_TITLE = "Eigenvalues λ, log radius beyond 1 (dotted: |λ| = 10, 100, …)"


def log_radius(z: np.ndarray) -> np.ndarray:
    """λ with a radius r > 1 moved to 1 + log10 r at the same angle: the unit circle and
    everything inside it stay where they are, |λ| = 10, 100, … lie on the circles of radius
    2, 3, …"""
    r = np.abs(z)
    return np.where(r > 1, np.exp(1j * np.angle(z)) * (1 + np.log10(np.maximum(r, 1))), z)


def matrix_name(block: str, html: bool = True) -> str:
    """'W_hh' for the Elman RNN, 'W_hf' for the forget-gate block (HTML subscripts)."""
    sub = "h" + ("h" if block == "h" else block)
    return f"W<sub>{sub}</sub>" if html else f"W_{sub}"


def colour(block: str) -> str:
    """A gate block's colour; the Elman RNN's single block in the first series colour."""
    return theme.SERIES[0] if block == "h" else theme.GATE_COLOURS[block]


def verdict(rho: float) -> str:
    """What a spectral radius means for the linear part of the backward pass (rich text)."""
    if not np.isfinite(rho):
        return "not finite: the weights diverged"
    if abs(rho - 1) < 5e-3:
        return "≈ 1: the linear part of the gradient neither grows nor shrinks"
    if rho > 1:
        return "&gt; 1: the linear part of the gradient can grow as ρ<sup>T−1−t</sup>"
    return "&lt; 1: the linear part of the gradient shrinks as ρ<sup>T−1−t</sup>"


class SpectrumPanel(Panel):
    title = "W_hh spectrum"
    key = "spectrum"
    needs_layers = True
    draws = ("trace", "probes", "state")
    info = (
        "Left: the eigenvalues λ of the recurrent weight matrix W_hh in the complex plane, with "
        "the unit circle |λ| = 1. Top right: its singular values σ₁ ≥ σ₂ ≥ …, with a line at "
        "σ = 1. Bottom right: the spectral radius ρ(W_hh) = max |λ| at every recording over "
        "training, with a dashed line at ρ = 1. For the linear recurrence h_t = W_hh h_{t−1} "
        "the backward pass multiplies by W_hhᵀ once per step: ∂h_{T−1}/∂h_t = W_hh^(T−1−t) (t "
        "counts from 0), whose norm grows or shrinks like ρ^(T−1−t). With a nonlinearity, "
        "∂h_{T−1}/∂h_t = "
        "∏ diag(f′(a_s)) W_hh with |f′| ≤ 1 for tanh, so the largest singular value σ₁ < 1 is "
        "sufficient for the gradient to vanish and σ₁ > 1 necessary for it to explode "
        "(Pascanu, Mikolov & Bengio 2013). "
        "LSTMs and GRUs have one H × H block per gate (W_hi, W_hf, W_hg, W_ho / W_hr, W_hz, "
        "W_hn), each in its gate's colour."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker("Layer and direction whose W_hh is shown")
        self.layer_combo.currentIndexChanged.connect(self._selection_changed)
        self.block_combo = QComboBox()
        self.block_combo.setToolTip("The gate block of W_hh shown (LSTM and GRU)")
        self.block_combo.currentIndexChanged.connect(self._selection_changed)
        self.readout = QLabel()  # ρ and what it means
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)
        self.hover_label = self.add_hint("Hover a point for exact values")

        font = QFont()
        font.setPointSize(theme.FONT_PT)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.eig_plot = self.view.addPlot(row=0, col=0, rowspan=2)
        self.sv_plot = self.view.addPlot(row=0, col=1)
        self.radius_plot = self.view.addPlot(row=1, col=1)
        # Titles that wrap: a one-line title is as wide as its text, and a wide one squeezes
        # the other column out of a narrow dock. The readout, in the gates' colours, is the
        # legend.
        for plot, title, x, y in (
            (self.eig_plot, EIG_TITLE, "Re λ", "Im λ"),
            # the title names the quantity: no axis titles to take a small dock's height
            (self.sv_plot, "Singular values σ<sub>k</sub>, largest first", None, None),
            (self.radius_plot, "Spectral radius ρ per training step", None, None),
        ):
            wrap_title(plot).setTitle(title)
            if x is not None:
                plot.setLabel("bottom", x)
                plot.setLabel("left", y)
            plot.setMenuEnabled(False)
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)
                plot.getAxis(side).setStyle(tickFont=font)
        self.view.ci.layout.setColumnStretchFactor(0, 1)
        self.view.ci.layout.setColumnStretchFactor(1, 1)

        ep = self.eig_plot
        ep.setAspectLocked(True, ratio=1)
        grey = theme.pen(theme.BLACK, 1.0)
        ep.addItem(pg.InfiniteLine(pos=0, angle=0, pen=grey), ignoreBounds=True)
        ep.addItem(pg.InfiniteLine(pos=0, angle=90, pen=grey), ignoreBounds=True)
        self.unit_circle = ep.plot(
            CIRCLE.real, CIRCLE.imag, pen=theme.pen(theme.BLACK, 1.5, Qt.PenStyle.DashLine)
        )
        # |λ| = 10, 100, … on a log radius: one dotted curve (NaN between the circles)
        self.rings = ep.plot(pen=theme.pen(theme.BLACK, 1.0, Qt.PenStyle.DotLine), connect="finite")
        self.ring_labels: list[pg.TextItem] = []
        self.sv_one = sv_one = pg.InfiniteLine(
            pos=1,
            angle=0,
            pen=theme.pen(theme.THRESHOLD, 1.5, Qt.PenStyle.DashLine),
            label="σ = 1",
            # right-aligned at the right end: a centred label there is cut by the plot's edge
            labelOpts={"position": 0.98, "color": theme.THRESHOLD, "anchors": [(1, 1), (1, 0)]},
        )
        self.sv_plot.addItem(sv_one)  # with bounds: σ = 1 stays in view
        rp = self.radius_plot
        rp.setDownsampling(auto=True, mode="peak")
        rp.setClipToView(True)
        self.rho_one = pg.InfiniteLine(
            pos=1,
            angle=0,
            pen=theme.pen(theme.THRESHOLD, 1.5, Qt.PenStyle.DashLine),
            label="ρ = 1",
            labelOpts={"position": 0.05, "color": theme.THRESHOLD},
        )
        rp.addItem(self.rho_one)
        self.eig_ranger, self.sv_ranger = Ranger(ep), Ranger(self.sv_plot)
        self.radius_ranger = steps_ranger(rp)
        # The recording whose eigenvalues and singular values are drawn.
        self.step_line = pg.InfiniteLine(
            angle=90, pen=theme.pen(theme.BLACK, 1.0, Qt.PenStyle.DotLine)
        )
        rp.addItem(self.step_line, ignoreBounds=True)

        # One item per gate block in every plot, made once and emptied when not shown.
        self.eig_points, self.sv_curves, self.radius_curves = {}, {}, {}
        for block in BLOCKS:
            c = colour(block)
            self.eig_points[block] = ep.plot(
                pen=None, symbol="o", symbolSize=8, symbolPen=None, symbolBrush=c
            )
            self.sv_curves[block] = self.sv_plot.plot(
                pen=theme.pen(c),
                symbol="o",
                symbolSize=5,
                symbolPen=None,
                symbolBrush=c,
            )
            self.radius_curves[block] = rp.plot(pen=theme.pen(c), connect="finite")

        self.view.scene().sigMouseMoved.connect(self._hover)
        self.block_label = QLabel("Gate block:")
        self.block_label.setBuddy(self.block_combo)
        self.controls_row.addWidget(self.block_label)
        self.controls_row.addWidget(self.block_combo)
        self.controls_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.readout)  # a row of its own: four gate blocks need the width
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self.spectra: list[BlockSpectrum] = []  # the blocks drawn, in gate order
        self._log_eig = False  # eigenvalues on a log radius
        self._cache: dict[str, list[BlockSpectrum] | None] = {}  # layer key -> spectra

    # -- drawing

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is not self._drawn_trace:
            self._drawn_trace = trace
            self._cache = {}
            blocks = [] if trace is None else list(CELLS[trace.cell].blocks)
            items = [] if len(blocks) < 2 else [(ALL, None)]
            items += [(f"{b} ({GATES[b].word})", b) for b in blocks if len(blocks) > 1]
            set_choices(self.block_combo, items)
            self.block_label.setVisible(len(blocks) > 1)
            self.block_combo.setVisible(len(blocks) > 1)
        self._draw()

    def _selection_changed(self) -> None:
        if self.snapshot is not None:
            self._draw()

    def _layer_spectra(self, key: str) -> list[BlockSpectrum] | None:
        """The spectra of every gate block of layer `key`; None when W_hh is not finite."""
        if key not in self._cache:
            trace = self.snapshot.trace
            w = np.asarray(trace.params[f"weight_hh_{key}"], dtype=np.float64)
            self._cache[key] = spectrum(w, trace.cell) if np.isfinite(w).all() else None
        return self._cache[key]

    def _draw(self) -> None:
        snapshot = self.snapshot
        trace = snapshot.trace
        key = self.layer_combo.currentData()
        chosen = self.block_combo.currentData()
        spectra = None if trace is None or key is None else self._layer_spectra(key)
        if trace is None or key is None:
            shown = []
        else:
            shown = [chosen] if chosen else list(CELLS[trace.cell].blocks)
        self.spectra = [s for s in spectra or [] if s.block in shown]
        top = max((s.radius for s in self.spectra), default=0.0)
        self._set_log_radius(top > LOG_FROM, top)
        svs = [s.singular_values for s in self.spectra]
        log_sv = bool(max((v.max() for v in svs if len(v)), default=0.0) > LOG_FROM)
        if self.sv_plot.getAxis("left").logMode != log_sv:
            self.sv_plot.setLogMode(y=log_sv)
        self.sv_one.setValue(0.0 if log_sv else 1.0)  # view coordinates: log10 on a log axis
        for block in BLOCKS:
            s = next((s for s in self.spectra if s.block == block), None)
            if s is None:
                self.eig_points[block].setData([], [])
                self.sv_curves[block].setData([], [])
            else:
                lam = self._eig_xy(s.eigenvalues)
                self.eig_points[block].setData(lam.real, lam.imag)
                self.sv_curves[block].setData(
                    np.arange(1, len(s.singular_values) + 1), s.singular_values
                )
        self._draw_radii(snapshot, key, shown)
        # the unit circle and σ = 1 stay in view: where the values lie against 1 is the point
        lam = [self._eig_xy(s.eigenvalues) for s in self.spectra]
        circle = [CIRCLE.real, CIRCLE.imag]
        self.eig_ranger.fit(
            xs=[*(v.real for v in lam), *circle], ys=[*(v.imag for v in lam), *circle]
        )
        n = max((len(v) for v in svs), default=1)
        self.sv_ranger.fit(ys=[*svs, [1.0]], x=(0.5, n + 0.5))

        self.readout.setText(self._readout(trace, spectra, shown))

    def _eig_xy(self, eigenvalues: np.ndarray) -> np.ndarray:
        """Where an eigenvalue is drawn: itself, or on a log radius once ρ explodes."""
        return log_radius(eigenvalues) if self._log_eig else eigenvalues

    def _set_log_radius(self, on: bool, top: float) -> None:
        """Log radius for the eigenvalues beyond LOG_FROM: rings at |λ| = 10, …, up to `top`;
        axis values hidden (they would read as Re λ, Im λ)."""
        self._log_eig = on
        self.eig_plot.setTitle(LOG_EIG_TITLE if on else EIG_TITLE)
        for side in ("left", "bottom"):
            self.eig_plot.getAxis(side).setStyle(showValues=not on)
        decades = range(1, int(np.ceil(np.log10(top))) + 1) if on else range(0)
        ring = np.append(CIRCLE, np.nan)
        rings = np.concatenate([(1 + k) * ring for k in decades]) if on else np.zeros(0)
        self.rings.setData(rings.real, rings.imag)
        while len(self.ring_labels) < len(decades):
            label = pg.TextItem(color=theme.BLACK, anchor=(0, 1))
            self.eig_plot.addItem(label, ignoreBounds=True)
            self.ring_labels.append(label)
        for i, label in enumerate(self.ring_labels):
            label.setVisible(i < len(decades))
            if i < len(decades):  # on the ring, up and to the right
                k = decades[i]
                label.setText(f"10{_superscript(k)}" if k > 1 else "10")
                label.setPos((1 + k) * np.cos(np.pi / 4), (1 + k) * np.sin(np.pi / 4))

    def _draw_radii(self, snapshot: Snapshot, key: str | None, shown: list[str]) -> None:
        probes = snapshot.probes
        for block in BLOCKS:
            r = None if probes is None or key is None else probes.radii.get(f"{key} {block}")
            if block not in shown or r is None or not len(r):
                self.radius_curves[block].setData([], [])
                continue
            r = np.where(np.isfinite(r), r, np.nan)
            # A single recording is a point, not a line.
            self.radius_curves[block].setData(
                probes.step,
                r,
                symbol="o" if len(r) == 1 else None,
                symbolSize=6,
                symbolPen=None,
                symbolBrush=colour(block),
            )
        radii = [c.yData for b, c in self.radius_curves.items() if b in shown]
        finite = [r[np.isfinite(r)] for r in radii if r is not None]
        log = bool(max((r.max() for r in finite if len(r)), default=0.0) > LOG_FROM)
        if self.radius_plot.getAxis("left").logMode != log:
            self.radius_plot.setLogMode(y=log)
        self.rho_one.setValue(0.0 if log else 1.0)
        steps = [] if probes is None or not len(probes) else [probes.step[[0, -1]]]
        self.radius_ranger.fit(xs=steps, ys=[*radii, [1.0]], settled=snapshot.state != "running")
        trace = snapshot.trace
        self.step_line.setVisible(trace is not None and "step" in trace.meta)
        if trace is not None and "step" in trace.meta:
            self.step_line.setValue(trace.meta["step"])

    def _readout(self, trace, spectra, shown: list[str]) -> str:
        if trace is None:
            return "no recording yet"
        if spectra is None:
            return "W<sub>hh</sub> has non-finite entries: the run diverged"
        radii = {s.block: s.radius for s in self.spectra}
        at = f"step {trace.meta['step']}: " if "step" in trace.meta else ""
        if len(radii) == 1:
            (block, rho), *_ = radii.items()
            return f"{at}<b>ρ({matrix_name(block)}) = {rho:.3g}</b> — {verdict(rho)}"
        # The colours are the legend of the plots.
        parts = " · ".join(
            coloured(f"● ρ({matrix_name(b)}) = {radii[b]:.3g}", colour(b)) for b in shown
        )
        top = max(radii.values())
        return f"{at}{parts} — largest <b>{top:.3g}</b> {verdict(top)}"

    # -- export

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """The gate blocks shown: their eigenvalues λ_k (Re and Im; the true values, not the
        log radius a diverged run is drawn on), singular values σ_k by k, and ρ at every
        recording by training step."""
        if not self.spectra:
            return {}
        k = np.arange(1, len(self.spectra[0].eigenvalues) + 1)
        eig, sv = {"k": k}, {"k": np.arange(1, len(self.spectra[0].singular_values) + 1)}
        for s in self.spectra:
            name = matrix_name(s.block, html=False)
            eig[f"Re λ_k of {name}"] = s.eigenvalues.real
            eig[f"Im λ_k of {name}"] = s.eigenvalues.imag
            sv[f"σ_k of {name}"] = s.singular_values
        tables = {"eigenvalues": eig, "singular_values": sv}
        probes, key = self.snapshot.probes, self.layer_combo.currentData()
        radii = {
            s.block: probes.radii[f"{key} {s.block}"]
            for s in self.spectra
            if probes is not None and f"{key} {s.block}" in probes.radii
        }
        if radii:
            tables["steps"] = {"step": probes.step[: len(next(iter(radii.values())))]}
            tables["steps"].update(
                {f"ρ({matrix_name(b, html=False)})": r for b, r in radii.items()}
            )
        return tables

    # -- interaction

    def _hover(self, pos) -> None:
        if not self.spectra:
            return
        if self.eig_plot.sceneBoundingRect().contains(pos):
            # The nearest eigenvalue: the aspect is locked, so view distance is screen distance.
            p = self.eig_plot.vb.mapSceneToView(pos)
            z = complex(p.x(), p.y())
            s = min(self.spectra, key=lambda s: np.abs(self._eig_xy(s.eigenvalues) - z).min())
            lam = s.eigenvalues[np.abs(self._eig_xy(s.eigenvalues) - z).argmin()]
            block = s.block
            sign = "+" if lam.imag >= 0 else "−"
            self.hover_label.setText(
                f"{matrix_name(block, html=False)}: λ = {lam.real:.4g} {sign} "
                f"{abs(lam.imag):.4g}i,  |λ| = {abs(lam):.4g}"
            )
        elif self.sv_plot.sceneBoundingRect().contains(pos):
            x = self.sv_plot.vb.mapSceneToView(pos)
            k = int(np.clip(round(x.x()), 1, len(self.spectra[0].singular_values)))
            y = 10 ** x.y() if self.sv_plot.getAxis("left").logMode else x.y()
            near = min(self.spectra, key=lambda s: abs(s.singular_values[k - 1] - y))
            self.hover_label.setText(
                f"{matrix_name(near.block, html=False)}: σ_{k} = {near.singular_values[k - 1]:.4g}"
            )
        elif self.radius_plot.sceneBoundingRect().contains(pos):
            probes = self.snapshot.probes
            key = self.layer_combo.currentData()
            if probes is None or not len(probes):
                return
            x = self.radius_plot.vb.mapSceneToView(pos).x()
            i = int(np.clip(np.searchsorted(probes.step, x), 0, len(probes) - 1))
            if i > 0 and x - probes.step[i - 1] < probes.step[i] - x:
                i -= 1  # the nearer recording
            values = ",  ".join(
                f"ρ({matrix_name(s.block, html=False)}) = {probes.radii[f'{key} {s.block}'][i]:.4g}"
                for s in self.spectra
                if f"{key} {s.block}" in probes.radii
            )
            self.hover_label.setText(f"step {probes.step[i]}:  {values}")


def _superscript(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
