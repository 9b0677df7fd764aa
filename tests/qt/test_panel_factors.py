"""Gradient factors panel: the one-step factors are the Jacobian norms and gates of the trace,
the products are the products of the later factors, log axes survive zeros and NaN, and the
panel exports."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest

from rnnviz.qt.panels.lab.factors import GradientFactorsPanel, path_factors
from rnnviz.qt.plotkit import positive_or_nan, sci


@pytest.fixture
def show(show_panel):
    """show(snapshot) -> a laid-out GradientFactorsPanel drawing `snapshot`."""
    return lambda snapshot: show_panel(GradientFactorsPanel, snapshot, size=(900, 500))


def later_products(factors: np.ndarray) -> np.ndarray:
    """prod_{s>t} factors_s for every t, the plain way."""
    return np.array([np.prod(factors[t + 1 :], axis=0) for t in range(len(factors))])


def replace_layer(snap, **changes):
    lt = dataclasses.replace(snap.trace.layers[0], **changes)
    return dataclasses.replace(snap, trace=dataclasses.replace(snap.trace, layers=(lt,)))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_factor_is_the_one_step_jacobian_norm(make_snapshot, show, nonlinearity):
    snap = make_snapshot(cell="rnn", nonlinearity=nonlinearity, task="sine", seq_len=15)
    panel = show(snap)
    lt = snap.trace.layer(0)
    W = np.asarray(snap.trace.params["weight_hh_l0"], dtype=np.float64)
    a = np.asarray(lt.preact[0], dtype=np.float64)
    fprime = 1 - np.tanh(a) ** 2 if nonlinearity == "tanh" else (a > 0).astype(float)
    norms = np.array([np.linalg.norm(np.diag(d) @ W, 2) for d in fprime])
    # the recorder computes them in float32, in the training process
    np.testing.assert_allclose(panel.factor_curve.yData, norms, rtol=1e-5)
    np.testing.assert_allclose(panel.product_curve.yData, later_products(norms), rtol=1e-4)
    np.testing.assert_allclose(panel.exact_curve.yData, lt.jacobian_norm[0], rtol=1e-9)
    np.testing.assert_array_equal(panel.factor_curve.xData, np.arange(15))
    # The product of the norms bounds the norm of the product.
    assert np.all(panel.exact_curve.yData <= panel.product_curve.yData * (1 + 1e-4))
    for plot in (panel.step_plot, panel.product_plot):
        assert plot.getAxis("left").logMode
    assert "upper bound" in panel.product_plot.titleLabel.text


def test_lstm_cell_path_is_the_product_of_forget_gates(make_snapshot, show):
    snap = make_snapshot(cell="lstm", task="adding", seq_len=25)
    panel = show(snap)
    f = np.asarray(snap.trace.layer(0).gates["f"][0], dtype=np.float64)  # (T, H)
    geo = np.exp(np.log(f).mean(axis=1))
    np.testing.assert_allclose(panel.factor_curve.yData, geo, rtol=1e-9)
    # The bold product is the mean over units of the log of each unit's product.
    per_unit = later_products(f)  # (T, H)
    np.testing.assert_allclose(
        panel.product_curve.yData, np.exp(np.log(per_unit).mean(axis=1)), rtol=1e-9
    )
    np.testing.assert_allclose(panel.product_curve.yData, later_products(geo), rtol=1e-9)
    # Thin curves: single units, exactly their own products, the most persistent first.
    pf = panel.factors
    assert len(pf.units) == 5
    np.testing.assert_allclose(pf.unit_product, per_unit[:, pf.units], rtol=1e-9)
    whole = per_unit[0, pf.units]
    assert whole[0] == per_unit[0].max() and whole[-1] == per_unit[0].min()
    assert np.all(np.diff(whole) <= 0)
    x, y = panel.unit_product_curve.xData, panel.unit_product_curve.yData
    np.testing.assert_allclose(y[: len(f)], per_unit[:, pf.units[0]], rtol=1e-9)
    assert np.isnan(x[len(f)])  # curves separated by a gap
    np.testing.assert_allclose(panel.exact_curve.yData, snap.trace.layer(0).jacobian_norm[0])
    assert "forget gate" in panel.step_plot.titleLabel.text
    assert "geometric mean" in panel.step_plot.titleLabel.text
    assert "back to T" in panel.product_plot.titleLabel.text
    assert panel.product_plot.getAxis("left").labelText == "∏ (geo. mean, units)"


@pytest.mark.parametrize("cell", ["gru", "simple-gru"])
def test_gru_carry_is_torchs_z_named_as_the_lectures_one_minus_z(make_snapshot, show, cell):
    snap = make_snapshot(cell=cell, task="sine", seq_len=12)
    panel = show(snap)
    z = np.asarray(snap.trace.layer(0).gates["z"][0], dtype=np.float64)
    np.testing.assert_allclose(panel.factor_curve.yData, np.exp(np.log(z).mean(axis=1)))
    np.testing.assert_allclose(panel.factors.unit_factor, z[:, panel.factors.units])
    title = panel.step_plot.titleLabel.text
    assert "carry z<sub>t</sub>" in title and "the lecture's 1 − z<sub>t</sub>" in title


def test_reverse_direction_multiplies_back_to_t_zero(make_snapshot, show):
    snap = make_snapshot(cell="gru", task="tagging", seq_len=10, bidirectional=True, layers=3)
    panel = show(snap)
    assert panel.layer_combo.count() == 6
    panel.layer_combo.setCurrentIndex(panel.layer_combo.findText("layer 2 ←"))
    z = np.asarray(snap.trace.layer(2, reverse=True).gates["z"][0], dtype=np.float64)
    before = np.array([np.prod(z[:t], axis=0) for t in range(len(z))])  # prod_{s<t}
    np.testing.assert_allclose(panel.factors.unit_product, before[:, panel.factors.units])
    assert "back to 0" in panel.product_plot.titleLabel.text
    assert "product back to 0" in panel.readout.text()


def test_cursor_moves_the_lines_and_reads_out_the_values(make_snapshot, show):
    snap = make_snapshot(cell="rnn", task="sine", seq_len=20)
    panel = show(snap)
    panel.cursor.set(12)
    assert all(line.value() == 12 for line in panel.cursor_lines)
    pf = panel.factors
    text = panel.readout.text()
    assert "at t = 12" in text
    assert f"one-step factor {sci(pf.factor[12])}" in text
    assert f"product back to T−1 <b>{sci(pf.product[12])}</b>" in text
    assert pf.product[12] == pytest.approx(np.prod(pf.factor[13:]), rel=1e-9)


def test_hover_reads_out_the_values_under_the_mouse(make_snapshot, show):
    panel = show(make_snapshot(cell="lstm", task="sine", seq_len=12))
    panel.grab()  # lay out and auto-range as on screen
    pf = panel.factors
    scene = panel.view.scene()
    scene.sigMouseMoved.emit(
        panel.step_plot.vb.mapViewToScene(pg.Point(4.2, np.log10(pf.factor[4])))
    )
    units = ", ".join(f"{u}: {v:.3g}" for u, v in zip(pf.units, pf.unit_factor[4], strict=True))
    assert panel.hover_label.text() == (
        f"t = 4:  forget gate f_t = {pf.factor[4]:.4g}  |  units {units}"
    )
    scene.sigMouseMoved.emit(
        panel.product_plot.vb.mapViewToScene(pg.Point(6.9, np.log10(pf.product[7])))
    )
    assert panel.hover_label.text().startswith(
        f"t = 7:  product back to T−1 = {pf.product[7]:.4g},  ‖∂h_{{T−1}}/∂h_t‖ = {pf.exact[7]:.4g}"
    )


def test_zeros_and_nan_become_gaps_not_errors(make_snapshot, show):
    snap = make_snapshot(cell="rnn", task="sine", seq_len=10)
    lt = snap.trace.layers[0]
    factor = np.array(lt.step_factor)
    factor[0, 6] = np.nan  # a diverged step
    nan = np.full(lt.jacobian_norm.shape, np.nan)
    panel = show(replace_layer(snap, step_factor=factor, jacobian_norm=nan))
    assert np.isnan(panel.factor_curve.yData[6]) and np.isfinite(panel.factor_curve.yData[7:]).all()
    assert np.isnan(panel.product_curve.yData[:6]).all()  # every product through step 6
    assert np.isfinite(panel.product_curve.yData[6:]).all()
    assert "not recorded" in panel.product_plot.titleLabel.text

    snap = make_snapshot(cell="lstm", task="sine", seq_len=10)
    f = np.array(snap.trace.layers[0].gates["f"])
    f[0, 3] = 0.0  # a gate that closed completely: log 0
    f[0, 8, 0] = np.inf
    panel = show(replace_layer(snap, gates={**snap.trace.layers[0].gates, "f": f}))
    assert np.isnan(panel.factor_curve.yData[3])
    assert np.isnan(panel.product_curve.yData[:3]).all()
    panel.cursor.set(1)
    assert "at t = 1" in panel.readout.text()

    f = np.array(snap.trace.layers[0].gates["f"], dtype=np.float64)
    f[0, 5:7] = 1e-200  # a product of positive factors below the smallest double
    panel = show(replace_layer(snap, gates={**snap.trace.layers[0].gates, "f": f}))
    assert panel.factors.product[2] == 0.0
    panel.cursor.set(2)
    assert "product back to T−1 <b>0 (below 10<sup>−308</sup>)</b>" in panel.readout.text()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "peephole-lstm", "gru", "simple-gru"])
def test_every_cell_long_sequence(make_snapshot, show, cell):
    snap = make_snapshot(cell=cell, steps=1, task="sine", seq_len=1000, hidden=4, batch=2)
    panel = show(snap)
    assert len(panel.factor_curve.yData) == 1000
    assert panel.product_curve.yData[-1] == 1.0  # nothing after the last step
    reference = path_factors(snap.trace, snap.trace.layers[0])
    # Products below 1e-308 underflow to 0: gaps on the log axis, not errors.
    np.testing.assert_allclose(panel.product_curve.yData, positive_or_nan(reference.product))
    assert np.isfinite(panel.product_curve.yData[-100:]).all()


def test_no_recording_yet(make_snapshot, show):
    panel = show(dataclasses.replace(make_snapshot(), trace=None))
    assert panel.readout.text() == "no recording yet"
    assert panel.factor_curve.xData is None or len(panel.factor_curve.xData) == 0
