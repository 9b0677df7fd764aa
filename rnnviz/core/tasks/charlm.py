"""The character-level language model (Karpathy 2015): predict the next character of a text.

The text is the user's UTF-8 file or the bundled public-domain one. Its last tenth (at least
two characters) is held out: training windows lie wholly in the first nine tenths, and the
held-out score is the NLL of the tail, read in consecutive windows, against the unigram NLL
(the entropy of the tail's own character frequencies, what the best constant predictor of
those very characters scores).

Shapes: B batch, T time, N characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from rnnviz.core.config import ConfigError
from rnnviz.core.corpus import Corpus, bundled_corpus, corpus_from_text, read_corpus
from rnnviz.core.tasks.base import Batch, Task, numpy
from rnnviz.core.tasks.stream import consecutive_windows, random_windows
from rnnviz.core.units import VISIBLE_LABELS

if TYPE_CHECKING:
    from rnnviz.core.config import Config

HELDOUT_FRACTION = 0.1


class CharLMTask(Task):
    """Predict the next character of random windows of a text; vocabulary = its characters."""

    name = "charlm"
    mask_rule = "at every step"

    def __init__(self, seq_len: int, text: str | Corpus) -> None:
        super().__init__(seq_len)
        self.corpus = text if isinstance(text, Corpus) else corpus_from_text(text)
        N = len(self.corpus)
        held = max(2, int(N * HELDOUT_FRACTION))  # two characters: one prediction
        self.split = N - held  # training windows lie in text[:split]
        if self.split < seq_len + 1:
            raise ConfigError(
                f"text file has {N} characters; after the last {held} are held out "
                f"for the held-out score, {max(self.split, 0)} are left to train on, and the "
                f"sequence length {seq_len} needs at least {seq_len + 1}"
            )
        self.chars = self.corpus.chars  # the tail's characters too: the model reads them
        self.input_vocab = self.output_vocab = tuple(_label(c) for c in self.chars)
        self.input_size = self.output_size = len(self.chars)
        self.ids = torch.from_numpy(self.corpus.ids)  # (N,) uint8 (int16/int32 for large V)
        # The best constant predictor of the training text is its unigram distribution.
        self.chance_loss = unigram_nll(self.ids[: self.split], len(self.chars))

    @classmethod
    def from_config(cls, config: Config) -> CharLMTask:
        corpus = bundled_corpus() if config.text is None else read_corpus(config.text)
        return cls(config.seq_len, corpus)

    @property
    def text(self) -> str:
        return self.corpus.decode(self.corpus.ids)

    def encode(self, s: str) -> torch.Tensor:
        """(len(s),) int64 ids; ValueError names a character the vocabulary lacks."""
        return torch.from_numpy(self.corpus.encode(s))

    def decode(self, ids: Any) -> str:
        return self.corpus.decode(numpy(ids))

    def prime_ids(self, prime: str | None = None) -> torch.Tensor:
        """(P,) ids a sample starts from: `prime`'s characters the text has (default and
        fallback: a newline, else the first character)."""
        prime = "".join(ch for ch in (prime or "\n") if ch in self.chars) or self.chars[0]
        return self.encode(prime)

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        return random_windows(self.ids[: self.split], batch, self.seq_len, gen)

    def heldout(self) -> Batch:
        """Consecutive windows of the held-out tail (tasks/stream.py)."""
        return consecutive_windows(self.ids[self.split :], self.seq_len)

    def heldout_baseline(self, batch: Batch) -> float:
        return unigram_nll(batch.y[batch.mask > 0], len(self.chars))


def unigram_nll(ids: torch.Tensor, vocab: int) -> float:
    """The entropy of the ids' own frequencies in nats: the NLL per symbol of the best constant
    predictor of exactly these symbols."""
    p = torch.bincount(ids.reshape(-1), minlength=vocab).double() / ids.numel()
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def _label(c: str) -> str:
    if c in VISIBLE_LABELS:
        return VISIBLE_LABELS[c]
    return c if c.isprintable() else f"U+{ord(c):04X}"
