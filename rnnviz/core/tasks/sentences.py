"""What the word tasks share: labelled sentences of different lengths, indexed by one
vocabulary, drawn at random into right-padded batches.

A sentence is its words and one target class per word: the sentence's label at every word for
a many-to-one task (the loss counts only the last word, where the model has read it all), a
tag per word for a many-to-many one (the loss counts every word). Padding (<pad>, id 0) fills
a batch up to its longest sentence; its mask is 0, and the model never reads it (model.py
packs the batch). The held-out score may count fewer words than the loss (`Example.scored`):
the tagging task scores only the words whose tag a later word decides.

Shapes: B batch, T time (words, the batch's longest sentence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from rnnviz.core.config import ConfigError
from rnnviz.core.tasks.base import Batch, Task
from rnnviz.core.tasks.charlm import unigram_nll
from rnnviz.core.tasks.vocab import PAD_ID, Vocab, pad


@dataclass(frozen=True)
class Example:
    words: tuple[str, ...]
    targets: tuple[int, ...]  # one class id per word
    scored: tuple[bool, ...] | None = None  # held-out: the words scored; None: as the loss


class SentenceTask(Task):
    """Random training sentences in padded batches; the held-out sentences all at once."""

    output_labels: tuple[str, ...] | None = None  # the classes; None: the words (a language model)

    def __init__(self, seq_len: int, train: Sequence[Example], heldout: Sequence[Example]):
        super().__init__(seq_len)
        longest = max((*train, *heldout), key=lambda e: len(e.words))
        if len(longest.words) > seq_len:
            raise ConfigError(
                f"a sentence has {len(longest.words)} words and the sequence length is "
                f"{seq_len}: raise --seq-len to at least {len(longest.words)} "
                f"({' '.join(longest.words[:8])} …)"
            )
        self.vocab = Vocab(e.words for e in train)
        self.input_vocab = self.vocab.words
        self.input_size = len(self.vocab)
        self.output_vocab = self.output_labels or self.vocab.words
        self.output_size = len(self.output_vocab)
        self.train_set = self._tensors(train, scored=False)
        self.heldout_set = self._tensors(heldout, scored=True)
        x, y, mask = self.train_set
        self.chance_loss = unigram_nll(y[mask > 0], self.output_size)

    def _loss_positions(self, n_words: int) -> list[bool]:
        """Where the loss counts in a sentence of `n_words` words."""
        if self.shape == "many-to-one":
            return [i == n_words - 1 for i in range(n_words)]
        return [True] * n_words

    def _tensors(self, examples: Sequence[Example], scored: bool):
        """(x, y, mask), each (N, T_longest): ids, targets, and where the loss (or, for the
        held-out split, the score) counts."""
        masks = [
            (e.scored if scored and e.scored is not None else self._loss_positions(len(e.words)))
            for e in examples
        ]
        x = pad([self.vocab.encode(e.words) for e in examples])
        y = pad([self.targets(e) for e in examples], value=0)
        mask = pad([[int(m) for m in ms] for ms in masks], value=0).float()
        return x, y, mask

    def targets(self, example: Example) -> Sequence[int]:
        """One class id per word (a language model's are the next words' ids)."""
        return example.targets

    @property
    def sentences(self) -> int:
        return len(self.train_set[0])

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        x, y, mask = self.train_set
        rows = torch.randint(0, len(x), (batch,), generator=gen)  # (B,)
        T = int((x[rows] != PAD_ID).sum(1).max())  # the batch's longest sentence
        return Batch(x[rows, :T], y[rows, :T], mask[rows, :T])

    def heldout(self) -> Batch:
        return Batch(*self.heldout_set)

    def encode_sentence(self, words: Sequence[str]) -> torch.Tensor:
        """(1, T) ids of one sentence (unknown words as <unk>)."""
        return pad([self.vocab.encode(words)])
