"""Sequence-to-sequence tasks: an input string in, an output string of its own length out, for
the encoder-decoder (rnnviz/core/seq2seq/). `Transduction` is what they share; `reverse` and
`sort` are the two symbol tasks (the dates live in dates.py).

A batch holds
    x     (B, T_in)  input symbol ids, left-padded with <pad> (id 0), so that a one-way
                     encoder's final state comes straight after the last real symbol
    y     (B, T_out) output class ids: the output string, then <eos>, then <eos> as filler
    mask  (B, T_out) 1 up to and including the first <eos>, where the loss counts

The decoder reads y shifted right behind <bos> (teacher forcing): `model_inputs` hands the
model (x, y). <bos> is the decoder's input id `output_size`, one past the output classes.

The held-out metric is exact match (the whole output right up to <eos>, decoded without the
targets); the baseline copies the input unchanged (right for a palindrome, an already sorted
string, or a date already written as yyyy-mm-dd).

Shapes: B batch, T_in input steps, T_out output steps.
"""

from __future__ import annotations

import torch

from rnnviz.core.tasks.base import Batch, Task
from rnnviz.core.tasks.symbols import EOS, PAD


class Transduction(Task):
    """An input string -> an output string. Subclasses set the vocabularies, `in_len`
    and `out_len` (without <eos>) and implement `strings`."""

    symbols: str  # the characters of the strings
    in_len: int  # T_in
    out_len: int  # longest output string; T_out = out_len + 1
    mask_rule = "up to and including the first <eos> of the target"

    def __init__(self, seq_len: int) -> None:
        super().__init__(seq_len)
        self.input_vocab = (PAD, *self.input_symbols())
        self.output_vocab = (*self.output_symbols(), EOS)
        self.input_size, self.output_size = len(self.input_vocab), len(self.output_vocab)
        self._in_ids = {ch: i for i, ch in enumerate(self.input_vocab)}
        self._out_ids = {ch: i for i, ch in enumerate(self.output_vocab)}

    def input_symbols(self) -> str:
        return self.symbols

    def output_symbols(self) -> str:
        return self.symbols

    @property
    def eos(self) -> int:
        return self.output_size - 1

    @property
    def bos(self) -> int:
        """The decoder's first input: one past the output classes."""
        return self.output_size

    def strings(self, batch: int, gen: torch.Generator) -> list[tuple[str, str]]:
        """`batch` (input, output) string pairs drawn from `gen`."""
        raise NotImplementedError

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        return self.encode_pairs(self.strings(batch, gen))

    def encode_pairs(self, pairs: list[tuple[str, str]]) -> Batch:
        """(input, output) strings -> a Batch (see the module docstring)."""
        B = len(pairs)
        x = torch.zeros(B, self.in_len, dtype=torch.int64)  # (B, T_in) <pad> = 0
        y = torch.full((B, self.out_len + 1), self.eos, dtype=torch.int64)  # (B, T_out)
        mask = torch.zeros(B, self.out_len + 1)
        for b, (src, tgt) in enumerate(pairs):
            if src:
                x[b, self.in_len - len(src) :] = torch.tensor([self._in_ids[c] for c in src])
            y[b, : len(tgt)] = torch.tensor([self._out_ids[c] for c in tgt], dtype=torch.int64)
            mask[b, : len(tgt) + 1] = 1.0
        return Batch(x, y, mask)

    def model_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        return batch.x, batch.y  # the targets feed the decoder (teacher forcing)

    def input_text(self, x_row) -> str:
        """The input string of one row of x (T_in,), without padding."""
        return "".join(self.input_vocab[int(i)] for i in x_row if int(i) != 0)

    def output_text(self, ids) -> str:
        """The output string of class ids (T_out,), up to the first <eos>."""
        out = []
        for i in ids:
            if int(i) == self.eos:
                break
            out.append(self.output_vocab[int(i)])
        return "".join(out)

    def input_lengths(self, x: torch.Tensor) -> torch.Tensor:
        """Real (unpadded) input length of every row: (B, T_in) -> (B,)."""
        return (x != 0).sum(dim=1)

    def heldout_baseline(self, batch: Batch) -> float:
        """Exact match of copying the input unchanged."""
        right = [
            self.input_text(x) == self.output_text(y) for x, y in zip(batch.x, batch.y, strict=True)
        ]
        return sum(right) / len(right)


class _SymbolStrings(Transduction):
    """Strings of 1..T symbols (lengths uniform), so that one model's accuracy can be read
    against the input length (seq2seq.bottleneck): T is the --seq-len setting."""

    symbols = "ABCDEFGH"

    def __init__(self, seq_len: int) -> None:
        self.in_len = self.out_len = seq_len
        super().__init__(seq_len)

    def transform(self, s: str) -> str:
        raise NotImplementedError

    def strings(self, batch: int, gen: torch.Generator) -> list[tuple[str, str]]:
        lengths = torch.randint(1, self.seq_len + 1, (batch,), generator=gen)  # (B,)
        ids = torch.randint(0, len(self.symbols), (batch, self.seq_len), generator=gen)
        pairs = []
        for n, row in zip(lengths.tolist(), ids.tolist(), strict=True):
            s = "".join(self.symbols[i] for i in row[:n])
            pairs.append((s, self.transform(s)))
        return pairs


class ReverseTask(_SymbolStrings):
    """ "ABCD" -> "DCBA": output step t needs input step n-1-t, the far end for t = 0."""

    name = "reverse"

    def transform(self, s: str) -> str:
        return s[::-1]


class SortTask(_SymbolStrings):
    """ "CADB" -> "ABCD": every output step depends on the whole input."""

    name = "sort"

    def transform(self, s: str) -> str:
        return "".join(sorted(s))
