"""A text as a character-level language model sees it: a vocabulary of characters and the text
as compact indices into it (Karpathy 2015, "The Unreasonable Effectiveness of Recurrent Neural
Networks", char-rnn).

Memory is bounded by the file, not by Python objects per character: the bytes are read once
and decoded in chunks to code points (numpy), the vocabulary comes from counting them
(np.bincount), and the text is kept as one array of uint8 indices (int16 or int32 only for
vocabularies above 256 or 32767 characters). A pure-ASCII file is counted and indexed straight
from its bytes. Measured on a 200 MB file: see the README's limits.

Files above MAX_TEXT_BYTES are refused at once, before any reading: the bytes plus the
indices stay below 1 GB whatever the text.

Shapes: N characters in the text, V characters in the vocabulary.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from rnnviz.core.config import ConfigError

MAX_TEXT_BYTES = 256 * 2**20  # 256 MiB: bytes + indices of the largest text < 1 GB
BUNDLED_TEXT = "alice_and_shakespeare.txt"  # in rnnviz.resources.text
CHUNK = 2**22  # bytes decoded (and code points counted) at a time: 4 MiB, ~50 MB of temporaries


@dataclass(frozen=True, eq=False)
class Corpus:
    chars: tuple[str, ...]  # (V,) the vocabulary, sorted by code point
    ids: np.ndarray  # (N,) the text as indices into chars: uint8, int16 or int32
    counts: np.ndarray  # (V,) int64: how often each character occurs

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def unigram_entropy(self) -> float:
        """H = -sum_c p(c) ln p(c) in nats: the loss of the best constant predictor."""
        p = self.counts / self.counts.sum()
        return float(-(p * np.log(p)).sum())

    def encode(self, s: str) -> np.ndarray:
        """(len(s),) int64 indices; ValueError names a character the vocabulary lacks."""
        points = _code_points(s)  # (len(s),)
        vocab = self._code_points
        k = np.minimum(np.searchsorted(vocab, points), len(vocab) - 1)
        unknown = np.flatnonzero(vocab[k] != points)
        if len(unknown):
            c = s[int(unknown[0])]
            raise ValueError(f"character {c!r} is not in the text's vocabulary")
        return k.astype(np.int64)

    def decode(self, ids: np.ndarray) -> str:
        """The text of indices `ids` (any shape, read in order)."""
        points = self._code_points[np.asarray(ids).reshape(-1)]
        return points.astype("<u4").tobytes().decode("utf-32-le")

    @property
    def _code_points(self) -> np.ndarray:
        return _code_points("".join(self.chars))  # (V,) ascending


def check_text_path(path: str | Path, what: str = "text file") -> Path:
    """`path` as a Path, or ConfigError saying why it cannot be a text to learn (`what` names
    it: "text file", "data file"). Cheap: it looks at the file, it does not read it
    (Config.validate calls this in the window)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{what} not found: {p}")
    if p.is_dir():
        raise ConfigError(f"{what} {p} is a directory")
    if not p.is_file():
        raise ConfigError(f"{what} {p} is not a regular file")
    size = p.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise ConfigError(
            f"{what} {p} has {size / 2**20:.0f} MB; rnnviz learns from at most "
            f"{MAX_TEXT_BYTES // 2**20} MB"
        )
    if size == 0:
        raise ConfigError(f"{what} is empty: {p}")
    return p


def read_corpus(path: str | Path) -> Corpus:
    """The corpus of a UTF-8 text file, or ConfigError saying what is wrong with the file."""
    p = check_text_path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read text file {p}: {e.strerror}") from None
    if len(data) > MAX_TEXT_BYTES:  # it grew since it was checked
        check_text_path(p)
    return _corpus(data, f"text file {p}")


def corpus_from_text(text: str) -> Corpus:
    """The corpus of a text already in memory."""
    return _corpus(text.encode("utf-8"), "the text")


@lru_cache(maxsize=1)
def bundled_corpus() -> Corpus:
    """The public-domain text that ships with rnnviz (Alice and Shakespeare)."""
    data = resources.files("rnnviz.resources.text").joinpath(BUNDLED_TEXT).read_bytes()
    return _corpus(data, f"the bundled text {BUNDLED_TEXT}")


def _corpus(data: bytes, source: str) -> Corpus:
    """Two passes over `data`: count the code points (the vocabulary), then index them."""
    counts = np.zeros(0, dtype=np.int64)  # (max code point + 1,)
    for points in _chunks(data, source):
        c = np.bincount(points)
        if len(c) > len(counts):
            counts = np.pad(counts, (0, len(c) - len(counts)))
        counts[: len(c)] += c
    vocab = np.flatnonzero(counts)  # (V,) code points, ascending
    chars = tuple(chr(v) for v in vocab.tolist())
    if not chars:
        raise ConfigError(f"{source} is empty")
    if len(chars) < 2:
        raise ConfigError(
            f"{source} has only 1 distinct character ({chars[0]!r}); "
            "a language model needs at least 2"
        )
    dtype = np.uint8 if len(chars) <= 256 else np.int16 if len(chars) <= 32767 else np.int32
    index = np.zeros(int(vocab[-1]) + 1, dtype=dtype)  # code point -> vocabulary index
    index[vocab] = np.arange(len(chars))
    ids = np.empty(int(counts.sum()), dtype=dtype)  # (N,)
    start = 0
    for points in _chunks(data, source):
        np.take(index, points, out=ids[start : start + len(points)])  # no temporary
        start += len(points)
    return Corpus(chars, ids, counts[vocab])


def _chunks(data: bytes, source: str) -> Iterator[np.ndarray]:
    """The code points of `data`, CHUNK bytes at a time (uint8 for ASCII, else uint32)."""
    if data.isascii():  # the bytes are the code points: no decoding, no copies
        view = np.frombuffer(data, dtype=np.uint8)
        for i in range(0, len(view), CHUNK):
            yield view[i : i + CHUNK]
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    buffer = memoryview(data)
    for i in range(0, len(data), CHUNK):
        held = len(decoder.getstate()[0])  # bytes of a character split by the last chunk
        try:
            text = decoder.decode(buffer[i : i + CHUNK], final=i + CHUNK >= len(data))
        except UnicodeDecodeError as e:
            byte = i - held + e.start
            raise ConfigError(f"{source} is not UTF-8 (byte {byte})") from None
        if text:
            yield _code_points(text)


def _code_points(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-32-le"), dtype="<u4")
