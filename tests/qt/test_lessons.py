"""Presets in the window, presentation mode and the clip-threshold suggestion, driven as a
lecturer would: menu entries, keys, and what the window then shows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from windows import SMALL, TIMEOUT  # tests/qt is on sys.path

from rnnviz.core.claims import check_claim
from rnnviz.core.presets import PresetRun, list_presets, load_preset
from rnnviz.core.train import Step
from rnnviz.qt.dock_layout import SIDE_WIDTH
from rnnviz.qt.main_window import MainWindow
from rnnviz.qt.presentation import LINE_SCALE, SCALE


def small(preset, steps=6):
    """The preset at test scale: tiny models, few steps, same runs and panels."""
    runs = tuple(
        PresetRun(r.label, r.config.replace(hidden=8, seq_len=20, batch=8, device="cpu"))
        for r in preset.runs
    )
    return dataclasses.replace(preset, runs=runs, steps=steps)


def test_presets_menu_lists_every_preset_with_its_explanation(window):
    actions = window.preset_menu.actions()
    presets = list_presets()
    assert [a.text().split(". ", 1)[1] for a in actions] == [p.title for p in presets]
    assert all(a.toolTip() == p.explanation for a, p in zip(actions, presets, strict=True))
    assert actions[0].shortcut().toString() == "Ctrl+1"


def test_a_comparison_preset_trains_its_runs_side_by_side_then_pauses(qtbot, window):
    preset = small(load_preset("side_by_side"), steps=6)

    def done(s):
        return s.step == 6 and s.state == "paused"

    with qtbot.waitSignal(window.runner.snapshot, timeout=TIMEOUT, check_params_cb=done) as b:
        window.start_preset(preset)
    snap = b.args[0]
    assert [r.label for r in snap.runs] == [r.label for r in preset.runs]
    assert [r.step for r in snap.runs] == [6, 6, 6]
    assert [r.trace.cell for r in snap.runs] == ["rnn", "lstm", "gru"]
    # the lesson sits beside the preset's panels; the rest are out of the way
    assert window.lesson_dock.isVisible()
    assert preset.explanation in window.lesson_dock.text.toPlainText()
    shown = {k for k, d in window.docks.items() if d.isVisible()}
    assert shown == {k for k in preset.panels if k in window.docks}
    assert window.preset_menu.preset_actions["side_by_side"].isChecked()
    assert window.settings.config().cell == "rnn"  # the side bar shows the first run
    # the status bar names the run it follows; the lesson quotes what the panels draw
    assert window.status["run"].text() == "run: RNN (tanh)"
    claim = check_claim(preset, snap)
    assert f"Measured at step 6: {claim.text}" in window.lesson_dock.text.toPlainText()


def test_own_settings_after_a_preset_return_to_the_normal_layout(qtbot, window, monkeypatch):
    default = {k for k, d in window.docks.items() if d.isVisible()}
    preset = small(load_preset("forget_bias"), steps=2)
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.step == 2
    ):
        window.start_preset(preset)
    assert window.docks["comparison"].isVisible() and window.lesson_dock.isVisible()
    # the lecturer's own model, from the side bar
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.settings.hidden.setValue(12)
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.config.hidden == 12
    ) as blocker:
        window.settings.apply_button.click()
    assert not blocker.args[0].runs  # one run, no comparison
    assert window.preset is None
    assert not any(a.isChecked() for a in window.preset_menu.actions())
    # the normal layout: no lesson, no one-run Side by side, the core panels back
    assert not window.lesson_dock.isVisible() and not window.docks["comparison"].isVisible()
    assert {k for k, d in window.docks.items() if d.isVisible()} == default
    assert window.settings_dock.isVisible()
    d = window.docks
    assert d["graph"].y() < d["gates"].y() and d["graph"].x() < d["training"].x()
    assert d["gates"].x() < d["states"].x() < d["gradients"].x()
    qtbot.waitUntil(lambda: abs(window.settings_dock.width() - SIDE_WIDTH) < 30)
    assert "settings changed" not in window.lesson_dock.windowTitle()
    assert not window.status["run"].isVisible()


def test_exploding_preset_follows_the_run_that_trains_on(qtbot, window):
    preset = small(load_preset("exploding"), steps=3)
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.step == 3
    ):
        window.start_preset(preset)
    assert window.status["run"].text() == "run: norm clipping at 0.5"
    assert window.settings.config().clip == "norm"
    # Space trains the clipped run on: the status bar's step moves
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.step >= 8
    ):
        qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.status["step"].text() != "step 3"


def axis_font_pt(window) -> float:
    axis = window.panels[0].findChildren(pg.GraphicsView)[0]
    axes = [i for i in axis.scene().items() if isinstance(i, pg.AxisItem)]
    return axes[0].style["tickFont"].pointSizeF()


def test_presentation_mode_enlarges_everything_and_leaving_restores_it(qtbot, window):
    app = QApplication.instance()
    font_pt, tick_pt = app.font().pointSizeF(), axis_font_pt(window)
    shown = {k for k, d in window.docks.items() if d.isVisible()}
    size = window.size()
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert window.isFullScreen() and window.actions.presentation.isChecked()
    assert app.font().pointSizeF() == pytest.approx(SCALE * font_pt)
    assert axis_font_pt(window) == pytest.approx(SCALE * tick_pt)
    curve = window.panels[3].grad_curve
    assert curve.opts["pen"].widthF() == pytest.approx(LINE_SCALE * 2.0)
    assert not window.settings_dock.isVisible()  # its room goes to the panels
    window.docks["gates"].hide()  # rearranging in presentation mode is forgotten on leaving
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.isFullScreen() and not window.actions.presentation.isChecked()
    assert app.font().pointSizeF() == pytest.approx(font_pt)
    assert axis_font_pt(window) == pytest.approx(tick_pt)
    assert curve.opts["pen"].widthF() == pytest.approx(2.0)
    assert {k for k, d in window.docks.items() if d.isVisible()} == shown
    # back to the window's size (up to the frame the window system adds)
    assert abs(window.width() - size.width()) < 40 and abs(window.height() - size.height()) < 40


def test_suggest_sets_norm_clipping_at_the_average_gradient_norm(qtbot, window):
    with qtbot.waitSignal(
        window.runner.snapshot, timeout=TIMEOUT, check_params_cb=lambda s: s.step >= 5
    ):
        window.runner.send(Step(5))
    expected = float(f"{np.mean(window.snapshot.history.grad_norm):.2g}")
    with qtbot.waitSignal(
        window.runner.snapshot,
        timeout=TIMEOUT,
        check_params_cb=lambda s: s.clip == "norm" and s.clip_threshold == expected,
    ):
        window.settings.suggest_button.click()
    assert window.settings.config().clip == "norm"
    assert "average gradient norm" in window.statusBar().currentMessage()


def test_suggest_before_training_explains_instead_of_failing(qtbot, store):
    w = MainWindow(SMALL, settings=store)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    try:
        w.settings.suggest_button.click()
        assert "No threshold to suggest yet" in w.statusBar().currentMessage()
        assert w.settings.config().clip == "none"
    finally:
        w.close()
