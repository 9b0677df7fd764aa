"""A word vocabulary as the lecture builds one: every word of the training sentences gets an
index, and three reserved tokens come first.

    <pad>  id 0   fills a short sentence up to the batch's length T; never data: the model
                  skips it (packing), the loss never counts it, traces mark it (input_mask)
    <unk>  id 1   a word the training sentences never had (the held-out split, a user's words)
    <eos>  id 2   the end of a sentence, for the word-level language model

The other words follow by falling frequency in the training sentences, ties alphabetically,
so the same sentences always give the same indices.

Shapes: B batch, T time (words).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

from rnnviz.core.tasks.symbols import EOS, PAD, UNK

PAD_ID, UNK_ID, EOS_ID = 0, 1, 2
RESERVED = (PAD, UNK, EOS)

# Words (letters, digits, apostrophes) and every other non-space character as a token of its
# own, so "good, but" reads as good / , / but.
_TOKEN = re.compile(r"[\w']+|[^\w\s]")


def tokenize(sentence: str) -> list[str]:
    """Lower-cased words and punctuation marks of `sentence`."""
    return _TOKEN.findall(sentence.lower())


class Vocab:
    """Word <-> index, with <pad>, <unk> and <eos> at 0, 1, 2."""

    def __init__(self, sentences: Iterable[Sequence[str]]) -> None:
        counts = Counter(w for s in sentences for w in s if w not in RESERVED)
        ranked = sorted(counts, key=lambda w: (-counts[w], w))
        self.words: tuple[str, ...] = (*RESERVED, *ranked)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, words: Sequence[str]) -> list[int]:
        """Indices of `words`; a word the vocabulary lacks is <unk>."""
        return [self.index.get(w, UNK_ID) for w in words]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.words[int(i)] for i in ids]


def pad(rows: Sequence[Sequence[int]], length: int | None = None, value: int = PAD_ID):
    """Right-pad lists of ids into a (B, T) int64 tensor, T = `length` or the longest row."""
    T = length if length is not None else max(len(r) for r in rows)
    out = torch.full((len(rows), T), value, dtype=torch.int64)  # (B, T)
    for b, r in enumerate(rows):
        out[b, : len(r)] = torch.tensor(r, dtype=torch.int64)
    return out


def sentence_lengths(x: torch.Tensor) -> torch.Tensor:
    """Words per right-padded sentence: (B, T) ids -> (B,) int64, at least 1 (packing's
    minimum; a sentence is never empty)."""
    return (x != PAD_ID).sum(1).clamp(min=1)
