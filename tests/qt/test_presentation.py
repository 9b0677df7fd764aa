"""Presentation mode on a 1280x720 projector: every preset's layout with no tick labels
printed over one another and no plot cut off by its dock; a look that differs from normal."""

from __future__ import annotations

import dataclasses

import pyqtgraph as pg
import pytest
from axis_specs import draw_specs  # tests/qt is on sys.path
from PySide6.QtCore import QPoint, QRect, QRectF
from PySide6.QtGui import QColor, QFontMetricsF
from PySide6.QtWidgets import QApplication
from windows import open_window  # tests/qt is on sys.path

from rnnviz.core.presets import PresetRun, list_presets
from rnnviz.qt import theme
from rnnviz.qt.plotkit import _ink
from rnnviz.qt.presentation import LINE_SCALE, MIN_SCALE, SCALE, font_scale

PROJECTOR = (1280, 720)
TIMEOUT = (
    120_000  # ms: eight presets start runs on a loaded machine; never reached when all is well
)


@pytest.fixture
def window(qtbot, store):
    w = open_window(qtbot, store, wait_snapshot=False)  # the presets start runs of their own
    yield w
    w.presentation.leave()
    w.close()


def tiny(preset, steps: int):
    """The preset's runs and panels with tiny models: its layout, quickly."""
    runs = tuple(
        PresetRun(r.label, r.config.replace(hidden=8, seq_len=20, batch=8, device="cpu"))
        for r in preset.runs
    )
    return dataclasses.replace(preset, runs=runs, steps=steps)


def label_boxes(axis: pg.AxisItem) -> list[tuple[str, QRectF]]:
    """The tick labels the axis paints, each with the box its ink fills (axis coordinates)."""
    specs = draw_specs(axis)
    if specs is None:
        return []
    fm = QFontMetricsF(axis.style["tickFont"] or axis.font())
    # where the ink is as the legibility rule sees it (a staggered word on its second line)
    return [(text, _ink(fm, rect, int(flags), text)) for rect, flags, text in specs[2]]


def in_window(window, view: pg.GraphicsView, scene_rect: QRectF) -> QRect:
    box = view.mapFromScene(scene_rect).boundingRect()
    return box.translated(view.mapTo(window, QPoint(0, 0)))


def problems(window) -> list[str]:
    """Overlapping tick labels, axis titles longer than their axis and plots reaching out of
    their dock, in the visible docks."""
    found = []
    for key, dock in window.docks.items():
        if not dock.isVisible():
            continue
        seen = QRect(dock.mapTo(window, QPoint(0, 0)), dock.size())
        for view in dock.findChildren(pg.GraphicsView):
            if not view.isVisible():
                continue
            seen_here = seen.intersected(QRect(view.mapTo(window, QPoint(0, 0)), view.size()))
            for item in view.scene().items():
                if not item.isVisible():
                    continue
                if isinstance(item, pg.PlotItem):
                    box = in_window(window, view, item.sceneBoundingRect())
                    if not seen_here.adjusted(-2, -2, 2, 2).contains(box):
                        found.append(f"{key}: plot {box} outside {seen_here}")
                elif isinstance(item, pg.AxisItem):
                    boxes = label_boxes(item)
                    vertical = item.orientation in ("left", "right")
                    length = item.height() if vertical else item.width()
                    title = item.label.boundingRect().width()
                    if item.label.isVisible() and item.labelText and title > length + 1:
                        found.append(f"{key}: axis title {item.labelText!r} past its axis")
                    for i, (a, ra) in enumerate(boxes):
                        for b, rb in boxes[i + 1 :]:
                            if ra.intersects(rb):
                                found.append(f"{key}: {item.orientation} labels {a!r}, {b!r}")
    return found


def test_every_preset_is_clean_on_a_1280x720_projector(qtbot, window):
    found = []
    for preset in list_presets():
        window.presentation.leave()
        preset = tiny(preset, steps=1)
        with qtbot.waitSignal(
            window.runner.snapshot,
            timeout=TIMEOUT,
            check_params_cb=lambda s: s.step >= 1 and s.state == "paused",
        ):
            window.start_preset(preset)
        window.presentation.enter()
        # the projector's screen: full screen there is this size (the test screen is larger)
        window.showNormal()
        window.resize(*PROJECTOR)
        QApplication.processEvents()
        for panel in window.panels:
            if panel.isVisible():
                panel.refresh(force=True)
        QApplication.processEvents()  # what the redraws left for the event loop
        window.grab()  # a paint: axes size themselves to their labels while painting
        found += [f"{preset.key}: {p}" for p in problems(window)]
    assert not found, "\n".join(found)


def test_presentation_looks_different_and_leaving_restores_it(qtbot, window):
    gradients = next(p for p in window.panels if p.key == "gradients")
    curves = [i for i in gradients.findChildren(pg.GraphicsView)[0].scene().items()]
    curves = [i for i in curves if isinstance(i, pg.PlotDataItem) and i.opts["pen"] is not None]
    before = {c: pg.mkPen(c.opts["pen"]) for c in curves}
    light = [c for c, pen in before.items() if pen.color().name() in map(str.lower, theme.STRONG)]
    assert light  # the panel draws in a colour a projector washes out
    hints = [h for p in window.panels for h in p.hints]
    assert all(h.isVisible() for h in hints if h.parentWidget().isVisible())
    window.presentation.enter()
    for c in light:  # darker and thicker: the high-contrast look
        pen = pg.mkPen(c.opts["pen"])
        assert QColor(pen.color()).lightness() < before[c].color().lightness()
        assert pen.widthF() == pytest.approx(before[c].widthF() * LINE_SCALE)
    assert not any(h.isVisible() for h in hints)  # nobody hovers on a projector
    window.presentation.leave()
    for c, pen in before.items():
        assert pg.mkPen(c.opts["pen"]).color() == pen.color()
        assert pg.mkPen(c.opts["pen"]).widthF() == pytest.approx(pen.widthF())


def test_font_scale_leaves_a_small_projector_room_for_the_figures():
    assert font_scale(1600, 1000) == font_scale(1920, 1080) == SCALE
    assert font_scale(1280, 720) == pytest.approx(MIN_SCALE)
    assert MIN_SCALE < font_scale(1366, 900) < SCALE


def test_a_preset_started_while_presenting_keeps_its_docks_after_leaving(qtbot, window):
    window.presentation.enter()
    preset = tiny(list_presets()[0], steps=1)
    with qtbot.waitSignal(
        window.runner.snapshot,
        timeout=TIMEOUT,
        check_params_cb=lambda s: s.step >= 1 and s.state == "paused",
    ):
        window.start_preset(preset)
    assert not window.settings_dock.isVisible()  # the side bar stays out of the projection
    window.presentation.leave()
    shown = {k for k, d in window.docks.items() if d.isVisible()}
    assert shown == set(preset.panels)  # the lesson's panels, not the layout from before
    assert window.lesson_dock.isVisible() and window.settings_dock.isVisible()
