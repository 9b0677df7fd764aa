"""W_hh spectrum panel: the points are the eigenvalues of each gate block, a new spectral radius
moves them, the radius history holds every recording, and the panel exports."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage

from rnnviz.qt.panels.lab.spectrum import SpectrumPanel


@pytest.fixture
def show(show_panel):
    """show(snapshot, panel=None) -> a laid-out SpectrumPanel drawing `snapshot`."""

    def make(snapshot, panel=None):
        if panel is None:  # the cursor's length stays 1: the spectrum has no time axis
            panel = show_panel(SpectrumPanel, size=(900, 500))
        panel.set_snapshot(snapshot)
        panel.refresh(force=True)
        return panel

    return make


def shown_eigenvalues(panel: SpectrumPanel, block: str) -> np.ndarray:
    x, y = panel.eig_points[block].getData()
    return np.sort_complex(np.asarray(x) + 1j * np.asarray(y)) if x is not None else np.zeros(0)


def test_points_are_the_eigenvalues_of_every_gate_block(make_snapshot, show):
    snap = make_snapshot(cell="lstm", hidden=6)
    panel = show(snap)
    W = np.asarray(snap.trace.params["weight_hh_l0"], dtype=np.float64)  # (4H, H)
    for k, block in enumerate("ifgo"):
        blk = W[6 * k : 6 * (k + 1)]
        np.testing.assert_allclose(
            shown_eigenvalues(panel, block), np.sort_complex(np.linalg.eigvals(blk)), atol=1e-9
        )
        np.testing.assert_allclose(
            panel.sv_curves[block].yData, np.linalg.svd(blk, compute_uv=False), rtol=1e-9
        )
        np.testing.assert_array_equal(panel.sv_curves[block].xData, np.arange(1, 7))
    for block in "rzhn":  # not an LSTM block: drawn empty
        assert len(shown_eigenvalues(panel, block)) == 0


def test_spectral_radius_setting_moves_the_eigenvalues(make_snapshot, show):
    panel = None
    for radius, word in ((0.5, "shrinks"), (1.5, "can grow")):
        snap = make_snapshot(steps=0, cell="rnn", init="orthogonal", spectral_radius=radius)
        panel = show(snap, panel)
        panel.grab()  # lay out and auto-range as on screen
        lam = shown_eigenvalues(panel, "h")
        assert np.abs(lam).max() == pytest.approx(radius, rel=1e-5)
        # An orthogonal matrix rescaled: every eigenvalue on the circle of that radius.
        np.testing.assert_allclose(np.abs(lam), radius, rtol=1e-5)
        (x0, x1), (y0, y1) = panel.eig_plot.viewRange()
        assert x0 <= -radius and x1 >= radius and y0 <= -radius and y1 >= radius
        text = panel.readout.text()
        assert f"ρ(W<sub>hh</sub>) = {radius:.3g}</b>" in text
        assert word in text


def test_one_gate_block_at_a_time(make_snapshot, show):
    snap = make_snapshot(cell="gru", hidden=5)
    panel = show(snap)
    assert panel.block_combo.isVisible()
    assert [panel.block_combo.itemData(i) for i in range(4)] == [None, "r", "z", "n"]
    panel.block_combo.setCurrentIndex(2)  # z
    assert len(shown_eigenvalues(panel, "z")) == 5
    assert len(shown_eigenvalues(panel, "r")) == len(shown_eigenvalues(panel, "n")) == 0
    W = np.asarray(snap.trace.params["weight_hh_l0"], dtype=np.float64)[5:10]
    rho = np.abs(np.linalg.eigvals(W)).max()
    assert f"ρ(W<sub>hz</sub>) = {rho:.3g}" in panel.readout.text()
    assert panel.radius_curves["r"].xData is None  # the history, too, shows z alone
    np.testing.assert_allclose(panel.radius_curves["z"].yData, snap.probes.radii["l0 z"])


def test_elman_rnn_has_no_gate_block_choice(make_snapshot, show):
    panel = show(make_snapshot(cell="rnn"))
    assert not panel.block_combo.isVisible()
    assert len(shown_eigenvalues(panel, "h")) == 8


def test_radius_history_holds_every_recording(probed_snapshot, show):
    snap = probed_snapshot(record_at=(0, 2, 3, 7), cell="lstm")
    panel = show(snap)
    probes = snap.probes
    np.testing.assert_array_equal(probes.step, [0, 2, 3, 7])
    for block in "ifgo":
        np.testing.assert_array_equal(panel.radius_curves[block].xData, probes.step)
        np.testing.assert_allclose(panel.radius_curves[block].yData, probes.radii[f"l0 {block}"])
        # The latest recording is the one whose eigenvalues are drawn.
        rho = np.abs(shown_eigenvalues(panel, block)).max()
        assert rho == pytest.approx(probes.radii[f"l0 {block}"][-1], rel=1e-9)
    assert panel.step_line.value() == 7
    assert panel.readout.text().startswith("step 7: ")


def test_bidirectional_three_layers_show_the_chosen_direction(make_snapshot, show):
    snap = make_snapshot(cell="simple-gru", task="tagging", layers=3, bidirectional=True, hidden=4)
    panel = show(snap)
    assert panel.layer_combo.count() == 6
    panel.layer_combo.setCurrentIndex(panel.layer_combo.findText("layer 2 ←"))
    W = np.asarray(snap.trace.params["weight_hh_l2_reverse"], dtype=np.float64)
    np.testing.assert_allclose(
        shown_eigenvalues(panel, "n"), np.sort_complex(np.linalg.eigvals(W[4:8])), atol=1e-9
    )
    np.testing.assert_allclose(panel.radius_curves["z"].yData, snap.probes.radii["l2_reverse z"])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "peephole-lstm", "gru", "simple-gru"])
def test_every_cell_draws_its_blocks(make_snapshot, show, cell):
    from rnnviz.core.cells import CELLS

    panel = show(make_snapshot(cell=cell, steps=1))
    for block in CELLS[cell].blocks:
        assert len(shown_eigenvalues(panel, block)) == 8
    assert "ρ(W<sub>h" in panel.readout.text()


def test_no_recording_and_non_finite_weights_are_messages_not_errors(make_snapshot, show):
    from rnnviz.core.train import ProbeHistory

    snap = make_snapshot(cell="lstm")
    empty = ProbeHistory(step=np.zeros(0, np.int64), grad_norms={}, radii={})
    panel = show(dataclasses.replace(snap, trace=None, probes=empty))
    assert panel.readout.text() == "no recording yet"
    assert len(shown_eigenvalues(panel, "f")) == 0
    params = dict(snap.trace.params)
    params["weight_hh_l0"] = np.full_like(params["weight_hh_l0"], np.nan)
    broken = dataclasses.replace(snap, trace=dataclasses.replace(snap.trace, params=params))
    panel = show(broken, panel)
    assert "non-finite" in panel.readout.text()
    assert len(shown_eigenvalues(panel, "f")) == 0


def test_hover_reads_out_the_eigenvalue_and_the_radius(probed_snapshot, show):
    snap = probed_snapshot(record_at=(0, 2, 3), cell="rnn", init="orthogonal", spectral_radius=0.8)
    panel = show(snap)
    panel.grab()
    lam = shown_eigenvalues(panel, "h")
    target = lam[np.argmax(lam.imag)]
    scene = panel.view.scene()
    scene.sigMouseMoved.emit(panel.eig_plot.vb.mapViewToScene(pg.Point(target.real, target.imag)))
    assert panel.hover_label.text() == (
        f"W_hh: λ = {target.real:.4g} + {target.imag:.4g}i,  |λ| = {abs(target):.4g}"
    )
    r = snap.probes.radii["l0 h"]
    scene.sigMouseMoved.emit(panel.radius_plot.vb.mapViewToScene(pg.Point(2.2, r[1])))
    assert panel.hover_label.text() == f"step 2:  ρ(W_hh) = {r[1]:.4g}"


def test_first_export_has_every_tick_label(make_snapshot, show, tmp_path):
    """An axis widens to labels like 40000 only as it paints them: a panel exported before it
    was ever painted (as `rnnviz export` does) must still have them."""
    panel = show(make_snapshot(steps=3, cell="rnn", hidden=8, spectral_radius=3e4))
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    panel.export(first)
    panel.export(second)  # by now painted once at least
    assert QImage(str(first)) == QImage(str(second))
