"""A panel's data as CSV: the numbers it draws, column for column (read back from the file and
compared with what the panel's plots hold), named with t or the training step first."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from rnnviz.qt.export import ExportError
from rnnviz.qt.panels import (
    EvidencePanel,
    GateActivationsPanel,
    GradientNormsPanel,
    StateTrajectoriesPanel,
    TrainingPanel,
    UnrolledGraphPanel,
)


def read_csv(path) -> dict[str, np.ndarray]:
    """{column name: values}, empty cells NaN."""
    with open(path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    return {
        n: np.array([float(r[i]) if r[i] else np.nan for r in rows]) for i, n in enumerate(header)
    }


def same(written: np.ndarray, drawn) -> bool:
    """Equal to the 9 digits a CSV keeps (NaN where the plot leaves a gap)."""
    return np.allclose(written, np.asarray(drawn, dtype=np.float64), rtol=1e-7, equal_nan=True)


@pytest.fixture
def snapshot(make_snapshot):
    return make_snapshot(steps=6, cell="lstm", task="sine")


def test_gates_write_every_heatmap_cell(show_panel, snapshot, tmp_path):
    panel = show_panel(GateActivationsPanel, snapshot)
    [path] = panel.export_data(tmp_path / "gates.csv")
    table = read_csv(path)
    H = snapshot.config.hidden
    assert list(table)[:3] == ["t", "i unit 0", "i unit 1"] and len(table) == 1 + 4 * H
    assert same(table["t"], np.arange(snapshot.trace.T))
    for gate in "ifgo":
        image = panel.images[gate].image  # (H, T): what the heatmap shows
        for unit in (0, H - 1):
            assert same(table[f"{gate} unit {unit}"], image[unit])


def test_states_write_the_curves_and_the_pca_path(show_panel, snapshot, tmp_path):
    panel = show_panel(StateTrajectoriesPanel, snapshot)
    table = read_csv(panel.export_data(tmp_path / "states.csv")[0])
    for unit, h_curve, c_curve in zip(panel.units, panel.h_curves, panel.c_curves, strict=True):
        assert same(table[f"h unit {unit}"], h_curve.yData)
        assert same(table[f"c unit {unit}"], c_curve.yData)
    assert same(table["PC1"], panel.pca_line.xData) and same(table["PC2"], panel.pca_line.yData)


def test_gradients_write_a_table_over_t_and_one_over_training_steps(show_panel, snapshot, tmp_path):
    panel = show_panel(GradientNormsPanel, snapshot)
    paths = panel.export_data(tmp_path / "gradients.csv")
    assert [p.name for p in paths] == ["gradients-time.csv", "gradients-steps.csv"]
    over_t, over_steps = (read_csv(p) for p in paths)
    assert same(over_t["‖∂L/∂h_t‖"], panel.grad_curve.yData)
    assert same(over_t["‖∂h_T−1/∂h_t‖ (spectral norm)"], panel.jacobian_curve.yData)
    assert same(over_steps["step"], np.arange(1, 7))
    assert same(over_steps["‖g‖ before clipping"], panel.norm_curve.yData)
    assert set(over_steps["clipped"]) <= {0.0, 1.0}


def test_training_writes_the_loss_and_the_predictions(show_panel, snapshot, tmp_path):
    panel = show_panel(TrainingPanel, snapshot)
    steps, time = (read_csv(p) for p in panel.export_data(tmp_path / "training"))
    assert same(steps["loss"], panel.loss_curve.yData)
    assert same(steps["mean loss of the last 50 steps"], panel.mean_curve.yData)
    assert same(time["prediction ŷ"], panel.pred_curve.yData)
    assert same(time["target y"], panel.target_curve.yData)


def test_graph_writes_each_rows_values(show_panel, snapshot, tmp_path):
    panel = show_panel(UnrolledGraphPanel, snapshot)
    table = read_csv(panel.export_data(tmp_path / "graph.csv")[0])
    assert list(table) == ["t", "‖c_t‖ (layer 0)", "‖h_t‖ (layer 0)"]
    assert same(table["‖h_t‖ (layer 0)"], panel.values[2])


def test_gradient_history_writes_every_recording(show_panel, probed_snapshot, tmp_path):
    from rnnviz.qt.panels import GradientHistoryPanel

    panel = show_panel(GradientHistoryPanel, probed_snapshot(record_at=(0, 2, 3, 7)))
    table = read_csv(panel.export_data(tmp_path / "history.csv")[0])
    assert same(table["step"], [0, 2, 3, 7]) and len(table) == 1 + panel.norms.shape[1]
    for row, recording in enumerate(panel.rows):  # the heatmap's rows: log10 of recordings
        for t in (0, 5):
            logged = np.log10(table[f"‖∂L/∂h_t‖ at t = {t}"][recording])
            assert logged == pytest.approx(panel.image.image[row, t], rel=1e-6)


def test_a_panel_without_a_table_says_so(show_panel, snapshot, tmp_path):
    panel = show_panel(EvidencePanel, snapshot)  # sine: no sentence, no evidence
    with pytest.raises(ExportError, match="draws no table of numbers"):
        panel.export_data(tmp_path / "evidence.csv")
    assert list(tmp_path.iterdir()) == []
