"""The What-if panel: a typed input is decoded by the current weights and shown with its
attention and top-5; clicking a cell pins that step's attention on that character and the
decoding goes on from there; what cannot be decoded is one line, never a traceback."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from rnnviz.core.config import Config
from rnnviz.core.seq2seq.live import DecodingWatch
from rnnviz.core.seq2seq.whatif import WhatIf
from rnnviz.core.train import Trainer
from rnnviz.qt.panels.seq2seq.whatif import DECODING, NO_ATTENTION, WhatIfPanel


class Worker:
    """The training process's part, in-process: answers the panel's questions in snapshots."""

    def __init__(self, **overrides) -> None:
        cfg = {"task": "dates", "hidden": 16, "batch": 16, "device": "cpu", "beam": 2}
        self.trainer = Trainer(Config(**{**cfg, **overrides}))
        for _ in range(10):
            self.trainer.train_step()
        self.trace = self.trainer.record()
        self.watch = DecodingWatch(self.trainer, interval=0.0)
        self.asked: list[WhatIf] = []

    def snapshot(self):
        extras = self.watch.extras(self.trace, 0.0)
        return self.trainer.snapshot(state="paused", trace=self.trace, steps_per_s=0, extras=extras)

    def hear(self, question: WhatIf) -> None:
        self.asked.append(question)
        self.watch.ask(question)

    def answer(self, panel) -> None:
        panel.set_snapshot(self.snapshot())
        assert panel.refresh()


@pytest.fixture
def panel_and_worker(show_panel):
    worker = Worker()
    panel = show_panel(WhatIfPanel, size=(1200, 600))
    panel.command_requested.connect(worker.hear)
    worker.answer(panel)  # the first probe input is asked at once
    assert worker.asked and panel.answer_label.text() == DECODING
    worker.answer(panel)
    return panel, worker


def test_typed_date_is_decoded_with_its_attention_and_top5(panel_and_worker, qtbot):
    panel, worker = panel_and_worker
    panel.input.clear()
    qtbot.keyClicks(panel.input, "Thursday January 26 1995")
    qtbot.keyClick(panel.input, Qt.Key.Key_Return)
    assert worker.asked[-1] == WhatIf("Thursday January 26 1995")
    worker.answer(panel)
    d = panel.answer.decoded
    assert panel.answer.read == "thursday january 26 1995" and d.inputs == tuple(panel.answer.read)
    out = "".join(t for t in d.tokens if t != "<eos>")
    assert f"→  '{out}'" in panel.answer_label.text()
    np.testing.assert_array_equal(panel.heat.image.image, np.array(d.attn))
    np.testing.assert_allclose(panel.heat.image.image.sum(1), 1.0, atol=1e-6)
    panel.cursor.set_length(30)
    panel.cursor.set(2)
    assert [tok for tok, _ in d.topk[2]] == panel.topk.tokens
    np.testing.assert_allclose(panel.topk.p, [p for _, p in d.topk[2]])
    assert panel.data_tables()["attention"]["t"].tolist() == list(range(d.steps))


def test_clicking_a_cell_pins_that_steps_attention_and_decodes_on(panel_and_worker, qtbot):
    panel, worker = panel_and_worker
    panel.cursor.set_length(30)
    before = panel.answer.decoded
    view, vb = panel.view, panel.heat.plot.vb
    at = view.mapFromScene(vb.mapViewToScene(QPointF(3, 1)))  # cell (t = 1, j = 3)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    q = worker.asked[-1]
    assert q.pin_step == 1 and q.pin_row[3] == 1.0 and sum(q.pin_row) == 1.0
    worker.answer(panel)
    d = panel.answer.decoded
    assert d.pinned == 1 and d.attn[1] == q.pin_row and d.attn[0] == before.attn[0]
    assert d.tokens[0] == before.tokens[0] and panel.cursor.t == 1
    np.testing.assert_array_equal(panel.heat.image.image[1], q.pin_row)
    assert max(panel.pin_box.getData()[1]) == 1.5  # the pinned row is outlined
    panel.pin(1, 0, add=True)  # Shift+click: shared with character 0
    assert worker.asked[-1].pin_row[0] == worker.asked[-1].pin_row[3] == 0.5
    panel.clear_button.click()
    assert worker.asked[-1] == WhatIf(q.text)  # the same input, no pin


def test_dragging_a_weight_pins_the_row_and_decodes_on(panel_and_worker, qtbot):
    panel, worker = panel_and_worker
    panel.cursor.set_length(30)
    panel.cursor.set(1)
    before = panel.answer.decoded
    np.testing.assert_allclose(panel.row_bars.opts["height"], before.attn[1])
    view, vb = panel.view, panel.row_plot.vb
    qtbot.waitUntil(lambda: vb.sceneBoundingRect().height() > 50)

    def at(x, y):
        return view.mapFromScene(vb.mapViewToScene(QPointF(x, y)))

    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=at(2, 0.2))
    qtbot.mouseMove(view.viewport(), pos=at(2, 0.5))
    asked = len(worker.asked)
    assert panel.heat.image.image[1, 2] == pytest.approx(0.5, abs=0.03)  # shown while dragging
    qtbot.mouseMove(view.viewport(), pos=at(2, 0.9))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=at(2, 0.9))
    assert len(worker.asked) == asked + 1  # asked once, when the drag ended
    q = worker.asked[-1]
    assert q.pin_step == 1 and q.pin_row[2] == pytest.approx(0.9, abs=0.03)
    assert sum(q.pin_row) == pytest.approx(1.0, abs=1e-9)
    others = [i for i in range(len(q.pin_row)) if i != 2]
    old = np.array(before.attn[1])[others]
    np.testing.assert_allclose(np.array(q.pin_row)[others], old * (1 - q.pin_row[2]) / old.sum())
    worker.answer(panel)
    d = panel.answer.decoded
    assert panel.answer.question == q and d.pinned == 1
    assert all(type(w) is float for w in q.pin_row)  # plain values cross the pipe
    np.testing.assert_allclose(d.attn[1], q.pin_row, atol=1e-6)  # as float32 decodes it
    assert d.attn[0] == before.attn[0]  # the steps before the pinned one as they were
    assert d.topk[1] != before.topk[1]  # decoded again: step 1 reads the pinned context
    np.testing.assert_allclose(panel.row_bars.opts["height"], q.pin_row)
    assert "pinned" in panel.row_plot.titleLabel.text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("26 jän 1995", "Unknown character 'ä': this model reads only"),
        ("wednesday, september 27, 1995 at noon", "this model reads at most 30"),
    ],
)
def test_what_cannot_be_decoded_is_one_line(panel_and_worker, text, says, tmp_path):
    panel, worker = panel_and_worker
    panel.input.setText(text)
    panel.decode_button.click()
    worker.answer(panel)
    shown = panel.answer_label.text()
    assert says in shown and "\n" not in shown and "Traceback" not in shown
    assert panel.heat.image.image is None and panel.data_tables() == {}
    panel.input.setText("05/03/79")
    panel.decode_button.click()
    worker.answer(panel)
    for suffix in ("png", "svg"):
        assert panel.export(tmp_path / f"whatif.{suffix}").stat().st_size > 1000


def test_without_attention_there_is_nothing_to_pin(show_panel):
    worker = Worker(task="reverse", seq_len=6, attention="none", beam=1)
    panel = show_panel(WhatIfPanel, size=(900, 500))
    panel.command_requested.connect(worker.hear)
    worker.answer(panel)
    panel.input.setText("abcabc")
    panel.decode_button.click()
    worker.answer(panel)
    assert panel.answer.read == "ABCABC" and panel.answer.decoded.attn is None
    assert panel.heat.plot.titleLabel.text == NO_ATTENTION and panel.heat.image.image is None
    asked = len(worker.asked)
    panel.pin(0, 1)
    assert len(worker.asked) == asked  # nothing asked


def test_presentation_mode_enlarges_the_tokens_of_both_decoding_panels(qtbot, show_panel):
    from PySide6.QtWidgets import QMainWindow, QSplitter

    from rnnviz.qt import theme
    from rnnviz.qt.panels.seq2seq.decoding import DecodingPanel
    from rnnviz.qt.panels.seq2seq.drawing import NODE_EM
    from rnnviz.qt.presentation import PresentationMode

    worker = Worker()
    window = QMainWindow()
    qtbot.addWidget(window)
    whatif, decoding = show_panel(WhatIfPanel), show_panel(DecodingPanel)
    whatif.command_requested.connect(worker.hear)
    worker.answer(whatif)
    worker.answer(whatif)
    decoding.set_snapshot(worker.snapshot())
    assert decoding.refresh()
    split = QSplitter()
    split.addWidget(whatif)
    split.addWidget(decoding)
    window.setCentralWidget(split)
    window.show()

    def sizes():
        token = decoding.tree.token_labels.items[0].textItem.font().pointSizeF()
        disc = float(decoding.tree.points.data["size"].max())
        return whatif.answer_label.font().pointSizeF(), token, disc

    normal, font_pt = sizes(), theme.FONT_PT
    assert normal[2] == pytest.approx(NODE_EM * font_pt)
    presentation = PresentationMode(window, [whatif, decoding])
    presentation.enter()
    try:
        qtbot.waitUntil(lambda: sizes()[0] > normal[0])  # the output line: its own font
        scale = theme.FONT_PT / font_pt
        assert scale > 1
        assert sizes() == pytest.approx([v * scale for v in normal], rel=0.02)
    finally:
        presentation.leave()
    qtbot.waitUntil(lambda: sizes()[0] == normal[0])
    assert sizes() == pytest.approx(normal)
