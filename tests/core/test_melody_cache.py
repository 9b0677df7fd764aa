"""The melody cache (core/melody_cache.py): which earlier steps vote, for which note, with which
length of common ending; the output's mixture by hand; the model's outputs by hand."""

from __future__ import annotations

import pytest
import torch

from rnnviz.core.config import Config
from rnnviz.core.lookback import CACHE_REACH
from rnnviz.core.melody_cache import CACHE_K, MelodyCache, melody_cache, with_cache
from rnnviz.core.model import build_model
from rnnviz.core.notation import Note
from rnnviz.core.tasks import make_task


def _votes_by_hand(row: list[int], t: int, K: int) -> list[tuple[int, int]]:
    """(note after s, L(t, s)) for every earlier step s of t's melody, latest first."""
    opens = max((s for s in range(t + 1) if row[s] == 0), default=0)
    votes = []
    for s in range(t - 1, opens - 1, -1):
        L = 0
        while L < K and s - L >= 0 and row[t - L] == row[s - L] != 0:
            L += 1
        votes.append((row[s + 1], L))
    return votes


def _band_votes(cache: MelodyCache, b: int, t: int) -> list[tuple[int, int]]:
    ok = cache.allowed[b, t]
    return list(zip(cache.after[b, t][ok].tolist(), cache.length[b, t][ok].tolist(), strict=True))


@pytest.mark.parametrize("N, T", [(1, 1), (9, 9), (40, 40), (40, 7)])
@pytest.mark.parametrize("K", [1, 4])
def test_the_band_is_the_definition_step_by_step(N, T, K):
    g = torch.Generator().manual_seed(10 * N + T + K)
    whole = torch.randint(1, 4, (3, N), generator=g)  # three notes: many repeats
    whole[:, 5::17] = 0  # "|": melodies end and begin; the first, cut, has no "|"
    cache = melody_cache(whole, T, K=K)
    for b in range(3):
        row = whole[b].tolist()
        for i, t in enumerate(range(N - T, N)):
            assert _band_votes(cache, b, i) == _votes_by_hand(row, t, K), (b, t)
    found = cache.length[cache.allowed].tolist()
    assert max(found, default=0) <= K and (N < 40 or max(found) == K)


def test_the_band_reaches_across_a_melody_not_across_the_sequence():
    melodies = [0, 1, 2, 3, 1, 2] * 50  # fifty short melodies in one long sequence
    cache = melody_cache(torch.tensor([melodies]), 300)
    assert cache.after.shape == (1, 300, 5)  # the longest reach is within one melody
    # | C D E C D: at the second D every earlier step votes for the note after it, latest
    # first; the first D, after the same C, votes for E with a common ending of 2
    C, D, E = 1, 2, 3
    assert _band_votes(cache, 0, 5) == [(D, 0), (C, 0), (E, 2), (D, 0), (C, 0)]
    assert _band_votes(cache, 0, 6) == []  # "|": a new melody, nothing before it


def _mixture_by_hand(logits, scores, cache):
    """p(w) ∝ exp(l_w) + Σ_votes exp(a_L) at the note after each vote, loop by loop."""
    p = logits.double().exp().clone()
    for t in range(logits.shape[0]):
        ok = cache.allowed[t]
        for w, L in zip(cache.after[t][ok], cache.length[t][ok], strict=True):
            p[t, w] += scores[t, L].double().exp()
    return p / p.sum(-1, keepdim=True)


def test_the_output_is_one_softmax_over_the_notes_and_the_earlier_steps():
    g = torch.Generator().manual_seed(0)
    row = torch.tensor([[0, 1, 2, 3, 1, 2, 3, 1, 2, 0, 2, 1]])
    cache = melody_cache(row, 12).select(0)  # (T, W)
    logits = torch.randn(12, 5, generator=g)
    scores = torch.randn(12, 5, generator=g) * 3
    y_hat = with_cache(logits, scores, cache)
    expected = _mixture_by_hand(logits, scores, cache)
    torch.testing.assert_close(torch.softmax(y_hat.double(), -1), expected)
    # where no earlier step votes for a note, its output is the head's logit itself
    voted = torch.zeros(12, 5, dtype=torch.bool)
    voted.scatter_(-1, cache.after, cache.allowed)
    assert torch.equal(y_hat[~voted], logits[~voted]) and voted.any()


def test_far_apart_logits_keep_finite_gradients():
    row = torch.tensor([[0, 1, 2, 1, 2]])
    cache = melody_cache(row, 5).select(0)
    logits = torch.tensor([[0.0, -200.0, 300.0, -1e4, 5.0]] * 5, requires_grad=True)
    scores = torch.full((5, 5), -500.0, requires_grad=True)
    y_hat = with_cache(logits, scores, cache)
    torch.log_softmax(y_hat, -1)[:, 1].sum().backward()
    assert torch.isfinite(logits.grad).all() and torch.isfinite(scores.grad).all()


def test_a_melodys_outputs_are_the_mixture_of_the_head_and_the_cache_by_hand():
    cfg = Config(task="music", hidden=8, embed_dim=4, seq_len=20).validate()
    task = make_task(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, task.input_size, task.output_size, parts=task.note_parts).eval()
    x = task.heldout().x[:1]  # a whole held-out melody, whose phrases repeat
    with torch.no_grad():
        y_hat, _ = model.forward_with_state(x)
        out, _ = model.rnn(model.encode(x))
        cache = melody_cache(x, x.shape[1], task.note_parts).select(0)
        expected = _mixture_by_hand(model.head(out[0]), model.cache(out[0]), cache)
    torch.testing.assert_close(torch.softmax(y_hat[0].double(), -1), expected)
    exact = cache.length[cache.allowed]
    assert (exact[exact <= CACHE_K] >= 2).sum() > 10  # repeats the cache can vote with
    assert (exact >= CACHE_K + 2).sum() > 10  # and transposed ones


def _music():
    return make_task(Config(task="music", seq_len=20).validate())


def _shape(notes, row, u):
    """What a transposed repeat keeps of step u: (interval from u-1 or None, length)."""
    here, before = notes[row[u]], notes[row[u - 1]] if u > 0 else None
    pitched = here.midi is not None and before is not None and before.midi is not None
    kind = here.midi - before.midi if pitched else "rest" if here.midi is None else "first"
    return (kind, here.beats)


def _transposed_by_hand(task, row, t, K):
    """(vote, L) of every earlier step s of t's melody, latest first: the note at the interval
    x[s] -> x[s+1] from x[t] with x[s+1]'s length (a rest: that rest), L + K + 1 with L the
    steps whose intervals and lengths agree in a row, back from t and from s."""
    notes, ids = task.notes, {str(n): i for i, n in enumerate(task.notes) if n is not None}
    opens = max((s for s in range(t + 1) if row[s] == 0), default=0)
    votes = []
    for s in range(t - 1, opens - 1, -1):
        nxt, here, there = notes[row[s + 1]], notes[row[t]], notes[row[s]]
        if nxt.midi is None:
            vote = row[s + 1]
        elif here.midi is None or there is None or there.midi is None:  # there: "|"
            continue
        else:
            moved = Note(here.midi + nxt.midi - there.midi, nxt.beats)
            if str(moved) not in ids:
                continue
            vote = ids[str(moved)]
        L = 0
        while (L < K and s - L >= 0 and row[t - L] != 0 and row[s - L] != 0
               and _shape(notes, row, t - L) == _shape(notes, row, s - L)):  # fmt: skip
            L += 1
        votes.append((vote, L + K + 1))
    return votes


def test_the_transposed_votes_are_the_definition_step_by_step():
    task = _music()
    x = task.heldout().x  # every held-out melody, rests and "|" included
    cache = melody_cache(x, x.shape[1], task.note_parts)
    for b in range(len(x)):
        row = x[b].tolist()
        for t in range(len(row)):
            both = _band_votes(cache, b, t)
            transposed = [(w, L) for w, L in both if L > CACHE_K]
            assert transposed == _transposed_by_hand(task, row, t, CACHE_K), (b, t)
            assert [v for v in both if v[1] <= CACHE_K] == _votes_by_hand(row, t, CACHE_K)


def test_a_phrase_moved_up_a_tone_votes_for_its_next_note_moved_too():
    """| C4 D4 E4 D4 E4: the phrase C D E, begun again a tone higher, should go on to F#4;
    no earlier step was ever followed by F#4, so only a transposed vote can say so."""
    task = _music()
    row = task.encode("| C4 D4 E4 D4 E4")[None]
    cache = melody_cache(row, 6, task.note_parts).select((0, -1))
    votes = _band_votes(MelodyCache(*(f[None, None] for f in cache)), 0, 0)
    F_sharp = int(task.encode("F#4")[0])
    # the step after C4 (D4 -> E4, a tone up, as D4 -> E4 just now): one step in common
    assert (F_sharp, CACHE_K + 2) in votes
    assert all(w != F_sharp for w, L in votes if L <= CACHE_K)


def test_a_long_melody_votes_with_its_latest_steps_within_reach():
    row = torch.tensor([[0] + [1, 2, 3] * 200])  # one melody of 600 notes
    cache = melody_cache(row, 601)
    assert cache.after.shape[-1] == CACHE_REACH
    # the last note hears its latest CACHE_REACH steps, each a common ending of up to K
    assert cache.allowed[0, -1].all() and int(cache.length[0, -1].max()) == CACHE_K
