"""The pictures the presets promise, panel by panel: an exploded W_hh keeps the unit circle in
view, a diverged run's gradient is not drawn over the runs that train on, and the Training
panel's title and mean curve show the loss the presets quote."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rnnviz.core.claims import RECENT_STEPS, recent_loss
from rnnviz.qt.panels.core.training import TrainingPanel
from rnnviz.qt.panels.lab.comparison import ComparisonPanel
from rnnviz.qt.panels.lab.spectrum import SpectrumPanel


def with_w_hh(snapshot, factor: float):
    params = dict(snapshot.trace.params)
    params["weight_hh_l0"] = np.asarray(params["weight_hh_l0"], dtype=np.float64) * factor
    return dataclasses.replace(snapshot, trace=dataclasses.replace(snapshot.trace, params=params))


def drawn_points(panel: SpectrumPanel) -> np.ndarray:
    x, y = panel.eig_points["h"].getData()
    return np.asarray(x) + 1j * np.asarray(y)


def test_an_exploded_w_hh_is_drawn_on_a_log_radius_with_the_unit_circle_in_view(
    make_snapshot, show_panel
):
    snap = make_snapshot(cell="rnn", task="sine")
    w = np.asarray(snap.trace.params["weight_hh_l0"], dtype=np.float64)
    exploded = with_w_hh(snap, 1e9 / np.abs(np.linalg.eigvals(w)).max())  # rho = 1e9
    radii = {"l0 h": np.array([2.0, 30.0, 1e9])}  # recordings as rho blew up
    probes = dataclasses.replace(snap.probes, step=np.array([0, 5, 10]), radii=radii)
    exploded = dataclasses.replace(exploded, probes=probes)
    lam = np.linalg.eigvals(np.asarray(exploded.trace.params["weight_hh_l0"]))
    panel = show_panel(SpectrumPanel, exploded, size=(900, 500))
    assert "log radius" in panel.eig_plot.titleLabel.text
    # each eigenvalue at its angle, |λ| > 1 at 1 + log10 |λ|: all within about 10 of 0
    r = np.abs(lam)
    expected = np.sort(np.where(r > 1, 1 + np.log10(np.maximum(r, 1)), r))
    np.testing.assert_allclose(np.sort(np.abs(drawn_points(panel))), expected, rtol=1e-6)
    (x0, x1), (y0, y1) = panel.eig_plot.vb.viewRange()
    assert x1 - x0 < 25 and y1 - y0 < 25  # the unit circle spans a tenth of the view or more
    assert x0 < -1 and x1 > 1 and y0 < -1 and y1 > 1
    rings = np.abs(panel.rings.getData()[0] + 1j * panel.rings.getData()[1])
    assert set(np.round(rings[np.isfinite(rings)], 6)) == {float(k) for k in range(2, 11)}
    assert panel.sv_plot.getAxis("left").logMode  # σ up to 1e9: a log axis
    # ρ over training on a log axis, where ρ = 1 (log10: 0) and 1e9 both show
    assert panel.radius_plot.getAxis("left").logMode and panel.rho_one.value() == 0.0
    _, (r0, r1) = panel.radius_plot.vb.viewRange()
    assert r0 <= 0 and r1 >= 9
    # a W_hh near the unit circle is drawn as it is again
    panel.set_snapshot(snap)
    panel.refresh(force=True)
    assert "log radius" not in panel.eig_plot.titleLabel.text
    np.testing.assert_allclose(
        np.sort_complex(drawn_points(panel)), np.sort_complex(np.linalg.eigvals(w)), atol=1e-6
    )
    assert not panel.sv_plot.getAxis("left").logMode
    assert not panel.radius_plot.getAxis("left").logMode and panel.rho_one.value() == 1.0


def test_a_diverged_runs_gradient_is_not_drawn_over_the_others(side_by_side, show_panel):
    runs = list(side_by_side.runs)
    runs[1] = dataclasses.replace(runs[1], diverged=True)
    snap = dataclasses.replace(side_by_side, runs=tuple(runs))
    panel = show_panel(ComparisonPanel, snap)
    assert [len(n) for n in panel.norms] == [snap.trace.T, 0, snap.trace.T]
    assert "LSTM: diverged, not drawn" in panel.readout.text()
    assert "LSTM — diverged at step" in panel.legend.items[1][1].text  # its loss still is


def test_training_title_and_mean_curve_show_the_loss_the_presets_quote(make_snapshot, show_panel):
    snap = make_snapshot(steps=RECENT_STEPS + 20, task="sine")
    panel = show_panel(TrainingPanel, snap)
    quoted = recent_loss(snap.history)
    assert quoted == np.mean(snap.history.loss[-RECENT_STEPS:])
    assert f"step {snap.step}: {quoted:.4g}" in panel.loss_plot.titleLabel.text
    assert panel.mean_curve.yData[-1] == pytest.approx(quoted, rel=1e-12)
