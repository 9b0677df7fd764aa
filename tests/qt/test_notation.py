"""The lecture's notation for a learner: every symbol in a panel's titles is explained when
hovered and by the i button, and F1 help lists every key and every symbol."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QToolTip
from windows import open_window  # tests/qt is on sys.path

from rnnviz.qt import glossary
from rnnviz.qt.actions import key_text
from rnnviz.qt.panels import LAB_PANELS, PANELS
from rnnviz.qt.panels.core.gradients import GradientNormsPanel
from rnnviz.qt.panels.core.states import StateTrajectoriesPanel

LECTURE_SIGNS = "‖∂ρσλ∏"  # a title with one of these uses the lecture's notation


def hover(view: pg.GraphicsView, text_item, fraction: float, monkeypatch) -> str:
    """Hover `fraction` of the way along a text item's first line, as the mouse would (a
    ToolTip event on the view); the tooltip text shown."""
    rect = text_item.boundingRect()
    line = text_item.document().firstBlock().layout().lineAt(0)
    point = text_item.mapToScene(rect.left() + 4 + fraction * (line.naturalTextWidth() - 8),
                                 rect.top() + line.height() / 2)  # fmt: skip
    pos = view.mapFromScene(point)
    shown = []  # (offscreen Qt cannot raise a tooltip window: catch the text instead)
    monkeypatch.setattr(QToolTip, "showText", lambda _at, text, _w: shown.append(text))
    event = QHelpEvent(QEvent.Type.ToolTip, pos, view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)
    return shown[-1] if shown else ""


@pytest.fixture
def gradients(show_panel, make_snapshot):
    return show_panel(GradientNormsPanel, make_snapshot(cell="rnn"), size=(1000, 600))


def test_hovering_a_symbol_in_a_title_explains_that_symbol(gradients, monkeypatch):
    view = gradients.view
    title = gradients.jacobian_plot.titleLabel.item
    assert "∂h" in title.toPlainText()
    jacobian = hover(view, title, 0.05, monkeypatch)  # on ‖∂h_{T−1}/∂h_t‖
    assert "<b>‖∂h_{T−1}/∂h_t‖</b>" in jacobian and "spectral norm</b>" not in jacobian
    norm = hover(view, title, 0.9, monkeypatch)  # on "(spectral norm)"
    assert "<b>spectral norm ‖A‖₂</b>: The largest singular value" in norm
    grad = hover(view, gradients.grad_plot.titleLabel.item, 0.1, monkeypatch)
    assert "<b>‖∂L/∂h_t‖</b>" in grad and "vanishing" in grad


def test_pca_axes_say_what_the_percentage_is(show_panel, make_snapshot, monkeypatch):
    panel = show_panel(StateTrajectoriesPanel, make_snapshot(), size=(1000, 600))
    label = panel.pca_plot.getAxis("bottom").label
    assert "% var" in label.toPlainText()
    tip = hover(panel.view, label, 0.9, monkeypatch)
    assert "<b>% variance</b>" in tip and "principal component" in tip


def test_every_title_with_a_lecture_symbol_is_in_the_glossary(show_panel, make_snapshot):
    snapshot = make_snapshot(cell="lstm", clip="norm")
    for cls in (*PANELS, *LAB_PANELS):
        panel = show_panel(cls, snapshot, size=(1000, 650))
        for plot in panel.findChildren(pg.GraphicsView):
            for item in plot.scene().items():
                if isinstance(item, pg.LabelItem) and item.isVisible():
                    text = item.item.toPlainText()
                    if any(sign in text for sign in LECTURE_SIGNS):
                        assert glossary.terms_in(text), (cls.key, text)


def test_the_i_button_says_what_the_symbols_mean(gradients, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda *args: shown.append(args))
    gradients.info_button.click()
    (_parent, title, text), = shown  # fmt: skip
    assert title == gradients.title and gradients.info[:40] in text
    for symbol in ("‖∂L/∂h_t‖", "‖∂h_{T−1}/∂h_t‖", "‖g‖, ‖∇‖"):
        assert f"<b>{symbol}</b>" in text


def test_f1_help_lists_every_key_and_the_notation(qtbot, store):
    window = open_window(qtbot, store)
    try:
        qtbot.keyClick(window, Qt.Key.Key_F1)
        qtbot.waitUntil(lambda: getattr(window, "help_dialog", None) is not None)
        text = window.help_dialog.text.toPlainText()
        lines = text.splitlines()
        for key, command in [("Space", "Train / pause"), ("P", "Play / stop timesteps"),
                             ("Esc", "Leave presentation mode"), ("F11", "Presentation mode"),
                             ("F1", "Help"), ("S", "Step"), ("R", "Reset")]:  # fmt: skip
            assert command in lines[lines.index(key) + 1 :][:1], key  # a row: key, command
        presets = list(window.preset_menu.preset_actions.values())
        keys = [f"Ctrl+{k}" for k in range(1, 10)] + [f"Alt+{k}" for k in range(1, 10)]
        assert [key_text(a) for a in presets] == keys[: len(presets)]  # every preset has one
        for action in (*window.actions.with_keys(), *presets):
            assert lines[lines.index(key_text(action)) + 1] == action.text()
        assert "Notation" in text
        for term in glossary.TERMS:
            assert term.symbol in text
    finally:
        window.close()
