"""A small note notation for melodies: one melody per line, its notes separated by spaces.

    line    = [ title ":" ] note { note }        "Hot Cross Buns: E4 D4 C4/2"
    note    = pitch [ "/" length [ "." ] ]        C4   Eb4/8   F#5/2.   R/4
    pitch   = letter [ "#" | "b" ] octave  |  "R"
    letter  = A B C D E F G;  octave = 0 … 8 (scientific pitch: C4 is middle C, MIDI 60,
              and A4 is 440 Hz; an octave runs from C up to B)
    R       a rest
    length  = 1 | 2 | 4 | 8 | 16: a whole, half, quarter, eighth or sixteenth note; a dot
              makes it half as long again (C4/4. is a dotted quarter). No length: a quarter.

In a file, a line whose first non-blank character is "#" is a comment, and blank lines are
skipped. A note prints in one canonical spelling (`str(note)`): black keys with a sharp
(Eb4 prints as D#4) and no "/4" for a quarter note, so two spellings of one sound are one
token.

A mistake is one line that says where and what: "line 3, note 5 'H4': the pitch letter must
be A-G, or R for a rest".

Shapes: none; durations are in quarter notes (beats), as fractions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from pathlib import Path

from rnnviz.core.config import ConfigError

LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}  # semitones above C
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
LENGTHS = (1, 2, 4, 8, 16)  # whole … sixteenth
OCTAVES = range(0, 9)
BUNDLED_MELODIES = "melodies.txt"  # in rnnviz.resources.melodies
_NOTE = re.compile(r"^(?:(?P<letter>[A-Za-z])(?P<accidental>[#b]?)(?P<octave>-?\d+)|(?P<rest>R))"
                   r"(?:/(?P<length>\d+)(?P<dot>\.?))?$")  # fmt: skip


class NotationError(ValueError):
    """Text that is not in the notation; the message says what is wrong."""


@dataclass(frozen=True)
class Note:
    midi: int | None  # MIDI note number (60 = C4), None for a rest
    beats: Fraction  # duration in quarter notes

    @property
    def is_rest(self) -> bool:
        return self.midi is None

    def __str__(self) -> str:
        pitch = "R" if self.midi is None else pitch_name(self.midi)
        return pitch + length_text(self.beats)


@dataclass(frozen=True)
class Melody:
    title: str  # "" when the line has none
    notes: tuple[Note, ...]

    def __str__(self) -> str:
        notes = format_notes(self.notes)
        return f"{self.title}: {notes}" if self.title else notes


def pitch_name(midi: int) -> str:
    """'C4' for 60, 'A#4' for 70: sharps for black keys."""
    return f"{SHARP_NAMES[midi % 12]}{midi // 12 - 1}"


@lru_cache(maxsize=64)  # a handful of lengths, printed for every note of every redraw
def length_text(beats: Fraction) -> str:
    """'' for a quarter, '/8' for an eighth, '/4.' for a dotted quarter."""
    for n in LENGTHS:
        plain = Fraction(4, n)
        if beats == plain:
            return "" if n == 4 else f"/{n}"
        if beats == plain * Fraction(3, 2):
            return f"/{n}."
    raise ValueError(f"{beats} beats is no length of the notation")


@lru_cache(maxsize=4096)  # a vocabulary's few hundred notes, read again at every redraw
def parse_note(token: str) -> Note:
    """One note ('C#4/8.'), or NotationError saying what is wrong with it."""
    m = _NOTE.match(token)
    if m is None:
        raise NotationError(
            f"{token!r} is not a note: write a pitch and an octave (C4, Eb4, F#5) or R for a "
            "rest, optionally /1 /2 /4 /8 /16 for the length and a dot"
        )
    length = int(m["length"]) if m["length"] else 4
    if length not in LENGTHS:
        raise NotationError(
            f"{token!r}: the length must be 1, 2, 4, 8 or 16 (whole to sixteenth), not {length}"
        )
    beats = Fraction(4, length) * (Fraction(3, 2) if m["dot"] else 1)
    if m["rest"]:
        return Note(None, beats)
    letter = m["letter"]
    if letter not in LETTERS:
        raise NotationError(f"{token!r}: the pitch letter must be A-G, or R for a rest")
    octave = int(m["octave"])
    if octave not in OCTAVES:
        raise NotationError(f"{token!r}: the octave must be 0 to 8 (C4 is middle C)")
    shift = {"#": 1, "b": -1, "": 0}[m["accidental"]]
    return Note(12 * (octave + 1) + LETTERS[letter] + shift, beats)


def parse_notes(text: str) -> tuple[Note, ...]:
    """The notes of `text` (separated by white space); NotationError names the bad note."""
    notes = []
    for i, token in enumerate(text.split(), 1):
        try:
            notes.append(parse_note(token))
        except NotationError as e:
            raise NotationError(f"note {i} {e}") from None
    return tuple(notes)


def parse_melody(line: str) -> Melody:
    """One line of the notation: an optional 'title:' and at least one note."""
    title, colon, body = line.rpartition(":")
    if not colon:
        title, body = "", line
    notes = parse_notes(body)
    if not notes:
        raise NotationError("a melody needs at least one note")
    return Melody(title.strip(), notes)


def format_notes(notes: tuple[Note, ...] | list[Note]) -> str:
    """The notes in canonical spelling, separated by spaces; parse_notes reads it back."""
    return " ".join(str(n) for n in notes)


def sample_pitches(text: str) -> list[int]:
    """The sounding pitches of a sample's notes (rests left out)."""
    return [n.midi for n in parse_notes(text) if n.midi is not None]


def pitch_range_and_leap(text: str) -> tuple[int, float]:
    """(distinct pitches, mean |interval| in semitones) of a sample: how adventurous it is."""
    p = sample_pitches(text)
    leaps = [abs(b - a) for a, b in zip(p, p[1:], strict=False)]
    return len(set(p)), (sum(leaps) / len(leaps) if leaps else 0.0)


def parse_melodies(text: str, source: str) -> list[Melody]:
    """Every melody of a file's text (comments and blank lines skipped), or ConfigError in one
    line naming `source`, the line and the note."""
    melodies = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            melodies.append(parse_melody(line))
        except NotationError as e:
            raise ConfigError(f"{source}, line {n}: {e}") from None
    if not melodies:
        raise ConfigError(f"{source} holds no melody (one per line, e.g. 'C4 D4 E4/2')")
    return melodies


def read_melodies(path: str | Path) -> list[Melody]:
    """The melodies of a UTF-8 file in the notation, or ConfigError in one line."""
    from rnnviz.core.corpus import check_text_path  # corpus imports config, as this module

    p = check_text_path(path, "data file")
    source = f"data file {p}"
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {source}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{source} is not UTF-8 (byte {e.start})") from None
    return parse_melodies(text, source)


@lru_cache(maxsize=1)
def bundled_melodies() -> tuple[Melody, ...]:
    """The public-domain melodies that ship with rnnviz (resources/melodies/README.md)."""
    text = resources.files("rnnviz.resources.melodies").joinpath(BUNDLED_MELODIES).read_text()
    return tuple(parse_melodies(text, f"the bundled {BUNDLED_MELODIES}"))
