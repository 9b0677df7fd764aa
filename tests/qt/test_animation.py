"""Animations for slides: one frame per timestep of the range chosen (or per training step
shown), frames that differ where the cursor moves, files that decode (Pillow for GIF, ffmpeg
for MP4), a Cancel that leaves no file and the panel as it was."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from rnnviz.qt.animation import (
    animate,
    panel_frames,
    snapshot_at,
    step_positions,
    write_animation,
)
from rnnviz.qt.export import ExportError, FigureSize
from rnnviz.qt.panels import GateActivationsPanel, TrainingPanel

SMALL = FigureSize(320)  # fast: the frames' content does not depend on the width


def gif_frames(path) -> list[np.ndarray]:
    """Every frame of a GIF as (H, W, 3) pixels."""
    out = []
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            out.append(np.asarray(im.convert("RGB")))
    return out


@pytest.fixture
def gates(show_panel, probed_snapshot):
    return show_panel(GateActivationsPanel, probed_snapshot(cell="lstm"), size=(700, 500), t=4)


def test_a_gif_through_time_has_a_frame_per_timestep_that_differ_at_the_cursor(gates, tmp_path):
    T = gates.cursor.T
    size_before = gates.size()
    path = write_animation(panel_frames(gates, "time", size=SMALL), tmp_path / "g.gif", "gif")
    frames = gif_frames(path)
    assert len(frames) == T  # Pillow merges equal neighbours: each frame is new
    assert frames[0].shape == (180, 320, 3)
    # Over the heatmaps (the left three quarters; the bars at t are to their right) a frame
    # differs from the one before only in a narrow band, the cursor's, which walks right.
    bands = []
    for a, b in zip(frames, frames[1:], strict=False):
        changed = np.flatnonzero((a[:, :240] != b[:, :240]).any(axis=(0, 2)))  # columns
        assert 0 < changed.max() - changed.min() < 20
        bands.append(changed.mean())
    assert np.all(np.diff(bands) > 0)
    assert gates.cursor.t == 4 and gates.size() == size_before  # put back


def test_an_mp4_of_a_range_has_that_many_frames_and_decodes(gates, tmp_path):
    import imageio_ffmpeg

    path = tmp_path / "g.mp4"
    write_animation(panel_frames(gates, "time", 3, 7, size=SMALL), path, "mp4", fps=5)
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == 5 and seconds == pytest.approx(1.0, abs=0.05)


def test_training_steps_animate_the_history_growing(show_panel, make_snapshot, tmp_path):
    snapshot = make_snapshot(steps=12, task="sine")
    panel = show_panel(TrainingPanel, snapshot, size=(800, 450))
    assert panel.animation_axes()[0] == "steps"
    assert step_positions((1, 12), frames=4) == [1, 5, 8, 12]
    early = snapshot_at(snapshot, 5)
    assert len(early.history) == 5 and early.step == 5
    assert early.loss == snapshot.history.loss[4]
    assert early.state == "running"  # ranges grow with headroom, not refitted every frame
    path = tmp_path / "t.gif"
    # 640 wide: the training panel laid out at 320 trips a deleted view in FitToView
    write_animation(panel_frames(panel, "steps", frames=4, size=FigureSize(640)), path, "gif")
    assert len(gif_frames(path)) == 4
    assert len(panel.snapshot.history) == 12  # the whole history drawn again afterwards
    assert len(panel.loss_curve.xData) == 12


def test_a_run_that_diverged_later_has_not_diverged_in_an_earlier_frame(make_snapshot):
    import dataclasses

    from rnnviz.core.protocol import RunView

    snapshot = make_snapshot(steps=6, task="sine")
    runs = (  # the second run's 4th step diverged: 3 steps applied, as the trainer counts
        RunView("clipped", 6, False, snapshot.history, snapshot.trace),
        RunView("free", 3, True, snapshot.history, snapshot.trace),
    )
    snapshot = dataclasses.replace(snapshot, runs=runs)
    before, after = snapshot_at(snapshot, 3).runs[1], snapshot_at(snapshot, 4).runs[1]
    assert not before.diverged and before.step == 3 and len(before.history) == 3
    assert after.diverged and after.step == 3


def test_cancelling_leaves_no_file_and_the_panel_as_it_was(gates, tmp_path):
    size_before = gates.size()
    for fmt in ("gif", "mp4"):
        steps = animate(panel_frames(gates, "time", size=SMALL), tmp_path / f"g.{fmt}", fmt)
        assert next(steps) == 1 and next(steps) == 2
        steps.close()  # Cancel
    assert list(tmp_path.iterdir()) == []
    frames = panel_frames(gates, "time", 0, 2, size=SMALL)
    steps = animate(frames, tmp_path / "g.gif", "gif")
    assert [next(steps) for _ in range(4)] == [1, 2, 3, 3]  # 3 frames, then encoding
    steps.close()  # Cancel while the GIF is encoded
    assert list(tmp_path.iterdir()) == []
    assert gates.cursor.t == 4 and gates.size() == size_before


def test_the_progress_dialog_cancels_and_finishes(gates, qtbot, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QPushButton

    from rnnviz.qt.animation_dialog import AnimationJob

    frames = panel_frames(gates, "time", size=SMALL)
    job = AnimationJob(gates, frames, tmp_path / "a.gif", 10)
    show, shown = frames.show, []

    def show_then_click_cancel(t: int) -> None:  # the user clicks while frame 3 is drawn
        show(t)
        shown.append(t)
        if t == 3:
            QTimer.singleShot(0, job.progress.findChild(QPushButton).click)

    frames.show = show_then_click_cancel
    with qtbot.waitSignal(job.done) as done:
        job.start()
    assert done.args == [None] and list(tmp_path.iterdir()) == []
    assert len(shown) < gates.cursor.T and gates.cursor.t == 4  # stopped, and put back

    job = AnimationJob(gates, panel_frames(gates, "time", 0, 2, size=SMALL), tmp_path / "a.gif", 10)
    with qtbot.waitSignal(job.done) as done:
        job.start()
    assert done.args == [tmp_path / "a.gif"] and len(gif_frames(tmp_path / "a.gif")) == 3


def test_cancel_leaves_the_dialog_alive_until_the_event_loop_runs(gates, qtbot, tmp_path):
    """Cancel is clicked inside the dialog's own setValue: the dialog must outlive that call
    (deleting it there crashed the interpreter); it closes, and `done` comes, from the loop."""
    from shiboken6 import isValid

    from rnnviz.qt.animation_dialog import AnimationJob

    job = AnimationJob(gates, panel_frames(gates, "time", size=SMALL), tmp_path / "a.gif", 10)
    finished = []
    job.done.connect(finished.append)
    job._next()  # the first frame
    job.cancel()
    assert finished == [] and isValid(job.progress) and job.progress.isVisible()
    qtbot.waitUntil(lambda: finished == [None])
    assert list(tmp_path.iterdir()) == []
    assert not isValid(job.progress) or not job.progress.isVisible()


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"axis": "time", "first": 5, "last": 99}, "the range of t must lie within 0 … 19"),
        ({"axis": "time", "first": 7, "last": 3}, "the range of t must lie within"),
        ({"axis": "weather"}, "does not change over weather"),
    ],
)
def test_a_range_that_is_not_one_says_so(gates, kwargs, says):
    with pytest.raises(ExportError, match=says):
        panel_frames(gates, **kwargs)


def test_the_dialog_offers_what_the_source_moves_through(gates, qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QDialog

    from rnnviz.qt.animation_dialog import WINDOW, AnimationDialog

    def accept(dialog):  # the user picks the whole window, t = 2 … 9, and presses Save
        assert dialog.target.text() == str(tmp_path / "gates.gif")
        assert (dialog.first.value(), dialog.last.value()) == (0, gates.cursor.T - 1)
        dialog.source.setCurrentIndex(dialog.source.findData(WINDOW))
        assert dialog.target.text() == str(tmp_path / "window.gif")  # named after it
        assert [dialog.axis.itemData(i) for i in range(dialog.axis.count())] == ["time"]
        dialog.first.setValue(2)
        dialog.last.setValue(9)
        assert dialog.count.text() == "8 frames, 0.8 s"
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(AnimationDialog, "exec", accept)
    choice = AnimationDialog.ask(None, [gates], gates, str(tmp_path))
    assert (choice.source, choice.axis, choice.first, choice.last) == (WINDOW, "time", 2, 9)
    assert choice.path == tmp_path / "window.gif" and choice.size.width == 960


def test_the_window_goes_through_training_steps_where_a_panel_draws_a_history(
    gates, show_panel, monkeypatch, tmp_path
):
    from PySide6.QtWidgets import QDialog

    from rnnviz.qt.animation_dialog import WINDOW, AnimationDialog

    training = show_panel(TrainingPanel, gates.snapshot, size=(640, 360))

    def accept(dialog):
        dialog.source.setCurrentIndex(dialog.source.findData(WINDOW))
        axes = [dialog.axis.itemData(i) for i in range(dialog.axis.count())]
        assert axes == ["time", "steps"]
        dialog.axis.setCurrentIndex(1)
        dialog.frames.setValue(3)
        assert dialog.count.text() == "3 frames, 0.3 s"
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(AnimationDialog, "exec", accept)
    choice = AnimationDialog.ask(None, [gates, training], gates, str(tmp_path))
    assert (choice.source, choice.axis, choice.frames) == (WINDOW, "steps", 3)
