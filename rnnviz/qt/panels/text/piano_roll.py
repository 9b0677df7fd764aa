"""The music task on a piano roll: the probe melody, the model's next-note probabilities under
it, and a melody the model composed.

One column per step t (one note per step; its length is in the hover text), one row per pitch
(MIDI number, middle C = 60). The probe melody x_t (sequence 0) is drawn as dark bars; under
them, at column t + 1, the heat is the probability the model gave each pitch as the next note
after reading x_0 … x_t: p_t(pitch) = sum over the notes of that pitch (any length) of
softmax(ŷ_t). Where the model has learnt the tune, each bar sits on a dark cell. After the
melody: melodies the model composed one note at a time from the seed note, side by side, one
colour each: the music task's samples at a low and a high temperature (extras["samples"]), else
the latest sample at the Training panel's temperature. Dashed lines: ends of melodies.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from rnnviz.core.notation import (
    NotationError,
    Note,
    format_notes,
    parse_note,
    parse_notes,
    pitch_name,
    pitch_range_and_leap,
)
from rnnviz.core.trace import Trace
from rnnviz.qt import theme
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.panels.text.note_stack import NoteStack
from rnnviz.qt.plotkit import plain_axes, wrap_title
from rnnviz.qt.timeline import TimeCursor

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.train import Snapshot

NEEDS_MUSIC = "This panel needs the music task; choose it in Settings."
MARGIN = 2  # semitones shown above and below the notes
MAX_SAMPLE = 64  # notes of a sample shown after the melody
# cool for the low temperature, hot for the high one: orange and red were one colour on a
# projector
MELODY, SAMPLED = theme.BLACK, (theme.BLUE, theme.VERMILION, theme.GREEN)
COLOUR_NAMES = ("blue", "red", "green")


def vocab_notes(vocab: list[str]) -> list[Note | None]:
    """The note of each output label; None for the end mark '|'."""
    out: list[Note | None] = []
    for label in vocab:
        try:
            out.append(parse_note(label))
        except NotationError:
            out.append(None)
    return out


def pitch_probabilities(logits: np.ndarray, notes: list[Note | None], lo: int, hi: int):
    """(p (T, hi - lo + 1) per pitch, p_rest (T,), p_end (T,)) from logits (T, V)."""
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)  # (T, V)
    by_pitch = np.zeros((len(p), hi - lo + 1))
    rest, end = np.zeros(len(p)), np.zeros(len(p))
    for i, n in enumerate(notes):
        if n is None:
            end += p[:, i]
        elif n.midi is None:
            rest += p[:, i]
        elif lo <= n.midi <= hi:
            by_pitch[:, n.midi - lo] += p[:, i]
    return by_pitch, rest, end


def shown_samples(extras) -> list[tuple[float | None, tuple[Note, ...]]]:
    """(temperature, notes) of each composed melody to show: the contrast samples, else the
    latest sample (up to MAX_SAMPLE notes each); none for another task's text."""
    pairs = extras.get("samples") or [(extras.get("temperature"), extras.get("sample") or "")]
    try:
        shown = [(t, parse_notes(text)[:MAX_SAMPLE]) for t, text in pairs[: len(SAMPLED)]]
    except NotationError:  # a character LM's text
        return []
    return [(t, notes) for t, notes in shown if notes]


def sample_words(notes: tuple[Note, ...]) -> str:
    """'7 pitches, mean leap 2.4': the words the preset's claim quotes, as drawn."""
    pitches, leap = pitch_range_and_leap(format_notes(notes))
    return f"{pitches} pitches, mean leap {leap:.1f}"


class PianoRollPanel(Panel):
    title = "Piano roll"
    key = "piano_roll"
    info = (
        "The music task's probe melody as a piano roll: one column per note (step t), one row "
        "per pitch. Dark bars: the melody x_t. Under them, at column t + 1, the heat is the "
        "probability p_t(pitch) = Σ softmax(ŷ_t) over the notes of that pitch that the model "
        "gave the next note after reading the melody up to x_t: a bar on a dark cell is a note "
        "the model expected. Coloured bars after the melody: melodies the model composed one "
        "note at a time from a seed note (one-to-many), drawing each next note from "
        "softmax(ŷ / T): side by side at a low and a high temperature T. The title counts "
        "their pitches and mean leap. Dashed lines mark the end of a melody ('|')."
    )
    draws = ("trace", "extras")

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(cursor, parent)
        self.midi_button = QPushButton("Save as MIDI…")
        self.midi_button.setToolTip(
            "The melody and the composed melodies as a standard MIDI file, for a music program"
        )
        self.midi_button.clicked.connect(self.export_midi_dialog)
        self.controls_row.addWidget(self.midi_button)
        self.controls_row.addStretch(1)
        self.view = pg.GraphicsLayoutWidget()
        self.adopt_plot(self.view)
        self.plot = wrap_title(self.view.addPlot(row=0, col=0))
        plain_axes(self.plot)
        self.plot.setLabel("bottom", "step t (one note a step)")
        self.plot.setLabel("left", "pitch")
        self.plot.setMouseEnabled(x=False, y=False)
        self.heat = pg.ImageItem()
        self.heat.setColorMap(theme.cmap(theme.SEQUENTIAL))
        self.plot.addItem(self.heat)
        self.bar = pg.ColorBarItem(values=(0, 1), interactive=False, width=12, label="p")
        self.bar.setImageItem(self.heat)
        self.view.addItem(self.bar, row=0, col=1)
        self.melody = pg.BarGraphItem(x0=[], y0=[], width=1, height=0.8, brush=MELODY)
        self.plot.addItem(self.melody)
        self.sampled = [
            pg.BarGraphItem(x0=[], y0=[], width=1, height=0.8, brush=c) for c in SAMPLED
        ]  # one per sample shown
        for bars in self.sampled:
            self.plot.addItem(bars)
        self.ends: list[pg.InfiniteLine] = []
        self.cursor_line = pg.InfiniteLine(angle=90, pen=theme.pen(theme.CURSOR))
        self.plot.addItem(self.cursor_line)
        self.stack = NoteStack(self.view)
        self.note = self.stack.note
        self.hover_label = self.add_hint("Hover a column for the note and the model's guesses.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.hover_label)
        self.trace: Trace | None = None
        self.melody_notes: list[Note | None] = []  # x_t of sequence 0 (None: the end mark)
        self.samples: list[tuple[float | None, tuple[Note, ...]]] = []  # (T, notes) shown
        self.p = np.zeros((0, 0))  # (T, pitches) next-note probabilities
        self.p_rest = self.p_end = np.zeros(0)
        self.lo = 60
        self.plot.scene().sigMouseMoved.connect(self._hover)

    def redraw(self, snapshot: Snapshot) -> None:
        trace = snapshot.trace
        if trace is None:
            return
        if trace.meta.get("task") != "music":
            self.trace = None
            self.stack.show_note(NEEDS_MUSIC)
            return
        self.stack.show_figure()
        self.trace = trace
        notes = vocab_notes(list(trace.meta["output_vocab"]))
        self.melody_notes = [notes[int(i)] for i in trace.x_raw[0]]
        self.samples = shown_samples(snapshot.extras)
        T = trace.T
        composed = [n for _, notes in self.samples for n in notes]
        pitches = [n.midi for n in (*self.melody_notes, *composed) if n and n.midi]
        lo = (min(pitches) if pitches else 60) - MARGIN
        hi = (max(pitches) if pitches else 72) + MARGIN
        self.lo = lo
        self.p, self.p_rest, self.p_end = pitch_probabilities(trace.y_hat[0], notes, lo, hi)
        self.heat.setImage(self.p.T, autoLevels=False, levels=(0.0, 1.0))  # (pitches, T)
        self.heat.setRect(QRectF(0.5, lo - 0.5, T, hi - lo + 1))  # p_t under column t + 1
        x, y = self._bars(self.melody_notes, 0)
        self.melody.setOpts(x0=x - 0.5, y0=y - 0.4, width=1.0, height=0.8)
        start = T + 1
        for k, bars in enumerate(self.sampled):
            notes = self.samples[k][1] if k < len(self.samples) else ()
            x, y = self._bars(notes, start)
            bars.setOpts(x0=x - 0.5, y0=y - 0.4, width=1.0, height=0.8)
            start += len(notes) + 1
        for line in self.ends:
            self.plot.removeItem(line)
        self.ends = []
        for t, n in enumerate(self.melody_notes):
            if n is None:
                line = pg.InfiniteLine(
                    t, angle=90, pen=theme.pen(theme.BLACK, 1, Qt.PenStyle.DashLine)
                )
                self.plot.addItem(line)
                self.ends.append(line)
        self.plot.setXRange(-0.5, max(start, T + 1) - 0.5, padding=0)
        self.plot.setYRange(lo - 0.5, hi + 0.5, padding=0)
        step = trace.meta.get("step")
        composed_words = "; ".join(
            f"{COLOUR_NAMES[k]}: T = {t:g}, {sample_words(notes)}"
            for k, (t, notes) in enumerate(self.samples)
            if t is not None
        )
        self.plot.setTitle(
            f"Probe melody{'' if step is None else f' at step {step}'} and p(next pitch)"
            + (f"; composed from a seed note, {composed_words}" if composed_words else "")
        )

    @staticmethod
    def _bars(notes, start: int) -> tuple[np.ndarray, np.ndarray]:
        """(x, pitch) of the sounding notes, the first at column `start`."""
        hits = [(start + t, n.midi) for t, n in enumerate(notes) if n and n.midi is not None]
        a = np.array(hits, dtype=float).reshape(-1, 2)
        return a[:, 0], a[:, 1]

    def midi_notes(self) -> list[Note]:
        """What the roll shows, as one melody: the probe melody (an end mark as a half rest),
        then each composed melody after a whole rest."""
        rest, pause = parse_note("R/2"), parse_note("R/1")
        notes = [rest if n is None else n for n in self.melody_notes]
        for _, sample in self.samples:
            notes += [pause, *sample]
        return notes

    def export_midi(self, path: str | Path) -> None:
        from rnnviz.core.midi import write_midi  # mido, only when asked for

        write_midi(path, self.midi_notes())

    def export_midi_dialog(self) -> None:
        if self.trace is None:
            QMessageBox.information(self, self.title, NEEDS_MUSIC)
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the melodies as MIDI", f"{self.key}.mid", "MIDI file (*.mid)"
        )
        if not path:
            return
        try:
            self.export_midi(path)
        except OSError as e:
            QMessageBox.warning(self, "Export failed", f"cannot write {path}: {e.strerror or e}")

    def data_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """The probe melody by t (its MIDI pitch; empty for a rest or the end mark) and the
        model's probability of each next pitch, of a rest and of the end (the heatmap's
        column t + 1). The composed melodies go out as MIDI (Save as MIDI…)."""
        if self.trace is None:
            return {}
        pitch = [np.nan if n is None or n.midi is None else n.midi for n in self.melody_notes]
        table = {"t": np.arange(len(self.p)), "melody x_t (MIDI pitch)": np.array(pitch)}
        for k in range(self.p.shape[1]):
            table[f"p(next = MIDI {self.lo + k})"] = self.p[:, k]
        table["p(next = rest)"] = self.p_rest
        table["p(next = end)"] = self.p_end
        return {"time": table}

    def show_time(self, t: int) -> None:
        if self.trace is not None:
            self.cursor_line.setValue(t)

    def describe(self, t: int) -> str:
        """The hover text for column t of the melody."""
        if self.trace is None or not 0 <= t < self.trace.T:
            return ""
        n = self.melody_notes[t]
        now = "the end of a melody '|'" if n is None else f"'{n}'"
        best = np.argsort(self.p[t])[::-1][:3]
        guesses = ", ".join(f"{pitch_name(self.lo + int(k))} {self.p[t, k]:.2f}" for k in best)
        return (
            f"t = {t}: {now}; the model's next pitch: {guesses}, rest {self.p_rest[t]:.2f}, "
            f"end {self.p_end[t]:.2f}"
        )

    def _hover(self, pos) -> None:
        if self.trace is None:
            return
        x = self.plot.vb.mapSceneToView(pos).x()
        self.hover_label.setText(self.describe(int(round(x))) or self.hover_label.text())
