"""The encoder-decoder: its tasks (dates, reverse, sort), teacher forcing against step-by-step
decoding, greedy decoding, beam search against exhaustive search, attention, and exact match."""

import datetime as dt
import itertools

import pytest
import torch

from rnnviz.core.config import Config, ConfigError
from rnnviz.core.heldout import exact_match, heldout_score
from rnnviz.core.seq2seq.bottleneck import bottleneck_curve
from rnnviz.core.seq2seq.decoding import beam_search, greedy
from rnnviz.core.seq2seq.model import Seq2SeqModel
from rnnviz.core.tasks import make_task
from rnnviz.core.tasks.dates import FORMATS, DatesTask, write_date
from rnnviz.core.train import Trainer

GEN = torch.Generator


def model_for(task, **config) -> Seq2SeqModel:
    torch.manual_seed(0)
    cfg = Config(task=task.name, hidden=6, embed_dim=5, device="cpu", **config).validate()
    return Seq2SeqModel(cfg, task.input_size, task.output_size).eval()


# ---------------------------------------------------------------------------- tasks


def test_dates_are_written_in_the_formats_people_use():
    d = dt.date(1995, 1, 26)
    written = {write_date(d, f) for f in FORMATS}
    assert {"thursday january 26 1995", "26 jan 1995", "01/26/95", "1995-01-26"} <= written
    assert write_date(dt.date(1979, 5, 3), "{mm}/{dd}/{yy}") == "05/03/79"


def test_dates_batch_maps_every_input_to_its_iso_date():
    task = DatesTask(50)
    pairs = task.strings(300, GEN().manual_seed(1))
    batch = task.encode_pairs(pairs)
    for (src, tgt), x, y, m in zip(pairs, batch.x, batch.y, batch.mask, strict=True):
        assert dt.date.fromisoformat(tgt).isoformat() == tgt  # a real date
        assert task.input_text(x) == src and task.output_text(y) == tgt
        assert x[0] == 0 or len(src) == task.in_len  # left-padded: the string ends at N-1
        assert m.sum() == len(tgt) + 1  # the date and <eos>
        if "/" in src:  # month first, two-digit years 50-99 in the 1900s
            mm, dd, yy = src.split("/")
            year = int(yy) if len(yy) == 4 else (1900 if int(yy) >= 50 else 2000) + int(yy)
            assert tgt == f"{year}-{int(mm):02d}-{int(dd):02d}"
    longest = max(len(write_date(dt.date(1995, 9, 27), f)) for f in FORMATS)
    assert longest <= task.in_len


@pytest.mark.parametrize("name, rule", [("reverse", lambda s: s[::-1]), ("sort", sorted)])
def test_reverse_and_sort_strings_of_every_length_up_to_seq_len(name, rule):
    task = make_task(Config(task=name, seq_len=6))
    batch = task.sample(400, GEN().manual_seed(2))
    lengths = task.input_lengths(batch.x)
    assert set(lengths.tolist()) == set(range(1, 7))
    for x, y in zip(batch.x, batch.y, strict=True):
        src = task.input_text(x)
        assert task.output_text(y) == "".join(rule(src))
    assert batch.y.shape == (400, 7) and (batch.mask.sum(1) == lengths + 1).all()


def test_copy_baseline_is_the_fraction_already_right():
    task = make_task(Config(task="reverse", seq_len=3))
    batch = task.encode_pairs([("ABA", "ABA"), ("AB", "BA"), ("C", "C"), ("AAB", "BAA")])
    assert task.heldout_baseline(batch) == 0.5


def test_exact_match_needs_every_scored_token_and_ignores_the_rest():
    task = make_task(Config(task="reverse", seq_len=3))
    batch = task.encode_pairs([("AB", "BA"), ("AB", "BA")])
    eos = task.eos
    right = torch.tensor([[1, 0, eos, 5], [1, 1, eos, eos]])  # row 0: junk after <eos> only
    assert exact_match(right, batch).tolist() == [1.0, 0.0]


def test_seq2seq_settings_are_checked():
    with pytest.raises(ConfigError, match="attention"):
        Config(task="dates", attention="cosine").validate()
    with pytest.raises(ConfigError, match="beam width"):
        Config(task="dates", beam=6).validate()
    with pytest.raises(ConfigError, match="decoder cell"):
        Config(task="dates", decoder_cell="transformer").validate()


# ---------------------------------------------------------------------------- the model


@pytest.mark.parametrize(
    "cell, decoder_cell, attention, bidirectional",
    [
        ("lstm", None, "additive", True),
        ("gru", "lstm", "dot", False),
        ("peephole-lstm", "rnn", "none", False),
    ],
)
def test_teacher_forcing_equals_the_decoder_run_one_step_at_a_time(
    cell, decoder_cell, attention, bidirectional
):
    task = make_task(Config(task="reverse", seq_len=5))
    model = model_for(
        task,
        cell=cell,
        decoder_cell=decoder_cell,
        attention=attention,
        bidirectional=bidirectional,
        layers=2,
    )
    batch = task.sample(3, GEN().manual_seed(3))
    with torch.no_grad():
        forced = model(batch.x, batch.y)  # (B, T, O)
        h, state, src_mask = model.start(batch.x)
        tokens, steps = torch.full((3,), model.bos), []
        for t in range(batch.y.shape[1]):
            logits, state, alpha = model.step(tokens, state, h, src_mask)
            steps.append(logits)
            tokens = batch.y[:, t]  # the target, as teacher forcing feeds it
            if alpha is not None:
                assert torch.allclose(alpha.sum(-1), torch.ones(3), atol=1e-6)
                assert (alpha[~src_mask] == 0).all()  # padding gets no attention
    torch.testing.assert_close(torch.stack(steps, 1), forced, atol=1e-5, rtol=1e-5)


def test_greedy_decoding_takes_the_most_likely_token_at_every_step_until_eos():
    task = make_task(Config(task="sort", seq_len=4))
    model = model_for(task)
    x = task.sample(5, GEN().manual_seed(4)).x
    with torch.no_grad():
        h, state, src_mask = model.start(x)
        tokens, chosen = torch.full((5,), model.bos), []
        for _ in range(5):
            logits, state, _ = model.step(tokens, state, h, src_mask)
            done = torch.stack(chosen[-1:] or [tokens]) == model.eos  # finished: <eos> only
            tokens = torch.where(done.any(0), model.eos, logits.argmax(-1))
            chosen.append(tokens)
    assert torch.equal(greedy(model, x, 5), torch.stack(chosen, 1))
    assert torch.equal(model.decode(x, 5, beam=1), torch.stack(chosen, 1))


def _log_prob(model, x, seq):
    """log p(seq | x), a prefix that reached <eos> continuing with <eos> at no cost."""
    with torch.no_grad():
        h, state, src_mask = model.start(x)
        tokens, total, done = torch.full((1,), model.bos), 0.0, False
        for tok in seq:
            logits, state, _ = model.step(tokens, state, h, src_mask)
            if done:
                if tok != model.eos:
                    return float("-inf")
            else:
                total += float(logits.log_softmax(-1)[0, tok])
            done = done or tok == model.eos
            tokens = torch.tensor([tok])
    return total


def test_beam_search_finds_the_most_likely_output_when_the_beam_holds_every_prefix():
    # Three output classes (two symbols and <eos>) and two steps: a beam of 5 keeps every
    # one of the 3 first tokens, so it must find the best of all 9 outputs.
    task = make_task(Config(task="reverse", seq_len=3))
    torch.manual_seed(5)
    cfg = Config(task="reverse", hidden=4, embed_dim=3, attention="dot", device="cpu")
    model = Seq2SeqModel(cfg, task.input_size, 3).eval()
    x = task.sample(4, GEN().manual_seed(6)).x
    found = beam_search(model, x, 2, 5)
    for b in range(4):
        scores = {
            s: _log_prob(model, x[b : b + 1], s) for s in itertools.product(range(3), repeat=2)
        }
        assert _log_prob(model, x[b : b + 1], tuple(found[b].tolist())) == max(scores.values())


def test_held_out_exact_match_of_an_encoder_decoder():
    task = make_task(Config(task="reverse", seq_len=3))
    model = model_for(task, beam=3)
    score = heldout_score(model, task, chunk=256)
    assert score.metric == "exact" and 0.0 <= score.value <= 1.0
    # Copying is right for the palindromes: all of length 1, 1 in 8 of lengths 2 and 3.
    assert score.sequences == 1024 and abs(score.baseline - (1 + 1 / 8 + 1 / 8) / 3) < 0.04


# ---------------------------------------------------------------------------- the bottleneck


class _Oracle:
    """A stand-in model that reverses exactly the inputs of up to `limit` symbols."""

    training = False

    def __init__(self, task, limit: int) -> None:
        self.task, self.limit = task, limit

    def train(self, mode: bool = True):
        return self

    def eval(self):
        return self

    def decode(self, x, steps, beam=None):
        out = []
        for row in x:
            s = self.task.input_text(row)
            out.append((s, s[::-1] if len(s) <= self.limit else "A" * len(s)))
        return self.task.encode_pairs(out).y[:, :steps]


def test_bottleneck_curve_scores_each_input_length_on_its_own():
    task = make_task(Config(task="reverse", seq_len=6))
    curve = bottleneck_curve(_Oracle(task, limit=3), task, chunk=100)
    assert [p.length for p in curve] == [1, 2, 3, 4, 5, 6]
    # "A" * n reversed is itself: the oracle's wrong answers are right for those inputs only
    assert [p.exact for p in curve[:3]] == [1.0, 1.0, 1.0]
    assert all(p.exact < 0.01 for p in curve[3:])
    assert sum(p.sequences for p in curve) == 1024 and min(p.sequences for p in curve) > 100


def test_bottleneck_curve_averages_to_the_held_out_score():
    trainer = Trainer(Config(task="reverse", seq_len=3, hidden=8, lr=0.03, device="cpu"))
    for _ in range(60):
        trainer.train_step()
    curve = bottleneck_curve(trainer.model, trainer.task)
    score = heldout_score(trainer.model, trainer.task, chunk=1024)
    mean = sum(p.exact * p.sequences for p in curve) / sum(p.sequences for p in curve)
    assert mean == pytest.approx(score.value)
