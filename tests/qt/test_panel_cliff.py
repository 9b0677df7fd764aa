"""The cliff panel: the heatmap is Pascanu's error surface, the paths are gradient descent on
it with and without clipping, a click moves the start, the animation steps without a clock,
and the panel exports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from rnnviz.core.analysis import cliff_descent, cliff_error
from rnnviz.qt.panels.lab.cliff import CliffPanel
from rnnviz.qt.panels.lab.cliff_surface import (
    B_RANGE,
    DEFAULT_LR,
    DEFAULT_START,
    DEFAULT_STEPS,
    DEFAULT_THRESHOLD,
    GRID,
    W_RANGE,
    contour_lines,
    step_lengths,
)


@pytest.fixture
def panel(show_panel, qtbot):
    """A laid-out CliffPanel with no snapshot at all, as the app opens it."""
    p = show_panel(CliffPanel)
    qtbot.waitExposed(p)
    p.grab()  # paint once: the plot lays out as on screen
    yield p
    p.stop()


def drawn(curve: pg.PlotDataItem) -> np.ndarray:
    return np.column_stack([curve.xData, curve.yData])


def test_heatmap_is_the_error_surface_on_the_grid(panel):
    w, b = panel.w_grid, panel.b_grid
    assert (w[0], w[-1], b[0], b[-1]) == (*W_RANGE, *B_RANGE)
    assert panel.image.image.shape == (GRID, GRID)  # rows are b, columns w
    expected = cliff_error(w[None, :], b[:, None])
    np.testing.assert_allclose(10.0**panel.image.image, np.maximum(expected, 1e-12), rtol=1e-9)
    # the pixel for (w[j], b[i]) is centred on that grid point
    rect = panel.image.mapRectToParent(panel.image.boundingRect())
    assert rect.left() < w[0] < rect.left() + (w[1] - w[0])
    assert rect.bottom() == pytest.approx(b[-1] + (b[1] - b[0]) / 2)
    assert panel.colorbar.getAxis("left").labelText == "log₁₀ E"


def test_the_wall_is_on_the_map_and_named(panel):
    # Across the wall at w = 8, E steps from the lower plateau (σ(x_50) ≈ 0) to the upper one.
    E = panel.error[:, np.abs(panel.w_grid - 8.0).argmin()]
    assert E[0] > 0.4 and E[-1] < 0.1
    assert np.abs(np.diff(E)).max() > 0.3  # within one grid cell: a wall, not a slope
    lo, hi = E[np.abs(np.diff(E)).argmax() + 1], E[np.abs(np.diff(E)).argmax()]
    assert panel.wall_label.toPlainText() == f"the wall: E jumps from {lo:.2f} to {hi:.2f}"
    assert len(panel.contours) >= 5
    assert all(np.isfinite(c.xData).sum() > 10 for c in panel.contours)


def test_contour_lines_are_in_data_coordinates():
    x, y = np.linspace(-2, 2, 81), np.linspace(-1, 1, 41)
    z = x[None, :] ** 2 + y[:, None] ** 2  # circles
    pts = contour_lines(z, 0.25, x, y)
    pts = pts[np.isfinite(pts[:, 0])]
    np.testing.assert_allclose(np.hypot(pts[:, 0], pts[:, 1]), 0.5, atol=0.01)


def test_draws_the_whole_default_story_without_snapshot_or_click(panel):
    assert panel.snapshot is None
    free = cliff_descent(*DEFAULT_START, lr=DEFAULT_LR, steps=DEFAULT_STEPS)
    clip = cliff_descent(
        *DEFAULT_START, lr=DEFAULT_LR, steps=DEFAULT_STEPS, clip_threshold=DEFAULT_THRESHOLD
    )
    np.testing.assert_allclose(drawn(panel.free_curve), free.points)
    np.testing.assert_allclose(drawn(panel.clip_curve), clip.points)
    np.testing.assert_allclose(drawn(panel.free_marker), free.points[-1:])
    np.testing.assert_allclose(drawn(panel.clip_marker), clip.points[-1:])
    np.testing.assert_allclose(drawn(panel.start_marker), [DEFAULT_START])
    labels = [label.text for _, label in panel.legend.items]
    assert labels == ["no clipping", f"norm clipping at θ = {DEFAULT_THRESHOLD:g}"]
    assert f"<b>{DEFAULT_STEPS}</b>" in panel.readout.text()


def test_unclipped_jumps_off_the_wall_and_the_clipped_step_is_bounded(panel):
    free, clip = panel.free_path, panel.clip_path
    jump, tame = step_lengths(free), step_lengths(clip)
    lr, theta = panel.lr_spin.value(), panel.threshold
    assert free.grad_norms.max() > 5 * theta  # the wall: the gradient explodes
    assert tame.max() <= lr * theta + 1e-9  # every clipped step is at most lr·θ long
    assert jump.max() > 5 * tame.max()
    assert clip.clipped.any() and not free.clipped.any()
    # the jump lands on the far plateau, where E is stuck; clipping reaches the valley
    assert free.errors[-1] > 0.05 and clip.errors[-1] < 1e-3
    # and the picture says so next to the jump
    assert panel.jump_label.isVisible()
    assert f"one step {jump.max():.3g} long" in panel.jump_label.toPlainText()
    assert panel.clip_label.isVisible()
    g = clip.grad_norms[clip.clipped].max()
    assert panel.clip_label.toPlainText() == f"clipped: {tame.max():.3g} long (‖g‖ = {g:.3g})"


def test_readout_states_the_clipped_step(panel):
    k = int(step_lengths(panel.free_path).argmax()) + 1  # the frame after the jump
    panel.show_frame(k)
    text = panel.readout.text()
    assert f"<b>{k}</b>" in text
    g = panel.free_path.grad_norms[k - 1]
    assert f"{g:.3g}" in text  # ‖g‖ before clipping, the same for both paths at the wall
    free_row, clip_row = text.split("</tr>")[1:3]
    assert "no&nbsp;" in free_row and "<b>yes</b>" in clip_row


def test_animation_advances_without_sleeps(panel):
    panel.reset_animation()
    assert panel.frame == 0 and len(panel.free_curve.xData) == 1
    assert not panel.jump_label.isVisible() and not panel.clip_label.isVisible()
    assert panel.advance()
    assert panel.frame == 1 and len(panel.clip_curve.xData) == 2
    np.testing.assert_allclose(drawn(panel.clip_marker), panel.clip_path.points[1:2])
    panel.play()
    assert panel.timer.isActive() and panel.play_button.text() == "Pause"
    panel.run_to_end()
    assert not panel.advance()  # nothing left: the timer stops itself
    assert not panel.timer.isActive() and panel.play_button.text() == "Play"
    panel.play()  # from the end, play starts over
    assert panel.frame == 0 and panel.timer.isActive()
    panel.hide()  # nobody watches: the animation stops
    assert not panel.timer.isActive()


def test_timer_drives_advance(panel, qtbot):
    panel.timer.setInterval(0)
    panel.reset_animation()
    panel.play()
    qtbot.waitUntil(lambda: panel.frame >= 3)
    panel.stop()
    np.testing.assert_allclose(drawn(panel.free_curve), panel.free_path.points[: panel.frame + 1])


def test_clicking_the_surface_drops_the_start_and_plays(panel, qtbot):
    scene_pos = panel.plot.vb.mapViewToScene(pg.Point(3.0, 1.0))
    view_pos = panel.view.mapFromScene(scene_pos)
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    w, b = panel.start
    assert w == pytest.approx(3.0, abs=0.05) and b == pytest.approx(1.0, abs=0.05)
    assert panel.timer.isActive() and panel.frame == 0
    np.testing.assert_allclose(drawn(panel.start_marker), [panel.start])
    panel.run_to_end()
    expected = cliff_descent(w, b, lr=DEFAULT_LR, steps=DEFAULT_STEPS)
    np.testing.assert_allclose(drawn(panel.free_curve), expected.points)


def test_controls_recompute_both_paths(panel):
    panel.set_start(4.5, -2.75)
    panel.lr_spin.setValue(0.2)
    panel.threshold_spin.setValue(0.5)
    panel.steps_spin.setValue(40)
    assert panel.frame == 40  # a settings change shows the whole new picture
    free = cliff_descent(4.5, -2.75, lr=0.2, steps=40)
    clip = cliff_descent(4.5, -2.75, lr=0.2, steps=40, clip_threshold=0.5)
    np.testing.assert_allclose(drawn(panel.free_curve), free.points)
    np.testing.assert_allclose(drawn(panel.clip_curve), clip.points)
    assert step_lengths(clip).max() <= 0.2 * 0.5 + 1e-9
    assert [label.text for _, label in panel.legend.items][1] == "norm clipping at θ = 0.5"


def test_exploded_steps_stay_drawable(panel):
    # On the wall at w = 9.5 (found by bisection on E) the gradient is astronomically large.
    lo, hi = -6.0, -4.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cliff_error(9.5, mid) > 0.3 else (lo, mid)
    panel.lr_spin.setValue(5.0)
    panel.set_start(9.5, lo)
    panel.run_to_end()
    assert panel.free_path.grad_norms.max() > 1e6
    assert np.abs(panel.free_path.points).max() > 1e6  # thrown millions away
    assert np.isfinite(panel.free_curve.xData).all() and np.isfinite(panel.free_curve.yData).all()
    assert "off the map" in panel.readout.text()
    panel.grab()  # paints without a Qt warning


def test_hover_reads_out_the_error_under_the_mouse(panel):
    pos = panel.plot.vb.mapViewToScene(pg.Point(2.0, -1.0))
    panel.view.scene().sigMouseMoved.emit(pos)
    p = panel.plot.vb.mapSceneToView(pos)
    assert panel.hover_label.text().startswith(f"w = {p.x():.3f}, b = {p.y():.3f}:  E = ")
    assert f"E = {float(cliff_error(p.x(), p.y())):.4g}" in panel.hover_label.text()


def test_training_snapshots_change_nothing(panel, make_snapshot):
    before = drawn(panel.free_curve)
    panel.set_snapshot(make_snapshot(steps=1, task="sine", seq_len=10))
    assert panel.refresh(force=True)
    np.testing.assert_array_equal(drawn(panel.free_curve), before)


def test_module_imports_without_torch():
    code = (
        "import sys, rnnviz.qt.panels.lab.cliff, rnnviz.qt.panels.lab.comparison; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
