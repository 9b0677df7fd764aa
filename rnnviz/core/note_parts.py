"""What a melody symbol is made of: a pitch and a length, and the symbol of any pitch and length.

The music task's vocabulary joins the two (one symbol per note, "E4/8"), so a note the
training tunes seldom use has a row of its own that training seldom moves. The parts let the
model share what it learns across notes: the note embedding and head add a row per pitch and per
length to each note's own (core/note_layers.py), and the melody cache's transposed votes
move a phrase's next note to another pitch (core/melody_cache.py), which needs the symbol of a
pitch and a length.

Shapes: V symbols ("|" is 0, the end of a melody).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import torch

from rnnviz.core.notation import Note


class NoteParts:
    """The parts of each symbol of `notes` (V,): None for "|", then Note(midi, beats), a rest
    with midi None. All tensors int64."""

    def __init__(self, notes: Sequence[Note | None]) -> None:
        pitches = sorted({n.midi for n in notes if n is not None and n.midi is not None})
        lengths: list[Fraction] = sorted({n.beats for n in notes if n is not None})
        self.lowest = pitches[0] if pitches else 0
        span = pitches[-1] - self.lowest + 1 if pitches else 0
        # midi (V,): the pitch, -1 for a rest and "|"; length (V,): index of the note's length
        # among the sorted lengths, -1 for "|"; rest (V,): bool
        self.midi = torch.tensor([-1 if n is None or n.midi is None else n.midi for n in notes])
        self.length = torch.tensor([-1 if n is None else lengths.index(n.beats) for n in notes])
        self.rest = torch.tensor([n is not None and n.midi is None for n in notes])
        # the embedding's part ids: pitch 0 "|", 1 a rest, 2 + midi - lowest; length 0 "|",
        # 1 + index
        self.pitch_id = torch.where(self.midi >= 0, self.midi - self.lowest + 2, self.rest.long())
        self.length_id = self.length + 1
        self.pitch_ids, self.length_ids = span + 2, len(lengths) + 1
        # the symbol of a pitch and a length: note_of (span, L), -1 for none
        self.note_of = torch.full((span, len(lengths)), -1, dtype=torch.int64)
        for i, n in enumerate(notes):
            if n is not None and n.midi is not None:
                self.note_of[n.midi - self.lowest, lengths.index(n.beats)] = i

    def symbol(self, midi: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """The symbols of the notes `midi` (any shape) with the lengths `length` (as in
        self.length, the same shape): -1 where the vocabulary has no such note."""
        span = self.note_of.shape[0]
        if span == 0:  # melodies of rests only
            return torch.full_like(midi, -1)
        inside = (midi >= self.lowest) & (midi < self.lowest + span) & (length >= 0)
        at = self.note_of.to(midi.device)[
            (midi - self.lowest).clamp(0, max(span - 1, 0)), length.clamp(min=0)
        ]
        return torch.where(inside, at, -1)
