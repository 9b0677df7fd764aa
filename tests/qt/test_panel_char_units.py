"""The text panel colours the probe text by one unit's activation and finds units that track a
feature of the text (Karpathy, Johnson & Fei-Fei 2015)."""

from __future__ import annotations

import time
from types import MappingProxyType, SimpleNamespace

import numpy as np
import pytest
from mouse import move_mouse  # tests/qt is on sys.path
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QTextCursor

from rnnviz.core.trace import LayerTrace, Trace
from rnnviz.core.units import feature_signals
from rnnviz.qt import theme
from rnnviz.qt.panels.text.char_units import NEEDS_CHARLM, CharUnitsPanel

LABELS = {"\n": "⏎", " ": "␣"}  # how the charlm task labels whitespace in its vocabulary
TEXTS = [
    'Ah, "it is so" (he said).\n"No," and "so" is.\n',
    'The end.\n"So," he (said), "it is".\n',
]


def fake_snapshot(texts=TEXTS, H: int = 8, planted: int = 5, extras=None, task="charlm"):
    """A Trace-like charlm snapshot whose unit `planted` is +0.9 inside quotes, −0.9 outside,
    and whose other units are noise."""
    vocab = [LABELS.get(c, c) for c in sorted(set("".join(texts)))]
    ids = {c: i for i, c in enumerate(vocab)}
    T = min(len(t) for t in texts)
    B = len(texts)
    x_raw = np.array([[ids[LABELS.get(c, c)] for c in t[:T]] for t in texts])  # (B, T)
    rng = np.random.default_rng(0)
    h = np.tanh(rng.normal(size=(B, T, H))) * 0.5  # (B, T, H)
    for b, text in enumerate(texts):
        h[b, :, planted] = 0.9 * (2 * feature_signals(text[:T])["inside quotes"] - 1)
    layer = LayerTrace(
        layer=0,
        reverse=False,
        h=h,
        grad_h=np.zeros_like(h),
        jacobian_norm=np.zeros((B, T)),
        gates={},
        preact=h,
    )
    meta = {
        "task": task,
        "cell": "rnn",
        "layers": 1,
        "bidirectional": False,
        "input_vocab": vocab,
        "output_vocab": vocab,
    }
    trace = Trace(
        meta=MappingProxyType(meta),
        x=np.zeros((B, T, 1)),
        x_raw=x_raw,
        y=x_raw,
        y_hat=np.zeros((B, T, len(vocab))),
        loss=1.0,
        loss_mask=np.ones((B, T)),
        layers=(layer,),
        params=MappingProxyType({}),
    )
    return SimpleNamespace(trace=trace, extras=MappingProxyType(extras or {}))


@pytest.fixture
def show(show_panel):
    return lambda snapshot, t=0: show_panel(CharUnitsPanel, snapshot, t=t)


def background(panel, j: int) -> QColor:
    """The background colour of shown character j in the document."""
    c = QTextCursor(panel.text_view.document())
    c.setPosition(int(panel.text_view.positions[j]) + 1)  # the format of the char before
    return c.charFormat().background().color()


def shown_char(panel, j: int) -> str:
    return panel.text_view.document().characterAt(int(panel.text_view.positions[j]))


def test_character_colours_follow_the_chosen_unit(show):
    snap = fake_snapshot()
    panel = show(snap)
    panel.unit_spin.setValue(5)
    h = snap.trace.layer(0).h
    outside, inside = 0, 5  # 'A', and the 'i' after the opening quote of sequence 0
    assert h[0, outside, 5] == pytest.approx(-0.9) and h[0, inside, 5] == pytest.approx(0.9)
    lut = theme.cmap(theme.DIVERGING).getLookupTable(0.0, 1.0, 256, alpha=False)
    for j, v in ((outside, -0.9), (inside, 0.9)):
        expected = QColor(*(int(c) for c in lut[int((v + 1) / 2 * 255)]))
        assert background(panel, j) == expected == panel.fill_of(v)
    assert background(panel, inside).red() > background(panel, inside).blue()  # +: red
    assert background(panel, outside).blue() > background(panel, outside).red()  # −: blue
    panel.unit_spin.setValue(2)  # another unit recolours the text
    v = h[0, inside, 2]
    assert background(panel, inside) == panel.fill_of(v)
    assert "[2]" in panel.legend.text()


def test_every_sequence_is_shown_with_newlines_kept(show):
    snap = fake_snapshot()
    panel = show(snap)
    T = snap.trace.T
    assert panel.segments == [(0, 0, T), (1, 0, T)]
    assert len(panel.text_view.positions) == 2 * T
    assert "".join(panel.texts) == "".join(t[:T] for t in TEXTS)
    newline = TEXTS[0].index("\n")
    assert shown_char(panel, newline) == "↵"
    assert shown_char(panel, newline + 1) == '"'  # after the break, the next line
    plain = panel.text_view.toPlainText()
    assert "sequence 1" in plain and plain.count("↵") == sum(t[:T].count("\n") for t in TEXTS)
    assert shown_char(panel, T) == "T"  # sequence 1 starts after its heading


def test_the_cursor_character_is_outlined(show, qtbot):
    panel = show(fake_snapshot(), t=4)
    assert panel.text_view.marked == 4
    panel.cursor.set(9)
    assert panel.text_view.marked == 9
    rect = panel.text_view.char_rect(9)
    assert rect.width() > 3 and rect.height() > 8
    image = panel.text_view.viewport().grab().toImage()
    cursor = QColor(theme.CURSOR)
    edge = [image.pixelColor(x, rect.top() - 1) for x in range(rect.left(), rect.right())]
    assert (
        sum(abs(c.red() - cursor.red()) + abs(c.blue() - cursor.blue()) < 60 for c in edge)
        > len(edge) // 2
    )


def test_find_units_ranks_the_planted_unit_first_and_a_click_shows_it(show, qtbot):
    panel = show(fake_snapshot(H=8, planted=5))
    assert not panel.units_list.isVisible()
    panel.feature_combo.setCurrentText("inside quotes")
    qtbot.mouseClick(panel.find_button, Qt.MouseButton.LeftButton)
    assert panel.units_list.isVisible()
    first = panel.units_list.item(0)
    assert first.text().split("ρ")[0].split() == ["unit", "5"]
    assert "+0.9" in first.text() or "+1.00" in first.text()  # rises inside quotes
    assert panel.units_list.count() == 8
    rect = panel.units_list.visualItemRect(first)
    qtbot.mouseClick(panel.units_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.unit_spin.value() == 5
    assert background(panel, 5) == panel.fill_of(0.9)


def test_a_feature_that_does_not_change_is_said_so(show):
    panel = show(fake_snapshot(texts=["aaa aaa\n", "aa aa aa"]))
    panel.feature_combo.setCurrentText("inside brackets")
    panel.find()
    assert panel.units_list.count() == 1
    assert "does not" in panel.units_list.item(0).text()


def test_hover_reads_the_character_and_its_activation(show):
    snap = fake_snapshot()
    panel = show(snap)
    panel.unit_spin.setValue(5)
    view = panel.text_view
    for j, (b, t) in ((7, (0, 7)), (snap.trace.T + 2, (1, 2))):
        move_mouse(view.viewport(), QPointF(view.char_rect(j).center()))
        label = snap.trace.meta["input_vocab"][int(snap.trace.x_raw[b, t])]
        value = snap.trace.layer(0).h[b, t, 5]
        seq = f"sequence {b}, " if b else ""
        assert panel.hover_label.text() == f"{seq}t = {t} '{label}' h[5] = {value:.2f}"


def test_other_tasks_show_a_note(make_snapshot, show):
    panel = show(make_snapshot(task="sine", seq_len=10))
    assert panel.stack.currentWidget() is panel.note
    assert panel.note.text() == NEEDS_CHARLM
    assert panel.note.isVisible()


def test_a_real_character_model_and_its_sample(charlm, show):
    panel = show(charlm, t=10)
    trace = charlm.trace
    vocab = trace.meta["input_vocab"]
    k = panel.unit_spin.value()
    for j in (3, trace.T + 7):  # sequence 0 and sequence 1
        b, t = panel.where[j]
        assert panel.labels[j] == vocab[int(trace.x_raw[b, t])]
        assert background(panel, j) == panel.fill_of(trace.layer(0).h[b, t, k])
    assert panel.sample_title.text() == "Sampled at step 3, temperature 0.7:"
    assert panel.sample_view.toPlainText() == charlm.extras["sample"]
    panel.find()
    assert panel.units_list.count() > 0


def test_long_sequences_stay_responsive(show):
    rng = np.random.default_rng(3)
    words = ['"so"', "(a)", "Ah", "the", "end.", "is\n", "so,"]
    texts = [" ".join(rng.choice(words, 400))[:1000] for _ in range(4)]
    snap = fake_snapshot(texts=texts, H=32)
    assert snap.trace.x_raw.shape == (4, 1000)
    panel = show(snap)
    assert len(panel.text_view.positions) == 4000
    start = time.perf_counter()
    for t in range(0, 1000, 10):  # 100 cursor moves
        panel.cursor.set(t)
    assert time.perf_counter() - start < 1.0
    assert panel.text_view.marked == 990
    viewport = panel.text_view.viewport().rect()
    assert viewport.intersects(panel.text_view.char_rect(990))  # scrolled into view
    start = time.perf_counter()
    panel.unit_spin.setValue(7)  # a new unit rebuilds the document once
    assert time.perf_counter() - start < 2.0


def test_non_finite_activations_are_grey(show):
    snap = fake_snapshot()
    h = snap.trace.layer(0).h
    h.setflags(write=True)
    h[0, 2, 0] = np.nan
    h[0, 3, 0] = np.inf
    panel = show(snap)
    panel.unit_spin.setValue(0)
    assert background(panel, 2) == panel.fill_of(np.nan)
    assert background(panel, 3) == panel.fill_of(np.inf)
    panel.find()
    assert panel.units_list.count() >= 1


def test_a_sequence_longer_than_the_document_shows_the_block_around_t(show):
    text = ('"so" (a) the end.\n' * 300)[:5000]
    snap = fake_snapshot(texts=[text], H=4, planted=1)
    panel = show(snap, t=10)
    assert panel.segments == [(0, 0, 4000)]
    assert panel.text_view.marked == 10
    panel.cursor.set(4500)  # past the block: the next one is drawn, t outlined in it
    assert panel.segments == [(0, 4000, 5000)]
    assert panel.text_view.marked == 500
    assert panel.where[500] == (0, 4500)
    assert "t = 4000…4999 of 5000" in panel.text_view.toPlainText()
    assert shown_char(panel, 500) == {"\n": "↵"}.get(text[4500], text[4500])
