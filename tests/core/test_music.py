"""Melodies: the note notation, the bundled tunes, the music task and `rnnviz sample`."""

from __future__ import annotations

import math
from fractions import Fraction

import mido
import pytest
import torch

from rnnviz import cli
from rnnviz.core.config import Config, ConfigError
from rnnviz.core.midi import TICKS_PER_BEAT
from rnnviz.core.notation import (
    NotationError,
    Note,
    bundled_melodies,
    format_notes,
    parse_melodies,
    parse_note,
    parse_notes,
)
from rnnviz.core.sampling import sample_ids
from rnnviz.core.tasks.charlm import unigram_nll
from rnnviz.core.tasks.music import (
    END,
    NOTE_NOISE,
    TEMPO,
    TRANSPOSE,
    MusicTask,
    split_melodies,
)
from rnnviz.core.train import Trainer

TINY = ["--hidden", "8", "--seq-len", "16", "--batch", "4", "--device", "cpu", "--threads", "1"]

# ---------------------------------------------------------------------------- notation


def test_notes_read_and_print_in_one_canonical_spelling():
    assert parse_note("C4") == Note(60, Fraction(1))
    assert parse_note("A4/8") == Note(69, Fraction(1, 2))
    assert parse_note("F#5/2.") == Note(78, Fraction(3))
    assert parse_note("R/16") == Note(None, Fraction(1, 4))
    assert parse_note("Eb4") == parse_note("D#4")  # one sound, one token
    assert format_notes(parse_notes("Eb4/4 C4/4. R/1 Bb3/16")) == "D#4 C4/4. R/1 A#3/16"


@pytest.mark.parametrize(
    "text, words",
    [
        ("C4 H4", "note 2 'H4': the pitch letter must be A-G"),
        ("C4/3", "the length must be 1, 2, 4, 8 or 16"),
        ("C9", "the octave must be 0 to 8"),
        ("C4 do", "'do' is not a note"),
        ("C4, D4", "'C4,' is not a note"),
    ],
)
def test_a_bad_note_is_one_line_that_says_which_and_why(text, words):
    with pytest.raises(NotationError, match=words) as e:
        parse_notes(text)
    assert "\n" not in str(e.value)


def test_a_file_error_names_the_line():
    text = "# my tunes\nA: C4 D4\n\nB: C4 Q4\n"
    with pytest.raises(ConfigError, match=r"^tunes.txt, line 4: note 2 'Q4'"):
        parse_melodies(text, "tunes.txt")
    with pytest.raises(ConfigError, match="holds no melody"):
        parse_melodies("# only a comment\n\n", "tunes.txt")
    with pytest.raises(ConfigError, match="line 1: a melody needs at least one note"):
        parse_melodies("Title only:\n", "tunes.txt")


def test_bundled_melodies_round_trip_and_are_the_tunes_named():
    melodies = bundled_melodies()
    assert 20 <= len(melodies) <= 40
    assert len({m.title for m in melodies}) == len(melodies)
    for m in melodies:
        assert parse_melodies(str(m), "again")[0] == m  # the printer's text reads back
    tunes = {m.title: [n.midi for n in m.notes if n.midi is not None] for m in melodies}

    def steps(title, n):
        p = tunes[title][: n + 1]
        return [b - a for a, b in zip(p, p[1:], strict=False)]  # the first n intervals

    # Intervals in semitones, from the tunes as sung (any key): a transcription slip shows.
    assert steps("Twinkle, Twinkle, Little Star", 7) == [0, 7, 0, 2, 0, -2, -2]
    assert steps("Ode to Joy", 13) == [0, 1, 2, 0, -2, -1, -2, -2, 0, 2, 2, 0, -2]
    assert steps("Frère Jacques", 7) == [2, 2, -4, 0, 2, 2, -4]
    assert steps("Mary Had a Little Lamb", 6) == [-2, -2, 2, 2, 0, 0]
    assert steps("Au clair de la lune", 10) == [0, 0, 2, 2, -2, -2, 4, -2, 0, -2]
    assert steps("Greensleeves", 6) == [3, 2, 2, 1, -1, -2]
    assert steps("Für Elise", 8) == [-1, 1, -1, 1, -5, 3, -2, -3]


# ---------------------------------------------------------------------------- the task


@pytest.fixture(scope="module")
def task():
    return MusicTask(16, bundled_melodies())


def test_held_out_melodies_are_whole_tunes_never_trained_on(task):
    melodies = bundled_melodies()
    train, held = split_melodies(melodies)
    assert [m.title for m in held] == [m.title for m in melodies[4::5]]
    assert not {m.title for m in train} & {m.title for m in held}
    # One row per held-out tune, "| notes |", read from its first note to its end: every note
    # and the end mark scored once, the padding after it never.
    batch = task.heldout()
    assert task.input_vocab[0] == END and len(batch) == len(held)
    for row, m in enumerate(held):
        n = len(m.notes) + 1  # the notes and the closing "|"
        assert batch.x[row, 0] == 0 and task.decode(batch.x[row, :n]) == format_notes(m.notes)
        assert (
            task.decode(batch.y[row, : n - 1]) == format_notes(m.notes) and batch.y[row, n - 1] == 0
        )
        assert batch.mask[row].tolist() == [1.0] * n + [0.0] * (batch.mask.shape[1] - n)


def test_the_baseline_is_a_unigram_of_the_training_notes_scored_on_the_held_out_ones():
    # Training tunes use C4, D4 and E4; the held-out one E4 and F4: a unigram fitted on the
    # training notes (add-1/2) pays for the F4 it never saw, as any model fitted on them.
    tunes = parse_melodies("C4 D4 C4\nC4 E4\nD4 C4\nC4 C4 D4\nE4 F4 E4 F4\n", "tunes")
    task = MusicTask(4, tunes)
    batch = task.heldout()
    count = {"|": 4, "C4": 6, "D4": 3, "E4": 1, "F4": 0}  # the training stream's targets
    targets = ["E4", "F4", "E4", "F4", "|"]
    n, W = sum(count.values()), len(count)  # smoothed over the notes as written and "|"
    expected = -sum(math.log((count[t] + 0.5) / (n + 0.5 * W)) for t in targets) / len(targets)
    assert task.heldout_baseline(batch) == pytest.approx(expected)
    assert expected > 2.5  # the held-out notes' own frequencies: 1.05 nats
    # The model's vocabulary holds every key and tempo; the baseline is not spread over it.
    assert len(task.notes) > 10 * W


def test_training_windows_are_the_training_stream_in_one_key_and_tempo(task):
    batch = task.sample(64, torch.Generator().manual_seed(3))
    assert torch.equal(batch.x[:, 1:], batch.y[:, :-1])  # next-note targets

    def text(ids):
        return "," + ",".join(map(str, ids)) + ","

    streams = {}  # (tempo, key): the training stream so moved, -1 where a length has none
    for j, r in enumerate(TEMPO):
        stretched = task.stretch[j][task.train_ids]
        for k in range(len(TRANSPOSE)):
            moved = torch.where(stretched >= 0, task.shift[k][stretched.clamp(min=0)], -1)
            streams[r, k] = text(moved.tolist())
    found = []
    for row in batch.x.tolist():
        where = [move for move, stream in streams.items() if text(row) in stream]
        assert where, f"window {row} is no piece of the training stream in one key and tempo"
        found.append(where[0])
    assert len({k for _, k in found}) > 3  # many keys
    assert {r for r, _ in found} == set(TEMPO)  # half, written and double speed


def test_training_windows_never_hold_a_held_out_tune():
    # Only the held-out tunes (every fifth) leap an octave and a half (18 semitones) and use
    # dotted notes: no training window, in any key or tempo, may hold either.
    train = ["C4 D4 E4 D4 C4/2", "E4 F4 G4/2 E4", "G4 E4 C4 D4/2", "C4 E4 G4 E4/2"]
    tunes = [*train, "C4/8. F#5/8. C4 D4/2", *train, "D4/8. G#5/8. D4 C4/2"]
    task = MusicTask(8, parse_melodies("\n".join(tunes), "tunes"))
    assert len(task.heldout_melodies) == 2 and len(task.train_melodies) == 8
    batch = task.sample(500, torch.Generator().manual_seed(0))
    dotted = {Fraction(3, 8), Fraction(3, 4), Fraction(3, 2), Fraction(3)}
    for row in torch.cat([batch.x, batch.y[:, -1:]], dim=1).tolist():
        notes = [task.notes[i] for i in row]
        for a, b in zip(notes, notes[1:], strict=False):
            assert a is None or b is None or abs(b.midi - a.midi) < 18
        assert not {n.beats for n in notes if n is not None} & dotted


def test_sampling_draws_no_end_mark_and_a_cold_temperature_takes_the_likeliest(task):
    class Fixed(torch.nn.Module):  # always the same logits: id 0 ("|") by far the likeliest
        def forward_with_state(self, x, hx=None):
            z = torch.full((1, x.shape[1], len(task.notes)), -5.0)
            z[..., 0], z[..., 7] = 10.0, 2.0
            return z, hx

    ids = sample_ids(Fixed(), task.prime_ids("C4"), 30, 1.0, banned=task.unsampled_ids)
    assert 0 not in ids and len(ids) == 30
    assert sample_ids(Fixed(), task.prime_ids(), 5, 0.01, banned=(0,)) == [7] * 5
    with pytest.raises(ConfigError, match="in none of the melodies"):
        task.prime_ids("C#8/16.")


def test_the_chance_level_is_the_unigram_of_the_notes_as_training_reads_them(task):
    # Training reads every key and tempo: the best constant predictor of those notes, not of
    # the notes as written (3.5 nats: a level below which a model that learnt nothing sat).
    windows = task.sample(2000, torch.Generator().manual_seed(0)).y
    assert task.chance_loss == pytest.approx(unigram_nll(windows, len(task.notes)), rel=0.03)
    assert task.chance_loss > unigram_nll(task.train_ids, len(task.notes)) + 1.0


def test_a_tiny_model_learns_the_melodies():
    cfg = Config(task="music", hidden=32, seq_len=24, batch=16, lr=0.02, device="cpu")
    trainer = Trainer(cfg)
    for _ in range(300):
        trainer.train_step()
    task = trainer.task
    clean = task.sample(64, torch.Generator().manual_seed(5))  # no notes replaced
    with torch.no_grad():
        loss = float(task.loss(trainer.model(clean.x), clean.y, clean.mask))
    assert loss < 0.8 * task.chance_loss  # chance: 4.8 nats; measured 0.71


def test_training_reads_a_fraction_of_the_notes_replaced_the_same_each_time(task):
    batch = task.sample(64, torch.Generator().manual_seed(3))
    (x,) = task.model_inputs(batch)
    changed = float(((x != batch.x) & (batch.x != 0)).sum() / (batch.x != 0).sum())
    assert 0.8 * NOTE_NOISE < changed < 1.2 * NOTE_NOISE
    assert torch.equal(x[batch.x == 0], batch.x[batch.x == 0])  # "|" stays
    assert torch.equal(task.model_inputs(batch)[0], x)  # a reset run repeats its noise


# ---------------------------------------------------------------------------- the CLI


def run(capsys, *args):
    try:
        status = cli.main(list(args))
    except SystemExit as e:
        status = e.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "data file is empty"),
        (b"\xff\xfe C4", "is not UTF-8"),
        (b"# nothing\n", "holds no melody"),
        (b"C4 D4 E4\nC4 D4 X4\n", "line 2: note 3 'X4'"),
        (b"C4 D4 E4 F4 G4 A4 B4 C5\n", "at least 2 melodies"),
    ],
)
def test_a_bad_data_file_is_one_line_and_status_2(tmp_path, capsys, content, words):
    path = tmp_path / "tunes.txt"
    path.write_bytes(content)
    status, _, err = run(capsys, "train", "--task", "music", "--data", str(path), "--steps", "1")
    assert status == 2 and words in err and len(err.strip().splitlines()) == 1, err


def test_data_belongs_to_a_task_that_takes_it(tmp_path, capsys):
    path = tmp_path / "tunes.txt"
    path.write_text("C4 D4\nE4 F4\n")
    status, _, err = run(capsys, "train", "--task", "sine", "--data", str(path), "--steps", "1")
    assert status == 2 and "the sine task takes no data file" in err


def test_sample_writes_a_midi_file_of_the_notes_it_prints(tmp_path, capsys):
    tunes, ck, mid = tmp_path / "tunes.txt", tmp_path / "m.pt", tmp_path / "m.mid"
    tunes.write_text("A: C4 D4 E4/8 R/8 G4/2.\nB: E4 D4 C4/2\nC: G4 G4 A4 G4\n")
    status, _, err = run(
        capsys, "train", "--task", "music", "--data", str(tunes), "--steps", "5",
        "--save", str(ck), *TINY, "--seq-len", "6",
    )  # fmt: skip
    assert status == 0, err
    args = ["sample", "--checkpoint", str(ck), "--length", "20", "--seed", "4"]
    status, out, err = run(capsys, *args, "--temperature", "1.5", "--out", str(mid))
    assert status == 0, err
    notes = parse_notes(out)
    assert len(notes) == 20
    assert run(capsys, *args, "--temperature", "1.5")[1] == out  # a seed, one sample
    events, now = [], 0
    for msg in mido.MidiFile(mid).tracks[0]:
        now += msg.time
        if msg.type in ("note_on", "note_off"):
            events.append((msg.type, msg.note, now))
    sounding = [n for n in notes if n.midi is not None]
    assert [e[1] for e in events[::2]] == [n.midi for n in sounding]
    # each note sounds for its length, rests are the silences between
    starts = []
    t = 0
    for n in notes:
        if n.midi is not None:
            starts.append((n.midi, t, t + int(n.beats * TICKS_PER_BEAT)))
        t += int(n.beats * TICKS_PER_BEAT)
    assert [(on[1], on[2], off[2]) for on, off in zip(events[::2], events[1::2], strict=True)] == (
        starts
    )


def test_sample_mistakes_are_one_line(tmp_path, capsys):
    ck = tmp_path / "sine.pt"
    assert run(capsys, "train", "--steps", "1", "--save", str(ck), *TINY)[0] == 0
    status, _, err = run(capsys, "sample", "--checkpoint", str(ck))
    assert status == 2 and "generates nothing" in err
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    status, _, err = run(capsys, "sample", "--checkpoint", str(tmp_path / "junk.pt"))
    assert status == 2 and "not a PyTorch file" in err and len(err.splitlines()) == 1
    status, _, err = run(capsys, "sample", "--checkpoint", str(tmp_path / "none.pt"))
    assert status == 2 and "checkpoint not found" in err
    status, _, err = run(capsys, "sample", "--checkpoint", str(ck), "--temperature", "0")
    assert status == 2 and "temperature must be a positive number" in err


def test_sample_from_a_character_model_prints_text(tmp_path, capsys):
    text, ck = tmp_path / "t.txt", tmp_path / "c.pt"
    text.write_text("abcabcabd " * 40)
    assert (
        run(capsys, "train", "--text", str(text), "--steps", "3", "--save", str(ck), *TINY)[0] == 0
    )
    status, out, err = run(capsys, "sample", "--checkpoint", str(ck), "--length", "30")
    assert status == 0, err
    assert len(out) == 31 and set(out[:-1]) <= set("abcd ")  # 30 characters and a newline
