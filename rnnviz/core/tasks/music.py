"""Music: predict the next note of a melody (many-to-many), then compose from a seed note
(one-to-many), as a character LM does with letters (Karpathy 2015; Eck & Schmidhuber 2002,
"Finding temporal structure in music: blues improvisation with LSTM recurrent networks").

A symbol is one note, its pitch and its length together ("E4/8", "R/4" for a rest: the
notation of rnnviz/core/notation.py), plus "|", the end of a melody, which also starts the
next one. The melodies, the user's (--data) or the bundled ones, are split by melody: every
HELDOUT_EVERY-th is held out (the last one when there are fewer), the others are joined into
one training stream "| m1 | m2 | … |" that training reads in random windows. The held-out
score is the NLL of each held-out melody read from its start, the state carried to its end (as
a listener hears it), over its notes and its closing "|". Its baseline is the unigram model of
the training melodies as written (their note counts, add-1/2 over the W symbols the melodies
use as written and "|"), scored on those same symbols: what a careful reader calls the unigram
baseline. It counts no augmented window and is not spread over the model's larger vocabulary
of every key and tempo, so more augmentation cannot weaken it. The held-out symbols' own
frequencies are no baseline (a unigram fitted on the notes it scores: 3.53 nats against 4.15
for the bundled tunes: 6 tunes, 251 notes, 18 of which no training tune has, W = 87).

Each training window is transposed by a random interval in TRANSPOSE (a melody is the same tune
in any key): with a few dozen tunes a network otherwise learns them by heart within a few
hundred steps, and its held-out NLL then climbs far above the baseline (measured at the
defaults, step 2000, seeds 0-2, before the tempi below: 1.48x without transposition, 1.12x in 5
keys, 0.96x in 12). Each is also played at a random tempo in TEMPO, its lengths halved or
doubled (a tune is the same in 2/4 as in 2/2; a window keeps its written lengths where one has
no length of the notation at that tempo): the held-out NLL at --steps 2000 falls from 0.97,
0.92, 0.99x the baseline to 0.88, 0.89, 0.92x (seeds 0-2, the embedding encoder, one row per
note; with the lookback encoder, the task's default, its melody cache and the notes' parts
0.708, 0.731, 0.740x at a learning rate of 0.01: core/lookback.py, core/melody_cache.py,
core/note_layers.py; README, "Melodies").
The vocabulary holds every note in every key and tempo. An LSTM still learns the tunes by
heart, so training reads NOTE_NOISE of its input notes replaced by random notes, its targets
kept (input dropout, as word dropout in Gal & Ghahramani 2016, "A theoretically grounded
application of dropout in recurrent neural networks"): no run of notes is seen twice alike.
The task's own learning rate and weight decay (TaskSpec: 0.005 and 0.2, decoupled as AdamW)
bring the held-out NLL to 0.686, 0.692, 0.698x (0.712, 0.708, 0.707x with no decay); on two
splits of the training tunes held out in turn (5 tunes each, the rest trained on), decay 0.2
moves it from 0.679, 0.706, 0.686x to 0.676, 0.680, 0.680x and from 0.669, 0.661, 0.672x to
0.668, 0.680, 0.662x.
Count models on the same split (benchmarks/bench_music_ceiling.py): a trigram 0.87x, a trigram
mixed with a cache of the tune's own notes 0.69x with weights chosen on the held-out tunes. A
plain LSTM hardly uses a tune's own phrases (its NLL on notes that repeat the tune's earlier
trigram is no lower than on the rest), and 25 tunes teach it little else: hence the lookback
that the task's encoder adds to each note (core/lookback.py), and the melody cache that the
model's output mixes in (core/melody_cache.py).

Generation starts from "|" and a seed note and draws each next note from
softmax(logits / temperature); "|" is never drawn, so a sample has the length asked for.

Shapes: B batch, T time, V symbols (notes and "|").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import torch

from rnnviz.core.config import ConfigError
from rnnviz.core.notation import (
    Melody,
    NotationError,
    Note,
    bundled_melodies,
    format_notes,
    length_text,
    parse_notes,
    read_melodies,
)
from rnnviz.core.note_parts import NoteParts
from rnnviz.core.tasks.base import Batch, Task, numpy
from rnnviz.core.tasks.charlm import unigram_nll
from rnnviz.core.tasks.stream import random_windows

if TYPE_CHECKING:
    from rnnviz.core.config import Config

END = "|"  # the end of a melody, and the start of the next
HELDOUT_EVERY = 5  # the 5th, 10th, … melody is held out
TRANSPOSE = range(-6, 6)  # semitones a training window is moved by: each key once
TEMPO = (Fraction(1, 2), Fraction(1), Fraction(2))  # lengths of a training window: x1/2, x1, x2
NOTE_NOISE = 0.3  # the fraction of training input notes replaced by random notes
CONTRAST = (0.5, 1.5)  # temperatures sampled side by side: careful, then adventurous


class MusicTask(Task):
    """Next-note prediction on melodies; vocabulary = the notes they use, and "|"."""

    name = "music"
    mask_rule = "at every step"

    def __init__(self, seq_len: int, melodies: Sequence[Melody]) -> None:
        super().__init__(seq_len)
        if len(melodies) < 2:
            raise ConfigError(
                f"the music task needs at least 2 melodies (one is held out), got {len(melodies)}"
            )
        self.train_melodies, self.heldout_melodies = split_melodies(melodies)
        written = {n for m in melodies for n in m.notes}
        self.written_size = len(written) + 1  # the notes as written, and "|"
        notes = {
            _transposed(s, k)
            for n in written
            for s in filter(None, (_stretched(n, r) for r in TEMPO))
            for k in TRANSPOSE
        }
        # Rests first, then by pitch and length: neighbouring ids are neighbouring notes.
        self.notes: tuple[Note | None, ...] = (None, *sorted(notes, key=_note_order))  # (V,)
        self.input_vocab = self.output_vocab = (END, *(str(n) for n in self.notes[1:]))
        self.input_size = self.output_size = len(self.notes)
        self.note_parts = NoteParts(self.notes)
        self._ids = {label: i for i, label in enumerate(self.input_vocab)}
        self.unsampled_ids = (0,)  # "|": a sample has the length asked for
        self.contrast_temperatures = CONTRAST
        # shift[k, i]: the id of note i moved by TRANSPOSE[k] semitones ("|" stays 0), -1
        # where that note is not in the vocabulary; stretch[j, i]: note i with its length
        # times TEMPO[j], -1 where that is no length of the notation. The melodies' own notes
        # move within the vocabulary in every key and at every tempo their lengths allow.
        self.shift = self._table([lambda n, k=k: _transposed(n, k) for k in TRANSPOSE])  # (K, V)
        self.stretch = self._table([lambda n, r=r: _stretched(n, r) for r in TEMPO])  # (J, V)
        self.train_ids = self._stream(self.train_melodies)  # (N_train,)
        self.heldout_ids = self._stream(self.heldout_melodies)  # (N_held,)
        if len(self.train_ids) < seq_len + 1:
            raise ConfigError(
                f"the training melodies have {len(self.train_ids)} notes and ends; the "
                f"sequence length {seq_len} needs at least {seq_len + 1}"
            )
        # The best constant predictor of the notes as training reads them: in every key and
        # tempo (a note whose length has none at a tempo counted as written, as a window is).
        stretched = self.stretch[:, self.train_ids]  # (J, N)
        read = torch.where(stretched >= 0, stretched, self.train_ids)  # (J, N)
        self.chance_loss = unigram_nll(self.shift[:, read], len(self.notes))  # over (K, J, N)
        firsts = Counter(m.notes[0] for m in self.train_melodies)
        self.seed_note = str(firsts.most_common(1)[0][0])  # the most common first note

    @classmethod
    def from_config(cls, config: Config) -> MusicTask:
        melodies = bundled_melodies() if config.data is None else read_melodies(config.data)
        return cls(config.seq_len, melodies)

    def _table(self, moves: Sequence[Callable[[Note], Note | None]]) -> torch.Tensor:
        """(len(moves), V): per move, the id each note goes to ("|" to itself), else -1."""
        return torch.tensor(
            [[0] + [self._ids.get(str(move(n)), -1) for n in self.notes[1:]] for move in moves]
        )

    def _stream(self, melodies: Sequence[Melody]) -> torch.Tensor:
        ids = [0]
        for m in melodies:
            ids += [self._ids[str(n)] for n in m.notes] + [0]
        return torch.tensor(ids, dtype=torch.int64)

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        """Random windows of the training stream, each moved to a random key and played at a
        random tempo of TEMPO (at the written one where a note of the window has no length
        of the notation at that tempo: a sixteenth halved, a whole note doubled)."""
        b = random_windows(self.train_ids, batch, self.seq_len, gen)
        window = torch.cat([b.x[:, :1], b.y], dim=1)  # (B, T+1)
        j = torch.randint(0, len(TEMPO), (batch, 1), generator=gen)  # (B, 1)
        stretched = self.stretch[j, window]  # (B, T+1)
        window = torch.where((stretched >= 0).all(dim=1, keepdim=True), stretched, window)
        k = torch.randint(0, len(TRANSPOSE), (batch, 1), generator=gen)  # (B, 1)
        window = self.shift[k, window]  # every key of every note is in the vocabulary
        return Batch(window[:, :-1], window[:, 1:], b.mask)

    def model_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """The training input with NOTE_NOISE of its notes replaced by random notes ("|" kept:
        where a melody ends stays known); the targets, the probe and the held-out melodies
        stay clean. The noise is drawn from the window's own notes, so a run that is reset
        repeats it as it repeats its batches."""
        x = batch.x.cpu()  # (B, T)
        gen = torch.Generator().manual_seed(hash(tuple(x.reshape(-1).tolist())) % 2**63)
        noisy = (torch.rand(x.shape, generator=gen) < NOTE_NOISE) & (x != 0)
        random_notes = torch.randint(1, len(self.notes), x.shape, generator=gen)
        return (torch.where(noisy, random_notes, x).to(batch.x.device),)

    def heldout(self) -> Batch:
        """One row per held-out melody, "| notes |", read from its first note with the state
        carried to its end, as a listener hears it (a window cut mid-tune would score its
        first notes with no context); rows padded with "|" to the longest, masked there."""
        rows = [self._stream([m]) for m in self.heldout_melodies]
        B, T = len(rows), max(len(r) for r in rows) - 1
        x, y = torch.zeros(B, T, dtype=torch.int64), torch.zeros(B, T, dtype=torch.int64)
        mask = torch.zeros(B, T)
        for i, r in enumerate(rows):
            x[i, : len(r) - 1], y[i, : len(r) - 1], mask[i, : len(r) - 1] = r[:-1], r[1:], 1.0
        return Batch(x, y, mask)

    def heldout_baseline(self, batch: Batch) -> float:
        """The unigram model of the training melodies as written, scored on the held-out notes:
        P(note) = (count + 1/2) / (N + W/2) over the W symbols the melodies use as written and
        "|" (add-1/2, Krichevsky-Trofimov: a note the training tunes never use keeps some
        probability). W, not the model's vocabulary of every key and tempo: the baseline does
        not weaken as training reads the tunes in more keys and tempi."""
        counts = torch.bincount(self.train_ids[1:], minlength=len(self.notes)).double()  # (V,)
        p = (counts + 0.5) / (counts.sum() + 0.5 * self.written_size)
        return float(-p.log()[batch.y[batch.mask > 0]].mean())

    def encode(self, text: str) -> torch.Tensor:
        """(P,) ids of notes in the notation ("|" allowed); ConfigError names a note that is
        not in the notation or not in the melodies' vocabulary."""
        ids = []
        for token in text.split():
            if token != END:
                try:
                    (note,) = parse_notes(token)
                except NotationError as e:
                    raise ConfigError(str(e)) from None
                token = str(note)
            if token not in self._ids:
                raise ConfigError(f"the note {token} is in none of the melodies learnt")
            ids.append(self._ids[token])
        return torch.tensor(ids, dtype=torch.int64)

    def prime_ids(self, prime: str | None = None) -> torch.Tensor:
        """(P,) ids a sample starts from: "|" (a melody begins), then `prime`'s notes (default:
        the most common first note of the training melodies)."""
        return self.encode(f"{END} {prime or self.seed_note}")

    def decode(self, ids: Any) -> str:
        """The notes of `ids` in the notation, "|" left out."""
        return format_notes([self.notes[i] for i in numpy(ids).reshape(-1).tolist() if i])

    def pitch_of(self, ids: Any) -> list[int | None]:
        """MIDI pitch per id (None for a rest or "|")."""
        return [None if i == 0 else self.notes[i].midi for i in numpy(ids).reshape(-1).tolist()]


def split_melodies(melodies: Sequence[Melody]) -> tuple[list[Melody], list[Melody]]:
    """(training, held-out): every HELDOUT_EVERY-th melody held out, else the last one."""
    held = [i for i in range(len(melodies)) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1]
    held = held or [len(melodies) - 1]
    train = [m for i, m in enumerate(melodies) if i not in held]
    return train, [melodies[i] for i in held]


def _transposed(n: Note, k: int) -> Note:
    return n if n.midi is None else Note(n.midi + k, n.beats)


def _stretched(n: Note, r: Fraction) -> Note | None:
    """`n` with its length times r, or None where that is no length of the notation."""
    try:
        length_text(n.beats * r)
    except ValueError:
        return None
    return Note(n.midi, n.beats * r)


def _note_order(n: Note) -> tuple[int, float]:
    return (-1 if n.midi is None else n.midi, float(n.beats))
