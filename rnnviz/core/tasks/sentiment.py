"""Sentiment (many-to-one): read a short review word by word, then say positive or negative.

The bundled sentences come from a small grammar this project wrote (no licence to mind):
reviews of a film, a meal or a book with negation ("not bad", "not good at all"), the
intensifier "very", contrast ("good at first but bad in the end") and neutral filler
("honestly ,", "the plot was long"). Most of its sentences come in pairs with the same words
in another order and the opposite label:

    the food was good at first but awful in the end      negative
    the food was awful at first but good in the end      positive
    the plot was not long and the cast was bad           negative
    the plot was long and the cast was not bad           positive

A model that only counts words (the order-blind `--cell bow`) gives both the same answer, so
it is right on at most one of them. The held-out split is fixed and balanced: half of its
sentences are such pairs, half are sentences whose words alone decide, so an order-blind
model scores at most 75% (`order_blind_bound` computes the bound on any split; the held-out
baseline is that bound), while an LSTM that reads the order can score 100%.

A user's sentences (`--data FILE`): UTF-8, one `label<TAB>sentence` a line, labels positive
or negative; every tenth sentence is held out.

Shapes: B batch, T time (words).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from rnnviz.core.config import ConfigError
from rnnviz.core.tasks.base import Batch
from rnnviz.core.tasks.sentences import Example, SentenceTask
from rnnviz.core.tasks.vocab import PAD_ID, tokenize

if TYPE_CHECKING:
    from rnnviz.core.config import Config

LABELS = ("negative", "positive")
NEG, POS = 0, 1

SUBJECTS = (
    "film", "movie", "plot", "acting", "music", "story", "ending", "cast", "script", "food",
    "service", "book", "show", "hotel", "song", "concert",
)  # fmt: skip
POSITIVE = ("good", "great", "fun", "lovely", "brilliant", "excellent", "charming", "wonderful")
NEGATIVE = ("bad", "awful", "boring", "dull", "terrible", "poor", "weak", "dreadful")
NEUTRAL = ("long", "short", "new", "old", "french", "loud")
PREFIXES = ("", "honestly ,", "i think", "to be fair ,", "overall ,", "my friend said", "we felt")
SUFFIXES = ("", "to be honest", "if you ask me", "for the price", "on the whole", "this time")

SENTENCES_PER_KIND = 900  # drawn per kind of sentence, before duplicates are dropped
HELDOUT_PAIRS, HELDOUT_PLAIN = 100, 200  # held out: 100 same-words pairs, 200 plain sentences
DATA_HELDOUT_EVERY = 10  # --data: every tenth sentence is held out
# Plain sentences with "not": fewer than half, so that "good" and "bad" still lean one way
# (an order-blind model learns them) while "not" turns some of them round
NEGATED_SHARE = 0.3


def polarity(adjective: str) -> int:
    return 1 if adjective in POSITIVE else -1 if adjective in NEGATIVE else 0


def _label(sign: int) -> int:
    return POS if sign > 0 else NEG


def _clause(rng: random.Random, subject: str, adjective: str, negated: bool) -> tuple[str, int]:
    """'the plot was not good at all' and its sign: the adjective's polarity, flipped by
    "not"; "very" (before the adjective) and "at all" (after a negated one) leave it."""
    sign = -polarity(adjective) if negated else polarity(adjective)
    words = f"the {subject} was {'not ' if negated else ''}"
    if polarity(adjective) and rng.random() < 0.3:
        words += "very "
    words += adjective
    if negated and polarity(adjective) and rng.random() < 0.3:
        words += " at all"
    return words, sign


def _frame(rng: random.Random, core: str) -> str:
    return " ".join(w for w in (rng.choice(PREFIXES), core, rng.choice(SUFFIXES)) if w)


def _plain(rng: random.Random) -> list[tuple[str, int]]:
    """One clause, with or without "not": its words decide (once "not" is read as a word)."""
    adjective = rng.choice(POSITIVE + NEGATIVE)
    words, sign = _clause(rng, rng.choice(SUBJECTS), adjective, rng.random() < NEGATED_SHARE)
    return [(_frame(rng, words), _label(sign))]


def _pair(rng: random.Random) -> list[tuple[str, int]]:
    """Two sentences with the same words and opposite labels (see the module docstring)."""
    s1, s2 = rng.sample(SUBJECTS, 2)
    good, bad, neutral = rng.choice(POSITIVE), rng.choice(NEGATIVE), rng.choice(NEUTRAL)
    pre, suf = rng.choice(PREFIXES), rng.choice(SUFFIXES)
    kind = rng.randrange(4)
    polar = rng.choice((good, bad))  # kind 2's one polar adjective
    out = []
    for first, second in ((good, bad), (bad, good)):
        if kind == 0:  # contrast in time: the end decides
            core = f"the {s1} was {first} at first but {second} in the end"
            sign = polarity(second)
        elif kind == 1:  # contrast between two things: the clause after "but" decides
            core = f"the {s1} was {first} but the {s2} was {second}"
            sign = polarity(second)
        elif kind == 2:  # neutral filler and one polar clause; "not" moves between them
            negate_polar = first == bad  # the same words, "not" in the other clause
            core = (
                f"the {s1} was {'' if negate_polar else 'not '}{neutral} and "
                f"the {s2} was {'not ' if negate_polar else ''}{polar}"
            )
            sign = -polarity(polar) if negate_polar else polarity(polar)
        else:  # two clauses that agree; "not" decides which adjective it turns
            core = f"the {s1} was not {first} and the {s2} was {second}"
            sign = polarity(second)
        out.append((" ".join(w for w in (pre, core, suf) if w), _label(sign)))
    return out


def bundled_sentences(seed: int = 0) -> list[list[tuple[str, int]]]:
    """The grammar's sentences as groups (a pair, or one plain sentence), duplicates dropped;
    the same every call."""
    rng = random.Random(seed)
    groups, seen = [], set()
    for make in (_plain, _pair):
        for _ in range(SENTENCES_PER_KIND):
            group = make(rng)
            if not any(s in seen for s, _ in group):
                seen.update(s for s, _ in group)
                groups.append(group)
    return groups


def bundled_split() -> tuple[list[Example], list[Example]]:
    """(train, held-out): HELDOUT_PAIRS pairs and HELDOUT_PLAIN plain sentences held out,
    chosen by a fixed shuffle; no held-out sentence's words (as a bag) occur in training."""
    groups = bundled_sentences()
    random.Random(1).shuffle(groups)
    want = {2: HELDOUT_PAIRS, 1: HELDOUT_PLAIN}
    train, held, held_bags = [], [], set()
    for group in groups:
        if want[len(group)] > 0:
            want[len(group)] -= 1
            held += group
            held_bags.update(_bag(s) for s, _ in group)
        else:
            train += group
    train = [(s, y) for s, y in train if _bag(s) not in held_bags]
    return _examples(train), _examples(held)


def _bag(sentence: str) -> tuple[str, ...]:
    return tuple(sorted(tokenize(sentence)))


def _examples(pairs: list[tuple[str, int]]) -> list[Example]:
    out = []
    for sentence, label in pairs:
        words = tuple(tokenize(sentence))
        out.append(Example(words, (label,) * len(words)))
    return out


def read_labelled(path: str | Path) -> list[Example]:
    """A user's `label<TAB>sentence` lines as examples, or ConfigError in one line."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(
            f"data file {path} is not UTF-8 text (line {line}); save it as UTF-8"
        ) from None
    examples = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        label, tab, sentence = line.partition("\t")
        where = f"data file {path}, line {n}"
        if not tab or not sentence.strip():
            raise ConfigError(f"{where}: expected label<TAB>sentence, found {line[:40]!r}")
        label = label.strip().lower()
        if label not in LABELS:
            raise ConfigError(
                f"{where}: unknown label {label[:20]!r}; labels are {' and '.join(LABELS)}"
            )
        examples.extend(_examples([(sentence, LABELS.index(label))]))
    if not examples:
        raise ConfigError(f"data file {path} has no sentences (label<TAB>sentence lines)")
    classes = {e.targets[0] for e in examples}
    if len(classes) < 2:
        raise ConfigError(
            f"data file {path} has only {LABELS[classes.pop()]} sentences; "
            f"it needs both {' and '.join(LABELS)}"
        )
    return examples


def order_blind_bound(batch: Batch) -> float:
    """The best accuracy any order-blind model can reach on `batch` (many-to-one): per bag of
    words (its ids regardless of order), the most common label of the sentences with that bag."""
    by_bag: dict[tuple[int, ...], Counter] = defaultdict(Counter)
    for x, y, m in zip(batch.x.tolist(), batch.y.tolist(), batch.mask.tolist(), strict=True):
        bag = tuple(sorted(i for i in x if i != PAD_ID))
        by_bag[bag][y[m.index(1.0)]] += 1
    return sum(max(c.values()) for c in by_bag.values()) / len(batch)


class SentimentTask(SentenceTask):
    """Label a sentence positive or negative after its last word."""

    name = "sentiment"
    mask_rule = "only at the sentence's last word (padding never)"
    output_labels = LABELS

    @classmethod
    def from_config(cls, config: Config) -> SentimentTask:
        if config.data is None:
            return cls(config.seq_len, *bundled_split())
        examples = read_labelled(config.data)
        held = examples[DATA_HELDOUT_EVERY - 1 :: DATA_HELDOUT_EVERY] or examples[-1:]
        train = [e for e in examples if not any(e is h for h in held)]
        return cls(config.seq_len, train, held)

    def heldout_baseline(self, batch: Batch) -> float:
        return order_blind_bound(batch)

    def label(self, logits: torch.Tensor) -> str:
        return LABELS[int(logits.argmax())]
