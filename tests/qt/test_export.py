"""Exports are figures: every panel writes a 16:9 PNG of the width asked for, with no control
or hint in it, an SVG a browser opens, and comes back on screen as it was; Export all says
plainly when its folder is a file; the time cursor never looks like a series."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QWidget,
)

from rnnviz.qt import theme
from rnnviz.qt.export import ExportError, FigureSize, export_widget, make_folder
from rnnviz.qt.panels import LAB_PANELS, PANELS

CONTROLS = (QComboBox, QAbstractButton, QAbstractSpinBox, QLineEdit)
# A colour no panel draws (nor blends to): what the test paints every control and hint with.
MARK = QColor(1, 254, 3)


def decoded_snapshot():
    """An encoder-decoder with the decoding the training process adds (extras["decoding"])."""
    from rnnviz.core.config import Config
    from rnnviz.core.seq2seq.live import DecodingWatch
    from rnnviz.core.train import Trainer

    trainer = Trainer(Config(task="reverse", seq_len=5, hidden=8, batch=8, device="cpu", beam=2))
    trace = trainer.record()
    extras = DecodingWatch(trainer).extras(trace, 0.0)
    return trainer.snapshot(state="paused", trace=trace, steps_per_s=0.0, extras=extras)


def measured_snapshot():
    """An encoder-decoder whose bottleneck curve has been measured (extras["bottleneck"])."""
    from dataclasses import replace

    from rnnviz.core.seq2seq.bottleneck import EXTRAS_KEY, BottleneckCurves, RunCurve

    snap = decoded_snapshot()
    curve = RunCurve("", "none", 0, (1, 2, 3, 4, 5), (1.0, 0.9, 0.6, 0.3, 0.1), (20,) * 5)
    return replace(snap, extras={**snap.extras, EXTRAS_KEY: BottleneckCurves((curve,))})


@pytest.fixture
def exported(show_panel, probed_snapshot, charlm, side_by_side):
    """exported(PanelClass) -> the panel on screen, drawing a snapshot it has something for."""
    snapshots = {
        "char_units": lambda: charlm,
        "guesses": lambda: charlm,
        "connectivity": lambda: charlm,
        "comparison": lambda: side_by_side,
        "piano_roll": lambda: probed_snapshot(task="music"),
        "evidence": lambda: probed_snapshot(task="sentiment"),
        "attribution": lambda: probed_snapshot(task="sentiment"),
        "decoding": decoded_snapshot,
        "bottleneck": measured_snapshot,
        "embedding": lambda: probed_snapshot(task="sentiment"),
    }

    def make(panel_class):
        snapshot = snapshots.get(panel_class.key, lambda: probed_snapshot(cell="lstm"))()
        panel = show_panel(panel_class, snapshot, size=(700, 600), t=5)
        panel.grab()  # on screen once, as a user sees it before exporting
        return panel

    return make


def on_screen_controls(panel: QWidget) -> list[QWidget]:
    """What a user clicks or reads as an instruction: controls, their labels, hover hints."""
    found = [w for w in panel.findChildren(QWidget) if isinstance(w, CONTROLS)]
    found += [
        label
        for label in panel.findChildren(QLabel)
        if label.buddy() is not None or label.text().startswith(("Hover", "Click"))
    ]
    found += [w for w in panel.hints if w not in found]
    return [w for w in found if w.isVisible()]


def marked_pixels(path) -> int:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint32, image.width() * image.height())
    return int((pixels == (MARK.rgb() & 0xFFFFFFFF)).sum())


@pytest.mark.parametrize("panel_class", [*PANELS, *LAB_PANELS], ids=lambda c: c.key)
def test_every_panel_exports_a_16_9_figure_without_its_controls(panel_class, exported, tmp_path):
    panel = exported(panel_class)
    controls = on_screen_controls(panel)
    assert controls, "every panel has a control or a hint to leave out"
    for w in controls:
        w.setStyleSheet(f"background: {MARK.name()}")
    size_before = panel.size()

    png = panel.export(tmp_path / "figure.png")
    image = QImage(str(png))
    assert (image.width(), image.height()) == (1920, 1080)
    w, h = image.width(), image.height()
    colours = {image.pixel(x * w // 40, y * h // 40) for x in range(40) for y in range(40)}
    assert len(colours) > 5, "a figure, not a blank image"
    assert marked_pixels(png) == 0, "a control or a hint is in the figure"

    # The same widget written with its controls shows them: the check above can fail.
    with_controls = export_widget(panel, tmp_path / "window.png", FigureSize())
    assert marked_pixels(with_controls) > 100

    assert panel.size() == size_before and on_screen_controls(panel) == controls  # put back
    again = panel.export(tmp_path / "again.png")  # the first export was as complete
    assert QImage(str(again)) == image

    root = ET.parse(panel.export(tmp_path / "figure.svg")).getroot()
    assert root.tag.endswith("svg")
    x0, y0, vw, vh = (float(v) for v in root.get("viewBox").split())
    assert vw / vh == pytest.approx(16 / 9, rel=0.01)
    assert sum(1 for _ in root.iter()) > 20  # drawn items, not an empty frame


@pytest.mark.parametrize(
    ("size", "expected"),
    [(FigureSize(800, "4:3"), (800, 600)), (FigureSize(3840, "1:1"), (3840, 3840))],
)
def test_width_and_aspect_are_the_images(size, expected, exported, tmp_path):
    panel = exported(PANELS[3])
    image = QImage(str(panel.export(tmp_path / "g.png", size)))
    assert (image.width(), image.height()) == expected


def test_panel_aspect_keeps_the_shape_on_screen(exported, tmp_path):
    panel = exported(PANELS[0])
    image = QImage(str(panel.export(tmp_path / "g.png", FigureSize(1400, "panel"))))
    assert image.width() == 1400
    assert image.height() == pytest.approx(1400 * panel.height() / panel.width(), abs=1)


@pytest.mark.parametrize(
    ("width", "aspect", "says"),
    [(50, "16:9", "width must be between 200 and 16000"), (1920, "5:4", "aspect must be one of")],
)
def test_a_size_that_is_not_one_says_so(width, aspect, says):
    with pytest.raises(ExportError, match=says):
        FigureSize(width, aspect)


def test_a_folder_that_is_a_file_is_named_plainly(tmp_path):
    afile = tmp_path / "slides"
    afile.write_text("x")
    with pytest.raises(ExportError) as e:
        make_folder(afile)
    assert str(e.value) == f"{afile} is a file, not a folder"
    with pytest.raises(ExportError, match="cannot create the folder") as e:
        make_folder(afile / "sub")
    assert "Errno" not in str(e.value)


def cielab(colours: np.ndarray) -> np.ndarray:
    """(N, 3) sRGB 0..255 -> (N, 3) CIELAB (D65)."""
    rgb = np.asarray(colours, dtype=np.float64) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def rgb(name: str) -> list[int]:
    c = QColor(name)
    return [c.red(), c.green(), c.blue()]


def test_the_time_cursor_is_far_from_every_series_and_colour_map_colour():
    series = cielab([rgb(c) for c in {*theme.SERIES, *theme.GATE_COLOURS.values()}])
    maps = cielab(
        np.concatenate(
            [
                theme.cmap(name).getLookupTable(0.0, 1.0, 256, alpha=False)
                for name in (theme.SEQUENTIAL, theme.DIVERGING)
            ]
        )
    )
    cursor = cielab([rgb(theme.CURSOR)])
    pairs = np.linalg.norm(series[:, None] - series[None], axis=-1)
    closest_pair = pairs[pairs > 0].min()  # the series' own nearest neighbours (ΔE ≈ 26)
    assert np.linalg.norm(series - cursor, axis=-1).min() > 2 * closest_pair
    assert np.linalg.norm(maps - cursor, axis=-1).min() > 2 * closest_pair


def test_the_dialogs_ask_for_width_and_aspect(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QDialog

    from rnnviz.qt.export_dialogs import ExportAllDialog, ExportDialog

    dialog = ExportAllDialog(None, str(tmp_path))
    qtbot.addWidget(dialog)
    assert dialog.figure_size() == FigureSize(1920, "16:9")  # slides by default
    dialog.width_spin.setValue(1280)
    dialog.aspect.setCurrentIndex(dialog.aspect.findData("4:3"))
    assert dialog.figure_size() == FigureSize(1280, "4:3")

    def accept(self):  # the user types a name without a suffix and presses Save
        self.target.setText(str(tmp_path / "gates"))
        self.aspect.setCurrentIndex(self.aspect.findData("panel"))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", accept)
    path, size = ExportDialog.ask(None, "gates.png", "Export Gates")
    assert path == tmp_path / "gates.png" and size == FigureSize(1920, "panel")


def test_a_panel_in_a_small_dock_exports_the_same_figure(show_panel, probed_snapshot, tmp_path):
    """A panel squeezed into a small dock (its figure drawn scaled down, axis labels
    dropped) exports the figure it has with room: its axes get their labels back."""
    from rnnviz.qt.panels.core.gradients import GradientNormsPanel

    snapshot = probed_snapshot(cell="lstm")
    images = []
    for size in ((1100, 800), (320, 220)):
        panel = show_panel(GradientNormsPanel, snapshot, size=size, t=5)
        panel.grab()
        images.append(QImage(str(panel.export(tmp_path / f"{size[0]}.png"))))
    assert images[0] == images[1]


@pytest.mark.parametrize("key", ["gradients", "gradient_history", "factors"])
def test_a_readout_of_numbers_is_part_of_the_figure(key, exported, tmp_path):
    """The values at t and the vanishing ratio are what a preset's text quotes: an export
    keeps them (they are painted the marker colour and must show in the image)."""
    panel_class = next(c for c in (*PANELS, *LAB_PANELS) if c.key == key)
    panel = exported(panel_class)
    assert panel.readout.text()
    panel.readout.setStyleSheet(f"background: {MARK.name()}")
    panel.export(tmp_path / "figure.png")
    assert marked_pixels(tmp_path / "figure.png") > 0
