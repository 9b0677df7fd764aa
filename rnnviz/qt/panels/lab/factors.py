"""Where the factor comes from: the one-step factors whose product is the BPTT gradient.

Backpropagation through time multiplies one factor per step: ∂h_{T−1}/∂h_t = ∏_{s=t+1}^{T−1}
∂h_s/∂h_{s−1} (Pascanu, Mikolov & Bengio 2013, eq. 5–7). Top, the one-step factor of every
timestep of probe sequence 0; bottom, its running product back from the end of the sequence.
Both on log axes, where a product is a sum and vanishing is a straight line down.

- Elman RNN: ‖diag(f′(a_t)) W_hh‖₂, the norm of the one-step Jacobian. The product of the
  norms bounds the norm of the product, drawn beside it: ‖∂h_{T−1}/∂h_t‖₂ (exact).
- LSTM: the forget gate f_t, which is ∂c_t/∂c_{t−1} along the cell path (the constant error
  carousel): per unit the product ∏ f_s is exact. Beside it the h path's ‖∂h_{T−1}/∂h_t‖₂.
- GRU: the carry gate on the direct path h_{t−1} → h_t. In PyTorch's convention, used here,
  h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}, so the carry is z_t — the lecture's 1 − z_t.

Gate factors are per unit: the bold curve is their geometric mean over units (the mean of
the log, so the bold product is exactly the product of the bold factors), the thin ones a
few single units from the most to the least persistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rnnviz.core.analysis import running_product_back
from rnnviz.core.cells import CELLS
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.plotkit import LogAxis, coloured, positive_or_nan, sci
from rnnviz.qt.ranges import Ranger, timesteps
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:
    from rnnviz.core.trace import LayerTrace, Trace
    from rnnviz.core.train import Snapshot

UNITS_SHOWN = 5  # single units drawn thin beside the mean of a gate path


@dataclass(frozen=True, eq=False)
class PathFactors:
    """The one-step factors of one layer's backward path for probe sequence 0, natural t order.

    For a reverse direction the path runs from t = T−1 down to 0, so its products run back
    from t = 0 instead."""

    name: str  # rich text: what the one-step factor at t is
    product_name: str  # rich text: what the product back from the end is
    exact_name: str  # rich text: what the recorded Jacobian norm is
    short: str  # plain text name of the one-step factor, for readouts
    factor: np.ndarray  # (T,) one-step factor (geometric mean over units for a gate)
    product: np.ndarray  # (T,) product of the factors of every step after t, towards the end
    exact: np.ndarray  # (T,) ||dh_end/dh_t||_2 as recorded (NaN when not recorded)
    units: tuple[int, ...] = ()  # the single units drawn thin, most persistent first
    unit_factor: np.ndarray | None = None  # (T, len(units))
    unit_product: np.ndarray | None = None  # (T, len(units))


def _product_back(factors: np.ndarray, reverse: bool) -> np.ndarray:
    """running_product_back along the direction's processing order, returned in t order."""
    # a diverged run's: inf·0 is NaN, drawn as a gap; a product past float64's range is inf
    with np.errstate(invalid="ignore", over="ignore"):
        if not reverse:
            return running_product_back(factors)
        return running_product_back(factors[::-1])[::-1]


def path_factors(trace: Trace, lt: LayerTrace) -> PathFactors:
    """The one-step factors and their products back to the end, for sequence 0 of `lt`."""
    exact = np.asarray(lt.jacobian_norm[0], dtype=np.float64)  # (T,)
    later = "s&lt;t" if lt.reverse else "s&gt;t"  # the steps after t in processing order
    jacobian = f"‖∂h<sub>{0 if lt.reverse else 'T−1'}</sub>/∂h<sub>t</sub>‖₂"
    recorded = np.isfinite(exact).any()
    jacobian += "" if recorded else ": not recorded"
    spec = CELLS[trace.cell]
    if not spec.gates:  # the Elman RNN
        nonlinearity = trace.meta.get("nonlinearity") or "tanh"
        # computed by the recorder, in the training process: O(T H^3), too slow to draw
        if lt.step_factor is None:  # a trace loaded from a file: not recorded
            factor = np.full(len(exact), np.nan)
        else:
            factor = np.asarray(lt.step_factor[0], dtype=np.float64)  # (T,)
        f = "tanh′" if nonlinearity == "tanh" else "ReLU′"
        return PathFactors(
            name=f"‖diag({f}(a<sub>t</sub>)) W<sub>hh</sub>‖₂",
            product_name=f"∏<sub>{later}</sub> of the factors",
            exact_name=jacobian + (" (exact)" if recorded else ""),
            short=f"‖diag({f}(a_t)) W_hh‖",
            factor=factor,
            product=_product_back(factor, lt.reverse),
            exact=exact,
        )
    carry = spec.carry  # the gate on the direct path
    gate, path = carry.gate, carry.path
    # e.g. "forget gate f_t (cell path)"; the GRU's "carry z_t (the lecture's 1 − z_t)"
    aside = f"the lecture's {carry.lecture}<sub>t</sub>" if carry.lecture else path
    name = f"{carry.word} {gate}<sub>t</sub> ({aside})"
    short = f"{carry.word} {gate}_t"
    g = np.asarray(lt.gates[gate][0], dtype=np.float64)  # (T, H)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.exp(np.log(g).mean(axis=1))  # geometric mean over units, (T,)
        unit_product = _product_back(g, lt.reverse)  # (T, H), exact per unit
        whole = np.log(unit_product[-1 if lt.reverse else 0])  # over the whole sequence
    order = np.argsort(-np.where(np.isnan(whole), -np.inf, whole), kind="stable")
    ranks = np.unique(np.linspace(0, len(order) - 1, min(UNITS_SHOWN, len(order))).round())
    units = tuple(int(order[int(r)]) for r in ranks)
    return PathFactors(
        name=name,
        product_name=f"∏<sub>{later}</sub> {gate}<sub>s</sub>",
        exact_name=f"h path {jacobian}" if path == "cell path" else jacobian,
        short=short,
        factor=factor,
        product=_product_back(factor, lt.reverse),
        exact=exact,
        units=units,
        unit_factor=g[:, units],
        unit_product=unit_product[:, units],
    )


def _separated(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of several curves over t in one item, NaN between them: columns (T, K)."""
    T, K = columns.shape
    x = np.tile(np.append(np.arange(T, dtype=np.float64), np.nan), K)
    y = np.vstack([columns, np.full((1, K), np.nan)]).T.ravel()
    return x, y


def product_text(v: float) -> str:
    """sci(v), saying where a product of positive factors underflowed to 0 (long sequences)."""
    return "0 (below 10<sup>−308</sup>)" if v == 0 else sci(v)


class GradientFactorsPanel(Panel):
    title = "Where the factor comes from"
    key = "factors"
    needs_layers = True
    info = (
        "Backpropagation through time multiplies one factor per step: ∂h_{T−1}/∂h_t = "
        "∏_{s=t+1}^{T−1} ∂h_s/∂h_{s−1}. Top: the one-step factor at every timestep of probe "
        "sequence 0; bottom: the product of the factors of every later step, back from the end "
        "of the sequence (log axes: a product is a sum, and a factor below 1 at every step is "
        "a straight line down). Elman RNN: ∂h_s/∂h_{s−1} = diag(f′(a_s)) W_hh, and the product "
        "of the norms ∏ ‖diag(f′(a_s)) W_hh‖ bounds ‖∂h_{T−1}/∂h_t‖, drawn beside it. LSTM: along "
        "the cell path c_s = f_s ⊙ c_{s−1} + i_s ⊙ g_s the factor is the forget gate, so "
        "∂c_T/∂c_t = ∏ f_s exactly, per unit — the constant error carousel carries the "
        "gradient while f ≈ 1 (with peepholes, f and i also depend on c_{s−1}: small extra "
        "terms). GRU: PyTorch writes h_s = (1 − z_s) ⊙ n_s + z_s ⊙ h_{s−1}, so the carry "
        "factor is z_s — the lecture, writing h_s = (1 − z_s) h_{s−1} + z_s h̃_s, calls it "
        "1 − z_s. Gate curves: bold, the geometric mean over units; thin, single units from "
        "the most to the least persistent."
    )

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.layer_combo = self.add_layer_picker("Layer and direction whose backward path is shown")
        self.layer_combo.currentIndexChanged.connect(self._draw_layer)
        self.readout = QLabel()  # the values at the cursor t
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)
        self.hover_label = self.add_hint("Hover a curve for exact values")

        font = QFont()
        font.setPointSize(theme.FONT_PT)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.step_plot = self.view.addPlot(row=0, col=0, axisItems={"left": LogAxis("left")})
        self.product_plot = self.view.addPlot(row=1, col=0, axisItems={"left": LogAxis("left")})
        self.product_plot.setXLink(self.step_plot)
        self.cursor_lines = []
        for plot in (self.step_plot, self.product_plot):
            plot.setLogMode(y=True)
            plot.setMenuEnabled(False)
            plot.setLabel("bottom", "timestep t")
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)
                plot.getAxis(side).setStyle(tickFont=font)
            line = pg.InfiniteLine(angle=90, movable=True, pen=theme.pen(theme.CURSOR, 1.5))
            line.sigDragged.connect(self._line_dragged)
            plot.addItem(line, ignoreBounds=True)
            self.cursor_lines.append(line)
        self.step_plot.setLabel("left", "factor per step")
        self.step_plot.getAxis("bottom").showLabel(False)  # the linked plot below names it
        # A one-step factor of 1 neither grows nor shrinks the gradient (log10 1 = 0).
        self.step_plot.addItem(
            pg.InfiniteLine(pos=0, angle=0, pen=theme.pen(theme.BLACK, 1.0, Qt.PenStyle.DashLine))
        )
        self.step_ranger, self.product_ranger = Ranger(self.step_plot), Ranger(self.product_plot)
        thin = theme.pen(theme.SKY, 1.0)
        self.unit_factor_curve = self.step_plot.plot(pen=thin, connect="finite")
        self.factor_curve = self.step_plot.plot(pen=theme.pen(theme.BLUE), connect="finite")
        self.unit_product_curve = self.product_plot.plot(pen=thin, connect="finite")
        self.product_curve = self.product_plot.plot(pen=theme.pen(theme.BLUE), connect="finite")
        self.exact_curve = self.product_plot.plot(pen=theme.pen(theme.GREEN), connect="finite")
        self.curves = (
            self.factor_curve,
            self.unit_factor_curve,
            self.product_curve,
            self.unit_product_curve,
            self.exact_curve,
        )

        self.view.scene().sigMouseMoved.connect(self._hover)
        self.controls_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.readout)  # a row of its own: three numbers and their names
        layout.addWidget(self.view, 1)
        layout.addWidget(self.hover_label)
        self.factors: PathFactors | None = None
        self._end = "T−1"  # where the products run back from: 'T−1' or '0' (reverse)

    # -- drawing

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is self._drawn_trace:
            return
        self._drawn_trace = trace
        self._draw_layer()

    def _draw_layer(self) -> None:
        trace = self.snapshot.trace if self.snapshot is not None else None
        index = self.layer_combo.currentIndex()
        pf = None if trace is None or index < 0 else path_factors(trace, trace.layers[index])
        self.factors = pf
        if pf is None:
            for curve in self.curves:
                curve.setData([], [])
            self.step_plot.setTitle("one-step factors: no recording yet")
            self.product_plot.setTitle("")
            self.show_time(self.cursor.t)
            return
        reverse = trace.layers[index].reverse
        self._end = "0" if reverse else "T−1"
        t = np.arange(len(pf.factor))
        self.factor_curve.setData(t, positive_or_nan(pf.factor))
        self.product_curve.setData(t, positive_or_nan(pf.product))
        self.exact_curve.setData(t, positive_or_nan(pf.exact))
        if pf.units:
            self.unit_factor_curve.setData(*_separated(positive_or_nan(pf.unit_factor)))
            self.unit_product_curve.setData(*_separated(positive_or_nan(pf.unit_product)))
        else:
            self.unit_factor_curve.setData([], [])
            self.unit_product_curve.setData([], [])
        units = bool(pf.units)
        # the dashed line at a factor of 1 stays in view: the picture is "below 1 or above"
        self.step_ranger.fit(
            ys=[pf.factor, pf.unit_factor if units else [], [1.0]], x=timesteps(len(t))
        )
        self.product_ranger.fit(
            ys=[pf.product, pf.exact, pf.unit_product if units else []], x=timesteps(len(t))
        )

        # Short titles: a title is as wide as its text, and a wide one squeezes a narrow dock.
        exact = coloured(pf.exact_name, theme.GREEN)
        product = coloured(pf.product_name, theme.BLUE)
        if pf.units:
            mean = coloured("geometric mean", theme.BLUE)
            units = coloured(f"{len(pf.units)} units", theme.SKY)
            self.step_plot.setTitle(f"{pf.name}: {mean}, {units}")
            self.product_plot.setTitle(f"{product} back to {self._end} (exact) vs {exact}")
            self.product_plot.setLabel("left", "∏ (geo. mean, units)")
        else:
            self.step_plot.setTitle(f"one-step factor {coloured(pf.name, theme.BLUE)}")
            self.product_plot.setTitle(f"{product} (upper bound) vs {exact}")
            self.product_plot.setLabel("left", f"product back to {self._end}")
        self.show_time(self.cursor.t)

    def show_time(self, t: int) -> None:
        for line in self.cursor_lines:
            line.setValue(t)
        pf = self.factors
        if pf is None:
            self.readout.setText("no recording yet")
            return
        t = min(t, len(pf.factor) - 1)
        mean = f" ({pf.short}, geometric mean)" if pf.units else ""
        self.readout.setText(
            f"<b>at t = {t}</b>: one-step factor {sci(pf.factor[t])}{mean}, "
            f"product back to {self._end} <b>{product_text(pf.product[t])}</b>, "
            f"‖∂h<sub>{self._end}</sub>/∂h<sub>t</sub>‖ = {sci(pf.exact[t])}"
        )

    # -- export

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Over t, sequence 0: the one-step factor (a gate's: its geometric mean over units),
        its running product back to the end, the exact Jacobian norm, and the single units
        drawn thin. Values as computed: a product that underflowed is 0 here, a gap on the
        log axis."""
        pf = self.factors
        if pf is None:
            return {}
        mean = " (geometric mean over units)" if pf.units else ""
        table = {
            "t": np.arange(len(pf.factor)),
            f"one-step factor {pf.short}{mean}": pf.factor,
            f"product back to t = {self._end}": pf.product,
            f"‖∂h_{self._end}/∂h_t‖ (spectral norm)": pf.exact,
        }
        for i, u in enumerate(pf.units):
            table[f"{pf.short} of unit {u}"] = pf.unit_factor[:, i]
            table[f"product back to t = {self._end}, unit {u}"] = pf.unit_product[:, i]
        return {"time": table}

    # -- interaction

    def _line_dragged(self, line: pg.InfiniteLine) -> None:
        self.cursor.set(round(line.value()))

    def _hover(self, pos) -> None:
        pf = self.factors
        if pf is None:
            return
        for plot in (self.step_plot, self.product_plot):
            if plot.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                t = int(np.clip(round(x), 0, len(pf.factor) - 1))
                if plot is self.step_plot:
                    text = f"t = {t}:  {pf.short} = {pf.factor[t]:.4g}"
                    values = pf.unit_factor
                else:
                    text = (
                        f"t = {t}:  product back to {self._end} = {pf.product[t]:.4g},  "
                        f"‖∂h_{{{self._end}}}/∂h_t‖ = {pf.exact[t]:.4g}"
                    )
                    values = pf.unit_product
                if pf.units:
                    text += "  |  units " + ", ".join(
                        f"{u}: {v:.3g}" for u, v in zip(pf.units, values[t], strict=True)
                    )
                self.hover_label.setText(text)
                return
