"""Every panel that draws numbers writes them as CSV: the laboratory, word and text panels, each
checked against what it draws for a snapshot built in-process (read back from the file)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from rnnviz.qt.panels import LAB_PANELS, PANELS
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.lab.cliff import CliffPanel
from rnnviz.qt.panels.lab.comparison import ComparisonPanel
from rnnviz.qt.panels.lab.factors import GradientFactorsPanel
from rnnviz.qt.panels.lab.saturation import GateSaturationPanel
from rnnviz.qt.panels.lab.spectrum import SpectrumPanel
from rnnviz.qt.panels.text.char_units import CharUnitsPanel
from rnnviz.qt.panels.text.connectivity import ConnectivityPanel
from rnnviz.qt.panels.text.guesses import NextGuessesPanel
from rnnviz.qt.panels.text.piano_roll import PianoRollPanel
from rnnviz.qt.panels.words.attribution import AttributionPanel
from rnnviz.qt.panels.words.embedding import EmbeddingPanel
from rnnviz.qt.panels.words.evidence import EvidencePanel
from rnnviz.qt.plotkit import positive_or_nan

# Panels without a table, and why: each other registered panel must write one.
WITHOUT_TABLE: dict[str, str] = {}


def read_csv(path) -> dict[str, np.ndarray]:
    """{column name: values}: numbers as floats (empty cells NaN), text as text."""
    with open(path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    out = {}
    for i, name in enumerate(header):
        cells = [r[i] for r in rows]
        try:
            out[name] = np.array([float(c) if c else np.nan for c in cells])
        except ValueError:
            out[name] = np.array(cells)
    return out


def tables(panel: Panel, tmp_path) -> dict[str, dict[str, np.ndarray]]:
    """The panel's CSV files read back, by table name."""
    names = list(panel.data_tables())
    paths = panel.export_data(tmp_path / f"{panel.key}.csv")
    return {name: read_csv(p) for name, p in zip(names, paths, strict=True)}


def same(written, drawn) -> bool:
    """Equal to the 9 digits a CSV keeps (NaN where the plot leaves a gap)."""
    drawn = np.asarray(drawn, dtype=np.float64)
    return np.allclose(written, drawn, rtol=1e-7, atol=1e-12, equal_nan=True)


def test_every_panel_that_draws_numbers_has_a_table():
    for cls in (*PANELS, *LAB_PANELS):
        has = cls.data_tables is not Panel.data_tables
        assert has != (cls.key in WITHOUT_TABLE), cls.key


@pytest.fixture(scope="module")
def lstm():
    """An LSTM on sine with recordings at steps 0, 2 and 3 (the probes' history)."""
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer

    trainer = Trainer(Config(cell="lstm", hidden=6, seq_len=16, batch=4, device="cpu"))
    trace = None
    while trainer.step_count <= 3:
        if trainer.step_count in (0, 2, 3):
            trace = trainer.record()
        trainer.train_step()
    return trainer.snapshot(state="paused", trace=trace, steps_per_s=0.0)


def test_laboratory_panels_write_what_they_draw(show_panel, lstm, tmp_path):
    spectrum = show_panel(SpectrumPanel, lstm)
    eig, sv, steps = tables(spectrum, tmp_path).values()
    assert list(eig)[:3] == ["k", "Re λ_k of W_hi", "Im λ_k of W_hi"]
    for block in "ifgo":
        assert same(eig[f"Re λ_k of W_h{block}"], spectrum.eig_points[block].xData)
        assert same(eig[f"Im λ_k of W_h{block}"], spectrum.eig_points[block].yData)
        assert same(sv[f"σ_k of W_h{block}"], spectrum.sv_curves[block].yData)
        assert same(steps[f"ρ(W_h{block})"], spectrum.radius_curves[block].yData)
    assert same(steps["step"], [0, 2, 3])

    factors = show_panel(GradientFactorsPanel, lstm)
    (time,) = tables(factors, tmp_path).values()
    assert same(time["t"], np.arange(16))
    assert same(
        positive_or_nan(time["one-step factor forget gate f_t (geometric mean over units)"]),
        factors.factor_curve.yData,
    )
    assert same(positive_or_nan(time["product back to t = T−1"]), factors.product_curve.yData)
    assert same(positive_or_nan(time["‖∂h_T−1/∂h_t‖ (spectral norm)"]), factors.exact_curve.yData)

    saturation = show_panel(GateSaturationPanel, lstm)
    units, time = tables(saturation, tmp_path).values()
    for g in "ifo":
        assert same(units[f"{g} fraction shut (γ < 0.1)"], saturation.points[g].xData)
        assert same(units[f"{g} fraction open (γ > 0.9)"], saturation.points[g].yData)
    g, k = saturation.shown
    assert same(time[f"{g} of unit {k}, sequence 0"], saturation.unit_curve.yData)
    assert len(time) == 1 + 4  # t, then each of the probe batch's 4 sequences

    comparison = show_panel(ComparisonPanel, lstm)
    time, steps = tables(comparison, tmp_path).values()
    assert same(time["‖∂L/∂h_t‖ of this run (lstm)"], comparison.grad_curves[0].yData)
    assert same(steps["step"], lstm.history.step)
    assert same(steps["loss of this run (lstm)"], lstm.history.loss)

    cliff = show_panel(CliffPanel)
    (steps,) = tables(cliff, tmp_path).values()
    n = len(cliff.free_path.errors)
    assert same(steps["w, unclipped"][:n], cliff.free_path.points[:, 0])
    assert same(steps["E, clipped"][: len(cliff.clip_path.errors)], cliff.clip_path.errors)
    assert same(
        steps["‖g‖, clipped"][: len(cliff.clip_path.grad_norms)], cliff.clip_path.grad_norms
    )


@pytest.fixture(scope="module")
def sentiment():
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer

    trainer = Trainer(Config(task="sentiment", hidden=8, embed_dim=4, batch=4, device="cpu"))
    for _ in range(2):
        trainer.train_step()
    return trainer.snapshot(state="paused", trace=trainer.record(jacobians=False), steps_per_s=0)


def test_word_panels_write_the_words_and_their_values(show_panel, sentiment, tmp_path):
    trace = sentiment.trace
    n = int(trace.input_mask[0].sum())
    words = [str(w) for w in trace.tokens[0, :n]]
    evidence = show_panel(EvidencePanel, sentiment)
    (time,) = tables(evidence, tmp_path).values()
    assert list(time["word"]) == words
    [p] = [c for c in time if c.startswith("P(")]
    assert same(time[p], evidence.curves[0].yData)

    attribution = show_panel(AttributionPanel, sentiment)
    (time,) = tables(attribution, tmp_path).values()
    assert list(time["word"]) == words and len(time) == 3
    [a] = [c for c in time if c.startswith("A_t")]
    assert same(time[a], attribution.values[0][:n])
    shown = attribution.grids[0].texts[1]  # the strip's numbers, as drawn
    assert [f"{v:+.2f}" for v in time[a]] == shown

    embedding = show_panel(EmbeddingPanel, sentiment)
    (symbols,) = tables(embedding, tmp_path).values()
    assert list(symbols["symbol"]) == list(trace.meta["input_vocab"])
    x, y = (symbols[c] for c in list(symbols)[2:])
    keep = np.isfinite(x)
    assert same(x[keep], embedding.points.xData) and same(y[keep], embedding.points.yData)


def test_text_panels_write_the_symbols_and_their_values(show_panel, charlm, tmp_path):
    trace = charlm.trace
    units = show_panel(CharUnitsPanel, charlm)
    (time,) = tables(units, tmp_path).values()
    assert list(time["character"]) == units.labels
    h = time[f"h_t[0] ({trace.layers[0].name})"]
    b, t = time["sequence"].astype(int), time["t"].astype(int)
    assert same(h, trace.layers[0].h[b, t, 0])

    guesses = show_panel(NextGuessesPanel, charlm)
    (time,) = tables(guesses, tmp_path).values()
    assert list(time["1st guess"]) == guesses.grid.texts[1]  # the grid's first row of guesses
    assert same(time["p of the 1st guess"], guesses.guesses.p[:, 0])
    assert set(time["rank of y_t"]) >= {1.0} or time["rank of y_t"].min() >= 1

    connectivity = show_panel(ConnectivityPanel, charlm, t=7)
    (matrix,) = tables(connectivity, tmp_path).values()
    assert list(matrix["input x_s"]) == connectivity.grids[0].texts[0]
    assert same(matrix["‖∂ ln p_t(y_t)/∂x_s‖ for t = 7"], trace.connectivity[7])


def test_the_piano_roll_writes_its_heatmap(show_panel, tmp_path):
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer

    trainer = Trainer(Config(task="music", hidden=8, seq_len=24, batch=4, device="cpu"))
    trainer.train_step()
    snapshot = trainer.snapshot(state="paused", trace=trainer.record(), steps_per_s=0.0)
    roll = show_panel(PianoRollPanel, snapshot)
    (time,) = tables(roll, tmp_path).values()
    pitches = [c for c in time if c.startswith("p(next = MIDI")]
    assert same(np.stack([time[c] for c in pitches]), roll.heat.image)  # (pitches, T)
    total = sum(time[c] for c in pitches) + time["p(next = rest)"] + time["p(next = end)"]
    assert (total <= 1 + 1e-6).all()  # the pitches drawn: the melody's range and a margin
