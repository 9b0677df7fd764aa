"""Melodies as standard MIDI files (SMF type 0, one track), through mido (a small pure-Python
MIDI library): what a music program opens to play a sampled melody.

A note becomes a note_on at its start and a note_off at its end (velocity 64); a rest is the
time between them. Tempo: a quarter note at `bpm` beats per minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mido

from rnnviz.core.atomic import write_atomic
from rnnviz.core.notation import Note

TICKS_PER_BEAT = 480  # divides every length of the notation (a sixteenth is 120 ticks)
VELOCITY = 64


def melody_midi(notes: Sequence[Note], bpm: float = 100.0, name: str = "rnnviz") -> mido.MidiFile:
    """One track: the tempo, an instrument (acoustic grand piano), then the notes in order."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.Message("program_change", program=0, time=0))
    wait = 0  # ticks since the last message: the rests before the next note
    for n in notes:
        ticks = int(n.beats * TICKS_PER_BEAT)
        if n.midi is None:
            wait += ticks
            continue
        track.append(mido.Message("note_on", note=n.midi, velocity=VELOCITY, time=wait))
        track.append(mido.Message("note_off", note=n.midi, velocity=VELOCITY, time=ticks))
        wait = 0
    track.append(mido.MetaMessage("end_of_track", time=wait))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    return midi


def write_midi(path: str | Path, notes: Sequence[Note], bpm: float = 100.0) -> None:
    """`notes` as a standard MIDI file at `path`, written atomically (core.atomic)."""
    midi = melody_midi(notes, bpm)
    write_atomic(path, lambda f: midi.save(file=f))
