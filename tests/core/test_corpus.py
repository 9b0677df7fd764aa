"""The text a character LM learns: vocabulary, compact indices, chunked decoding, the limits."""

import re

import numpy as np
import pytest

from rnnviz.core import corpus as corpusmod
from rnnviz.core.config import ConfigError
from rnnviz.core.corpus import (
    MAX_TEXT_BYTES,
    bundled_corpus,
    check_text_path,
    corpus_from_text,
    read_corpus,
)

TEXT = "naïve café ☃ 😀 — ab a\nb"


def test_vocabulary_is_sorted_by_code_point_with_counts_and_compact_ids():
    c = corpus_from_text("ab a\nb")
    assert c.chars == ("\n", " ", "a", "b")
    assert list(c.counts) == [1, 1, 2, 2]
    assert c.ids.dtype == np.uint8 and list(c.ids) == [2, 3, 1, 2, 0, 3]
    p = np.array([1, 1, 2, 2]) / 6
    assert c.unigram_entropy == pytest.approx(float(-(p * np.log(p)).sum()))


def test_encode_and_decode_round_trip_any_unicode():
    c = corpus_from_text(TEXT)
    assert c.decode(c.ids) == TEXT
    assert c.decode(c.encode("😀☃")) == "😀☃"
    assert c.encode("ab").dtype == np.int64
    with pytest.raises(ValueError, match="'z'"):
        c.encode("az")


def test_more_than_256_characters_are_indexed_in_16_bits():
    text = "".join(chr(0x4E00 + i) for i in range(300)) * 2
    c = corpus_from_text(text)
    assert len(c.chars) == 300 and c.ids.dtype == np.int16
    assert c.decode(c.ids) == text


@pytest.mark.parametrize("chunk", [1, 2, 3, 5])
def test_chunks_that_split_a_character_read_the_same_text(monkeypatch, chunk):
    monkeypatch.setattr(corpusmod, "CHUNK", chunk)
    c = corpus_from_text(TEXT)
    assert c.decode(c.ids) == TEXT and c.chars == tuple(sorted(set(TEXT)))


@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_not_utf8_names_the_first_bad_byte_across_chunks(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(corpusmod, "CHUNK", chunk)
    p = tmp_path / "latin1.txt"
    p.write_bytes("ok é café".encode() + "caf\xe9".encode("latin-1"))
    bad = len("ok é café".encode()) + 3
    with pytest.raises(ConfigError, match=rf"is not UTF-8 \(byte {bad}\)"):
        read_corpus(p)


def test_a_file_read_from_disk_equals_the_text(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text(TEXT * 3, encoding="utf-8")
    assert read_corpus(p).decode(read_corpus(p).ids) == TEXT * 3


def test_the_bundled_text_is_ascii_and_stored_one_byte_per_character():
    c = bundled_corpus()
    assert c.ids.dtype == np.uint8 and c.ids.nbytes == len(c) > 20_000


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "text file is empty"),
        (b"a", "has only 1 distinct character ('a'); a language model needs at least 2"),
        (b"zzzzzz", "has only 1 distinct character ('z')"),
    ],
)
def test_too_little_text_says_what_is_true(tmp_path, content, says):
    p = tmp_path / "t.txt"
    p.write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(says)):
        read_corpus(p)


def test_a_directory_or_a_missing_file_is_named_so(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        check_text_path(tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        check_text_path(tmp_path / "missing.txt")


def test_a_file_above_the_limit_is_refused_before_reading_with_the_limit(tmp_path, monkeypatch):
    p = tmp_path / "huge.txt"
    with open(p, "wb") as f:  # sparse: no disk, no time
        f.truncate(MAX_TEXT_BYTES + 1)
    monkeypatch.setattr(corpusmod.Path, "read_bytes", lambda self: pytest.fail("read"))
    with pytest.raises(ConfigError, match=f"at most {MAX_TEXT_BYTES // 2**20} MB"):
        read_corpus(p)
