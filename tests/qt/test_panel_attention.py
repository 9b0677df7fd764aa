"""The attention panel draws a probe sequence's weights α_t,j without padding, labels both axes
with the tokens, outlines the decoder step under the time cursor, and says why it is empty
for a model without attention."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from rnnviz.qt.panels.lab.attention import NO_ATTENTION, NOT_SEQ2SEQ, AttentionPanel


@pytest.fixture
def show(show_panel):
    return lambda snapshot, t=0: show_panel(AttentionPanel, snapshot, size=(900, 550), t=t)


def ticks(panel, side):
    return [label for _, label in panel.heat.plot.getAxis(side)._tickLevels[0]]


def test_heatmap_of_one_sequence_with_its_tokens_and_the_cursor_row(make_snapshot, show):
    snap = make_snapshot(task="reverse", seq_len=6, attention="additive", hidden=6, batch=4)
    trace = snap.trace
    panel = show(snap, t=2)
    panel.sequence.setCurrentIndex(1)
    real = trace.tokens_in[1] != "<pad>"
    rows = int(trace.loss_mask[1].sum())
    np.testing.assert_allclose(panel.heat.image.image, trace.attn[1, :rows][:, real])
    np.testing.assert_allclose(panel.heat.image.image.sum(1), 1.0, atol=1e-6)
    assert ticks(panel, "bottom") == list(trace.tokens_in[1][real])
    assert ticks(panel, "left") == [*trace.tokens_out[1][: rows - 1], "⟨eos⟩"]
    x, y = panel.heat.row_box.getData()
    assert (min(y), max(y)) == (1.5, 2.5) and (min(x), max(x)) == (-0.5, real.sum() - 0.5)
    j = int(trace.attn[1, 2][real].argmax())
    assert f"input token {j} '{trace.tokens_in[1][real][j]}'" in panel.readout.text()
    panel.cursor.set(rows + 3)  # past the output: the last row (<eos>) stays outlined
    assert max(panel.heat.row_box.getData()[1]) == rows - 0.5
    assert "(target '<eos>')" in panel.readout.text()
    assert not panel.note.isVisible()


def test_says_why_there_is_no_attention(make_snapshot, show):
    panel = show(make_snapshot(task="sort", seq_len=4, attention="none"))
    assert panel.note.isVisible() and panel.note.text() == NO_ATTENTION
    assert panel.heat.image.image is None and not panel.heat.row_box.getData()[0]
    panel.set_snapshot(make_snapshot(task="copy", seq_len=8))
    assert panel.refresh()
    assert panel.note.text() == NOT_SEQ2SEQ


def test_training_panel_shows_an_encoder_decoders_input_and_output_rows(make_snapshot, show_panel):
    from rnnviz.qt.panels import TrainingPanel

    snap = make_snapshot(task="reverse", seq_len=5, hidden=6, batch=4)
    panel = show_panel(TrainingPanel, snap, t=1)  # input 5 steps, output 6 (with <eos>)
    text = panel.rows_label.text()
    assert "scored steps right" in text and "target" in text


def test_writes_the_weights_it_draws_with_the_tokens(make_snapshot, show, tmp_path):
    snap = make_snapshot(task="reverse", seq_len=5, attention="dot", hidden=6, batch=4)
    panel = show(snap)
    panel.sequence.setCurrentIndex(2)
    assert list(panel.data_tables()) == ["sequence 2"]
    (path,) = panel.export_data(tmp_path / "attention.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    trace = snap.trace
    real = trace.tokens_in[2] != "<pad>"
    steps = int(trace.loss_mask[2].sum())
    assert [int(r["t"]) for r in rows] == list(range(steps))
    assert [r["output token"] for r in rows] == list(trace.tokens_out[2][:steps])
    alphas = [f"α '{tok}' j={j}" for j, tok in enumerate(trace.tokens_in[2][real])]
    assert [c for c in rows[0] if c.startswith("α ")] == alphas
    written = np.array([[float(r[c]) for c in alphas] for r in rows])
    np.testing.assert_allclose(written, panel.heat.image.image, rtol=1e-7, atol=1e-12)
    panel.set_snapshot(make_snapshot(task="sort", seq_len=4, attention="none"))
    assert panel.refresh() and panel.data_tables() == {}


def test_every_decoder_step_keeps_its_token_in_a_short_dock(make_snapshot, show_panel, qtbot):
    """At 1280x720 the panel is ~460 x 300: the rows' tokens shrink to fit rather than every
    other decoder step losing its label (a short axis drops labels that would overlap)."""
    from test_presentation import label_boxes  # tests/qt is on sys.path

    snap = make_snapshot(task="reverse", seq_len=12, attention="additive", hidden=6, batch=8)
    trace = snap.trace
    b = int(trace.loss_mask.sum(1).argmax())  # the longest output
    panel = show_panel(AttentionPanel, snap, size=(460, 300))
    panel.sequence.setCurrentIndex(b)
    rows = int(trace.loss_mask[b].sum())
    assert rows >= 10
    panel.grab()  # a paint: the axes widen to their labels
    left = panel.heat.plot.getAxis("left")
    qtbot.waitUntil(lambda: len(label_boxes(left)) == rows)
    assert [t for t, _ in label_boxes(left)] == ticks(panel, "left")
    assert len(label_boxes(panel.heat.plot.getAxis("bottom"))) == len(ticks(panel, "bottom"))


def test_presentation_fonts_keep_every_decoder_steps_token(make_snapshot, show_panel, qtbot):
    """Presentation mode's larger theme font arrives as a font change: the heatmap is laid
    out again for it (the rows' room was the smaller font's, and half the tokens went)."""
    from PySide6.QtGui import QFont
    from test_presentation import label_boxes  # tests/qt is on sys.path

    from rnnviz.qt import theme

    snap = make_snapshot(task="reverse", seq_len=12, attention="additive", hidden=6, batch=8)
    b = int(snap.trace.loss_mask.sum(1).argmax())
    rows = int(snap.trace.loss_mask[b].sum())
    panel = show_panel(AttentionPanel, snap, size=(460, 300))
    panel.sequence.setCurrentIndex(b)
    left = panel.heat.plot.getAxis("left")
    normal = left.style["tickFont"].pointSizeF()
    try:
        theme.apply(1.6)
        font = QFont(panel.font())
        font.setPointSize(theme.FONT_PT)
        panel.setFont(font)  # as presentation mode does, after the theme's sizes
        qtbot.waitUntil(lambda: left.style["tickFont"].pointSizeF() > normal)
        panel.grab()
        qtbot.waitUntil(lambda: len(label_boxes(left)) == rows)
    finally:
        theme.apply()
