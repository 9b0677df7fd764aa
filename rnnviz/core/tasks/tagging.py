"""Name tagging (many-to-many, T_x = T_y): tag each word PER (part of a person's name) or O.

The lecture's reason for bidirectional RNNs: whether "teddy" is a name depends on the word
after it, "teddy roosevelt was a president" against "teddy bears were on sale". The bundled
sentences (a grammar this project wrote) put such a word (teddy, rose, jack, ivy, …) first in
its phrase, after a prefix that says nothing about it ("yesterday ,", "we heard that"), and
follow it half the time by a surname, half the time by a thing it names:

    we heard that  rose  parker  won the race        rose/PER parker/PER
    we heard that  rose  bushes  grow near the house  rose/O   bushes/O

A forward RNN tags "rose" before it reads the next word, so it can do no better than guess
(about 50%); a bidirectional one reads the next word in its reverse direction. The held-out
score counts only those words (`Example.scored`); its baseline tags each word with its most
frequent tag in training, without context. Other sentences have names and things that need
no context ("john smith", "the rabbits").

Shapes: B batch, T time (words).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import torch

from rnnviz.core.tasks.base import Batch
from rnnviz.core.tasks.sentences import Example, SentenceTask
from rnnviz.core.tasks.tagging_words import (
    AMBIGUOUS,
    FIRST_NAMES,
    PERSON_PREDICATES,
    PREFIXES,
    SURNAMES,
    THING_PREDICATES,
    THINGS,
)

if TYPE_CHECKING:
    from rnnviz.core.config import Config

TAGS = ("O", "PER")
O, PER = 0, 1

AMBIGUOUS_SENTENCES, PLAIN_SENTENCES = 3000, 1500  # drawn, before duplicates are dropped
HELDOUT_SENTENCES = 300  # with an ambiguous word, half names; held out


def _sentence(rng: random.Random, ambiguous: bool, name: bool) -> Example:
    """prefix, a two-word phrase (name or thing), a predicate; the first word's tag is
    decided by the second (`scored`) when `ambiguous`."""
    if ambiguous:
        first = rng.choice(tuple(AMBIGUOUS))
        second = rng.choice(SURNAMES) if name else rng.choice(AMBIGUOUS[first])
    elif name:
        first, second = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    else:
        first, second = "the", rng.choice(THINGS)
    prefix = rng.choice(PREFIXES).split()
    predicate = rng.choice(PERSON_PREDICATES if name else THING_PREDICATES).split()
    words = (*prefix, first, second, *predicate)
    tag = PER if name else O
    targets = (*(O,) * len(prefix), tag, tag, *(O,) * len(predicate))
    scored = tuple(i == len(prefix) and ambiguous for i in range(len(words)))
    return Example(words, targets, scored)


def bundled_split(seed: int = 0) -> tuple[list[Example], list[Example]]:
    """(train, held-out), the same every call: HELDOUT_SENTENCES sentences with an ambiguous
    word (half of them names) held out, none of which training holds."""
    rng = random.Random(seed)
    drawn = [_sentence(rng, True, i % 2 == 0) for i in range(AMBIGUOUS_SENTENCES)]
    drawn += [_sentence(rng, False, i % 2 == 0) for i in range(PLAIN_SENTENCES)]
    unique = list({e.words: e for e in drawn}.values())
    held: list[Example] = []
    for name in (True, False):
        held += [e for e in unique if any(e.scored) and (PER in e.targets) == name][
            : HELDOUT_SENTENCES // 2
        ]
    held_words = {e.words for e in held}
    return [e for e in unique if e.words not in held_words], held


class TaggingTask(SentenceTask):
    """Tag every word; the held-out score counts the words a later word decides."""

    name = "tagging"
    mask_rule = "at every word (padding never)"
    output_labels = TAGS

    def __init__(self, seq_len: int, train: list[Example], heldout: list[Example]) -> None:
        super().__init__(seq_len, train, heldout)
        x, y, mask = self.train_set
        counts = torch.zeros(self.input_size, self.output_size)  # (V, tags)
        counts.index_put_((x[mask > 0], y[mask > 0]), torch.ones(int(mask.sum())), accumulate=True)
        self.usual_tag = counts.argmax(1)  # (V,) each word's most frequent tag in training

    @classmethod
    def from_config(cls, config: Config) -> TaggingTask:
        return cls(config.seq_len, *bundled_split())

    def heldout_baseline(self, batch: Batch) -> float:
        right = (self.usual_tag[batch.x] == batch.y).float()  # (B, T)
        return float((right * batch.mask).sum() / batch.mask.sum())
