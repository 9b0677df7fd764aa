"""Animations for slides: the time cursor moving across the sequence, or the training steps
going by for the panels that draw a history, as a GIF or an MP4.

Each frame is a figure, made as a still export makes one (export.figure_layout: controls,
hints and info buttons left out, laid out at the slide's shape), so a frame of an animation
and the still image of the same t are the same picture. A `Frames` says which widget to
paint at which positions; `animate` paints them one by one into an encoder and yields after
each frame, so that the window can keep its event loop turning (animation_dialog.py) and the
command line can simply run it to the end (`write_animation`).

GIF: Pillow, one palette for every frame (taken from the first: colours do not flicker from
frame to frame), no dithering (flat figure colours stay flat). MP4: H.264 by the ffmpeg
executable that imageio-ffmpeg ships in its wheel, fed raw frames through a pipe: it encodes
in its own process, on another core, while the next frame is painted here.

The file appears only when complete: frames go to a temporary file beside the target, which
is renamed at the end and removed when the export is cancelled or fails.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QWidget

from rnnviz.qt.export import (
    ExportError,
    FigureSize,
    figure_background,
    figure_layout,
    render_image,
    settle,
)

if TYPE_CHECKING:
    from rnnviz.core.protocol import History, ProbeHistory, Snapshot
    from rnnviz.qt.panels.base import Panel

FORMATS = ("gif", "mp4")
# What an animation moves through: the time cursor t, or the training steps (the history).
AXES = {"time": "timesteps t", "steps": "training steps"}
DEFAULT_FPS = 10
FPS_RANGE = (1, 60)
# Narrower than a still's default: a 100-frame GIF of 1920 × 1080 figures is tens of MB.
DEFAULT_WIDTH = 960
DEFAULT_STEP_FRAMES = 100


@dataclass
class Frames:
    """What an animation shows: `widget` at each of `positions` (t, or training steps), put
    there by `show(position)`; `restore()` puts it back as it was afterwards.

    `size` lays the widget out as a figure (export.FigureSize); None keeps it as it is on
    screen and scales it to `width` pixels (the whole window)."""

    widget: QWidget
    positions: list[int]
    show: Callable[[int], None]
    restore: Callable[[], None] = lambda: None
    hide: list[QWidget] = field(default_factory=list)
    size: FigureSize | None = None
    width: int = DEFAULT_WIDTH

    def __len__(self) -> int:
        return len(self.positions)


# ---------------------------------------------------------------------------- positions


def time_positions(T: int, first: int | None = None, last: int | None = None) -> list[int]:
    """t = first … last (inclusive; default the whole sequence 0 … T-1): one frame each."""
    first = 0 if first is None else first
    last = T - 1 if last is None else last
    if not 0 <= first <= last <= T - 1:
        raise ExportError(f"the range of t must lie within 0 … {T - 1}, got {first} … {last}")
    return list(range(first, last + 1))


def step_positions(
    span: tuple[int, int],
    first: int | None = None,
    last: int | None = None,
    frames: int = DEFAULT_STEP_FRAMES,
) -> list[int]:
    """About `frames` training steps evenly spread over first … last (default: the whole
    `span` of steps recorded), each one once: fewer frames where there are fewer steps."""
    lo, hi = span
    first = lo if first is None else first
    last = hi if last is None else last
    if not lo <= first <= last <= hi:
        raise ExportError(f"the range of steps must lie within {lo} … {hi}, got {first} … {last}")
    if frames < 1:
        raise ExportError(f"an animation needs at least 1 frame, got {frames}")
    return sorted({round(s) for s in np.linspace(first, last, frames)})


def step_span(snapshot: Snapshot) -> tuple[int, int]:
    """The training steps a snapshot's histories cover: (first, last)."""
    starts = [int(h.step[0]) for h in (snapshot.history, snapshot.probes) if h and len(h)]
    return (min(starts, default=snapshot.step), snapshot.step)


# ---------------------------------------------------------------------------- snapshots


def snapshot_at(snapshot: Snapshot, step: int) -> Snapshot:
    """`snapshot` as it was after training step `step`: its histories (and those of the runs
    beside it) cut there. The recording stays the latest: older ones are not kept."""
    history = _cut(snapshot.history, step)
    n = len(history)
    last = {
        name: float(getattr(history, name)[-1]) if n else float("nan")
        for name in ("loss", "grad_norm", "grad_norm_clipped")
    }
    recent = history.clipped[-100:]
    runs = tuple(
        replace(
            r,
            history=_cut(r.history, step),
            probes=None if r.probes is None else _cut(r.probes, step),
            step=min(r.step, step),
            # r.step counts the steps applied: the one that diverged was the next
            diverged=r.diverged and step > r.step,
        )
        for r in snapshot.runs
    )
    return replace(
        snapshot,
        step=min(snapshot.step, step),
        history=history,
        probes=None if snapshot.probes is None else _cut(snapshot.probes, step),
        runs=runs,
        clip_rate=float(recent.mean()) if len(recent) else 0.0,
        # as while training: the plots' ranges grow in steps with headroom, rather than
        # fitting the curve anew at every frame as a paused run's do (axes that jump)
        state="running",
        **last,
    )


def _cut(history: History | ProbeHistory, step: int) -> History | ProbeHistory:
    n = int(np.searchsorted(history.step, step, side="right"))
    return type(history).from_columns(history.key, {k: v[:n] for k, v in history.columns().items()})


# ---------------------------------------------------------------------------- frames


def panel_frames(
    panel: Panel,
    axis: str = "time",
    first: int | None = None,
    last: int | None = None,
    *,
    frames: int = DEFAULT_STEP_FRAMES,
    size: FigureSize | None = None,
) -> Frames:
    """The frames of `panel` (drawing a snapshot) moving through `axis` over first … last.
    Time moves the panel's cursor (every panel sharing it follows); steps redraw the panel
    with its snapshot's histories cut at each step, and then with the whole snapshot again."""
    snapshot = panel.snapshot
    if snapshot is None:
        raise ExportError(f"{panel.title} has nothing to show yet")
    if axis not in panel.animation_axes():
        raise ExportError(f"{panel.title} does not change over {AXES.get(axis, axis)}")
    hide = [panel.controls, *panel.hints, panel.info_button]
    size = size or FigureSize(DEFAULT_WIDTH)
    panel.refresh(force=True)
    if axis == "time":
        cursor, t0 = panel.cursor, panel.cursor.t
        return Frames(
            panel,
            time_positions(cursor.T, first, last),
            cursor.set,
            lambda: cursor.set(t0),
            hide,
            size,
        )

    show, restore = steps_shown_by([panel], snapshot)
    positions = step_positions(step_span(snapshot), first, last, frames)
    return Frames(panel, positions, show, restore, hide, size)


def steps_shown_by(
    panels: list[Panel], snapshot: Snapshot
) -> tuple[Callable[[int], None], Callable[[], None]]:
    """show(step), which draws `snapshot` as it was after training step `step` in each of
    `panels` that is visible, and restore(), which draws the whole snapshot again."""

    def draw(shown: Snapshot) -> None:
        for panel in panels:
            panel.set_snapshot(shown)
            if panel.isVisible():
                panel.refresh(force=True)

    return (lambda step: draw(snapshot_at(snapshot, step))), (lambda: draw(snapshot))


# ---------------------------------------------------------------------------- writing


def animate(frames: Frames, path: str | Path, fmt: str, fps: int = DEFAULT_FPS) -> Iterator[int]:
    """Write `frames` to `path` as a `fmt` ("gif" or "mp4") animation at `fps` frames per
    second, yielding the number of frames written after each one (and once more, equal to
    len(frames) + 1, when the file is complete). Closing the generator early (a Cancel)
    leaves no file behind and the widget as it was."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown animation format {fmt!r}: use {' or '.join(FORMATS)}")
    low, high = FPS_RANGE
    if not low <= fps <= high:
        raise ExportError(f"the frame rate must be between {low} and {high}, got {fps}")
    if not frames.positions:
        raise ExportError("an animation needs at least 1 frame")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    encoder, done = None, False
    try:
        try:
            with figure_layout(frames.widget, frames.size, hide=frames.hide) as image:
                if frames.size is None:  # as on screen, scaled to the width asked for
                    shape = frames.widget.size()
                    ratio = shape.height() / shape.width()
                    image = QSize(frames.width, round(frames.width * ratio))
                if fmt == "mp4":  # H.264 in yuv420p wants even sides: lose a pixel if need be
                    image = QSize(image.width() // 2 * 2, image.height() // 2 * 2)
                background = figure_background(frames.widget, frames.size)
                encoder = ENCODERS[fmt](tmp, image, fps, background)
                for i, position in enumerate(frames.positions):
                    frames.show(position)
                    settle(frames.widget)
                    encoder.add(render_image(frames.widget, image, background))
                    yield i + 1
        finally:
            frames.restore()  # the window as it was while the file is encoded
        for _ in encoder.finish():  # a big GIF's encoding: the window keeps turning
            yield len(frames)
        os.replace(tmp, path)
        done = True
        yield len(frames) + 1
    except OSError as e:
        raise ExportError(f"could not write {path}: {e.strerror or e}") from None
    finally:
        if encoder is not None:
            encoder.close()
        if not done:
            tmp.unlink(missing_ok=True)


def write_animation(frames: Frames, path: str | Path, fmt: str, fps: int = DEFAULT_FPS) -> Path:
    """`animate` run to the end, with nothing else to do meanwhile (the command line)."""
    for _ in animate(frames, path, fmt, fps):
        pass
    return Path(path)


def argb(image: QImage) -> np.ndarray:
    """(H, W) uint32 view of an ARGB32 image's pixels (0xAARRGGBB, as QColor.rgba()): valid
    while `image` lives. In memory each is B, G, R, A (little-endian)."""
    assert image.format() == QImage.Format.Format_ARGB32
    return np.frombuffer(image.constBits(), np.uint32, image.width() * image.height()).reshape(
        image.height(), image.width()
    )


class _Gif:
    """Pillow keeps the frames (one byte a pixel, against its palette) and writes them at the
    end: GIF has no streaming writer in Pillow. It stores only what changed from the frame
    before (the cursor's neighbourhood), so files stay small."""

    def __init__(self, path: Path, size: QSize, fps: int, background: QColor) -> None:
        self.path, self.fps = path, fps
        self.background = background.getRgb()[:3]
        self.background_argb = np.uint32(background.rgba())
        self.frames: list = []
        self.saving: threading.Thread | None = None

    def add(self, image: QImage) -> None:
        from PIL import Image

        pixels = argb(image)  # (H, W)
        frame = Image.fromarray(pixels.view(np.uint8).reshape(*pixels.shape, 4)[..., 2::-1])
        if not self.frames:
            # the background, then 255 colours of the first frame: median cut alone would
            # average the background with the antialiased pixels beside it (an off-white
            # slide), and Pillow's mapping to a palette is approximate: the background's
            # pixels are set to it below
            colours = frame.quantize(255, method=Image.Quantize.MEDIANCUT).getpalette()
            self.palette = Image.new("P", (1, 1))
            self.palette.putpalette([*self.background, *colours[: 3 * 255]])
        indices = np.array(frame.quantize(palette=self.palette, dither=Image.Dither.NONE))
        indices[pixels == self.background_argb] = 0  # (H, W)
        quantized = Image.fromarray(indices)  # "L"; its palette makes it "P"
        quantized.putpalette(self.palette.getpalette())
        self.frames.append(quantized)

    def finish(self) -> Iterator[None]:
        """Encode the frames into the file in a thread (Pillow encodes with the interpreter
        lock released: seconds for a big window), yielding every 20 ms until it is done."""
        failed: list[BaseException] = []

        def save() -> None:
            first, *rest = self.frames
            try:
                first.save(
                    self.path,
                    format="GIF",
                    save_all=True,
                    append_images=rest,
                    duration=round(1000 / self.fps),  # GIF counts in hundredths: 30 fps: 33
                    loop=0,
                )
            except BaseException as e:  # noqa: BLE001 (raised again below, in our thread)
                failed.append(e)

        self.saving = threading.Thread(target=save, name="rnnviz GIF encoder")
        self.saving.start()
        yield
        while self.saving.is_alive():
            self.saving.join(0.02)  # blocks 20 ms at most: then the event loop turns
            yield
        if failed:
            raise failed[0]

    def close(self) -> None:
        if self.saving is not None:  # cancelled while encoding: its file is removed after
            self.saving.join()
        self.frames = []


class _Mp4:
    """ffmpeg (imageio-ffmpeg's) encoding H.264 from raw RGB frames on its standard input."""

    def __init__(self, path: Path, size: QSize, fps: int, background: QColor) -> None:
        import imageio_ffmpeg

        self.writer = imageio_ffmpeg.write_frames(
            str(path),
            (size.width(), size.height()),
            fps=fps,
            codec="libx264",
            pix_fmt_in="bgra",
            quality=8,  # crf 10: sharp text and thin lines
            macro_block_size=2,  # the sides are even; 16 would make ffmpeg rescale the frames
            ffmpeg_log_level="error",
            # the temporary name says nothing of the format; faststart: plays as it loads
            output_params=["-f", "mp4", "-movflags", "+faststart"],
        )
        self.writer.send(None)

    def add(self, image: QImage) -> None:
        self.writer.send(argb(image))  # bgra: as the image holds it, no conversion

    def finish(self) -> Iterator[None]:
        self.writer.close()  # ffmpeg finishes the file and exits
        yield

    def close(self) -> None:
        self.writer.close()


ENCODERS: dict[str, type[_Gif] | type[_Mp4]] = {"gif": _Gif, "mp4": _Mp4}
