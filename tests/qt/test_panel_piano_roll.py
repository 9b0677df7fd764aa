"""The piano roll: the probe melody, the model's next-pitch probabilities under it, and a
composed melody, from a real tiny music model's snapshot (no window, no worker)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage

from rnnviz.core.notation import parse_notes
from rnnviz.qt.panels import LAB_PANELS
from rnnviz.qt.panels.text.piano_roll import NEEDS_MUSIC, PianoRollPanel


@pytest.fixture(scope="module")
def music():
    """A tiny music model after 30 steps, with the melodies it composed at 0.5 and 1.5."""
    from rnnviz.core.config import Config
    from rnnviz.core.sampling import sample_extras
    from rnnviz.core.train import Trainer

    trainer = Trainer(Config(task="music", hidden=8, seq_len=24, batch=8, device="cpu"))
    for _ in range(30):
        trainer.train_step()
    extras = sample_extras(trainer, 1.0, length=12)
    return trainer.snapshot(state="paused", trace=trainer.record(), steps_per_s=0.0, extras=extras)


@pytest.fixture
def show(show_panel):
    return lambda snapshot, t=0: show_panel(PianoRollPanel, snapshot, t=t)


def test_it_is_in_the_laboratory():
    assert PianoRollPanel in LAB_PANELS


def test_melody_bars_heat_and_the_composed_notes(music, show):
    panel = show(music, t=3)
    trace = music.trace
    vocab = trace.meta["output_vocab"]
    melody = [vocab[int(i)] for i in trace.x_raw[0]]
    sounding = [(t, parse_notes(s)[0].midi) for t, s in enumerate(melody) if s not in ("|",)]
    sounding = [(t, m) for t, m in sounding if m is not None]
    bars = panel.melody.opts
    assert list(bars["x0"] + 0.5) == [t for t, _ in sounding]
    assert list(bars["y0"] + 0.4) == [m for _, m in sounding]
    # the two composed melodies side by side after the probe melody, cold first
    start = trace.T + 1
    for bars, (t, text) in zip(panel.sampled, music.extras["samples"], strict=False):
        notes = parse_notes(text)
        x = bars.opts["x0"] + 0.5
        sounding = [start + k for k, n in enumerate(notes) if n.midi is not None]
        assert list(x) == sounding
        start += len(notes) + 1
        pitches = [n.midi for n in notes if n.midi is not None]
        leap = np.mean(np.abs(np.diff(pitches)))
        assert f"T = {t:g}, {len(set(pitches))} pitches, mean leap {leap:.1f}" in (
            panel.plot.titleLabel.text
        )
    # The heat is p(next pitch): with the rest and the end mark, each step's p sums to 1
    # (every pitch the model could name lies within the rows drawn, or is counted outside).
    p = panel.p
    assert p.shape[0] == trace.T
    assert np.all(p.sum(axis=1) + panel.p_rest + panel.p_end <= 1 + 1e-9)
    z = trace.y_hat[0, 3].astype(float)
    soft = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    same_pitch = [
        k for k, s in enumerate(vocab) if s != "|" and parse_notes(s)[0].midi == panel.lo + 5
    ]
    assert p[3, 5] == pytest.approx(soft[same_pitch].sum())
    assert panel.cursor_line.value() == 3


def test_hover_names_the_note_and_the_guesses(music, show):
    panel = show(music)
    label = music.trace.meta["output_vocab"][int(music.trace.x_raw[0, 2])]
    text = panel.describe(2)
    assert text.startswith(f"t = 2: '{label}'") or text.startswith("t = 2: the end")
    assert "the model's next pitch:" in text and "rest" in text
    assert panel.describe(music.trace.T + 4) == ""


def test_other_tasks_show_a_note(make_snapshot, show):
    panel = show(make_snapshot(task="sine", seq_len=10))
    assert panel.stack.currentIndex() == 0 and panel.note.text() == NEEDS_MUSIC


def test_it_saves_what_it_shows_as_midi(music, show, tmp_path):
    import mido

    panel = show(music)
    panel.export_midi(tmp_path / "roll.mid")
    played = [m.note for m in mido.MidiFile(tmp_path / "roll.mid").tracks[0] if m.type == "note_on"]
    vocab = music.trace.meta["output_vocab"]
    melody = [parse_notes(vocab[int(i)])[0] for i in music.trace.x_raw[0] if vocab[int(i)] != "|"]
    composed = [n for _, text in music.extras["samples"] for n in parse_notes(text)]
    assert played == [n.midi for n in (*melody, *composed) if n.midi is not None]


def test_it_exports_png_and_svg(music, show, tmp_path):
    panel = show(music)
    panel.grab()
    image = QImage(str(panel.export(tmp_path / "roll.png")))
    assert image.width() > 0 and image.width() * 9 == image.height() * 16
    root = ET.parse(panel.export(tmp_path / "roll.svg")).getroot()
    assert root.tag.endswith("svg")


def test_the_two_temperatures_are_told_apart_by_hue(music, show):
    """On a projector the low and high temperature's melodies (orange and red) looked alike:
    their colours are now far apart in hue, and the title names each by its colour."""
    from PySide6.QtGui import QColor

    panel = show(music)
    cold, hot = (QColor(bars.opts["brush"]) for bars in panel.sampled[:2])
    apart = abs(cold.hsvHue() - hot.hsvHue())
    assert min(apart, 360 - apart) >= 90
    (t_cold, _), (t_hot, _) = music.extras["samples"][:2]
    title = panel.plot.titleLabel.text
    assert f"blue: T = {t_cold:g}" in title and f"red: T = {t_hot:g}" in title
