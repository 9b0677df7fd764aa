"""Gate weights panel: a user's W_ih and W_hh split into the gates' blocks, with their norms."""

import numpy as np
import pytest
import torch
from torch import nn

from rnnviz.core.foreign import from_state_dict
from rnnviz.core.foreign_trace import record_foreign
from rnnviz.qt.open_files import trace_snapshot
from rnnviz.qt.panels import GateWeightsPanel


@pytest.mark.parametrize(("kind", "gates"), [(nn.LSTM, "ifgo"), (nn.GRU, "rzn")])
def test_blocks_are_torchs_gate_rows_with_their_norms(show_panel, kind, gates):
    torch.manual_seed(0)
    m = kind(3, 5, num_layers=2, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((1, 6, 3)).astype(np.float32)
    snapshot = trace_snapshot(
        record_foreign(from_state_dict(m.state_dict()), x, jacobian_sequences=0)
    )
    panel = show_panel(GateWeightsPanel, snapshot)
    panel.layer_combo.setCurrentIndex(3)  # layer 1, reverse direction
    assert panel.layer_combo.currentData() == "l1_reverse"
    w_ih, w_hh = m.weight_ih_l1_reverse.detach().numpy(), m.weight_hh_l1_reverse.detach().numpy()
    G = len(gates)
    assert [b.name for b in panel.blocks] == [f"W_i{g}" for g in gates] + [f"W_h{g}" for g in gates]
    for k, g in enumerate(gates):
        ih, hh = panel.blocks[k], panel.blocks[G + k]
        np.testing.assert_allclose(ih.weights, w_ih[5 * k : 5 * (k + 1)], rtol=1e-6)  # (5, 10)
        np.testing.assert_allclose(hh.weights, w_hh[5 * k : 5 * (k + 1)], rtol=1e-6)
        sigma = np.linalg.svd(w_hh[5 * k : 5 * (k + 1)], compute_uv=False)[0]
        title = panel.block_plots[4 + k].titleLabel.item.toPlainText()
        assert f"Wh{g}" in title
        assert f"‖·‖F {np.linalg.norm(w_hh[5 * k : 5 * (k + 1)]):.3g}" in title
        assert f"σ₁ {sigma:.3g}" in title and "ρ" in title
        assert "ρ" not in panel.block_plots[k].titleLabel.item.toPlainText()  # W_i· not square
    # a GRU leaves the fourth column empty
    assert panel.block_plots[3].isVisible() == (G == 4)


def test_data_export_holds_the_blocks_and_their_singular_values(show_panel, tmp_path):
    torch.manual_seed(0)
    m = nn.GRU(2, 3)
    x = np.zeros((1, 4, 2), dtype=np.float32)
    snapshot = trace_snapshot(
        record_foreign(from_state_dict(m.state_dict()), x, jacobian_sequences=0)
    )
    panel = show_panel(GateWeightsPanel, snapshot)
    tables = panel.data_tables()
    assert list(tables) == ["W_ir", "W_iz", "W_in", "W_hr", "W_hz", "W_hn", "singular_values"]
    np.testing.assert_allclose(tables["W_iz"]["input 1"], m.weight_ih_l0.detach()[3:6, 1])
    sv = tables["singular_values"]
    assert list(sv["k"]) == [1, 2, 3] and np.isnan(sv["σ_k of W_ir"][2])  # 3 × 2: two
    assert panel.animation_axes() == ()
