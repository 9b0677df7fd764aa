"""Text for a token model (an opened model with an embedding, core/foreign.py): the vocabulary
file and the tokenizer, `rnnviz trace --model FILE --input TEXT.txt --vocab VOCAB.json`.

The vocabulary is a JSON list of strings, token id = position in the list, one token a row of
the embedding (V = len(vocab)): what `json.dump(itos, f)` writes for the `itos` list a model
was trained with. The text file (UTF-8) is one sequence, its final line break dropped.

Tokens are characters or whitespace-separated words:

    chars   every character of the text is a token, spaces and line breaks included
    words   text.split(): runs of whitespace separate tokens and are not tokens
    auto    chars when every entry of the vocabulary but the reserved ones (<unk>, <pad>, …:
            in angle brackets) is one character long, else words

A token the vocabulary lacks becomes <unk> where the vocabulary has it; without <unk> it is an
error that names it. Errors are ForeignModelError, one line each.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnnviz.core.foreign import EMBEDDING_KEYS, ForeignModel, ForeignModelError
from rnnviz.core.foreign_trace import read_input
from rnnviz.core.tasks.symbols import UNK

TOKENIZATIONS = ("auto", "chars", "words")


def read_vocab(path: str | Path) -> tuple[str, ...]:
    """The tokens of a JSON vocabulary file, in id order; ForeignModelError if it is not a
    list of distinct non-empty strings."""
    path = Path(path)
    text = _read_text(path)
    try:
        vocab = json.loads(text)
    except json.JSONDecodeError as e:
        raise ForeignModelError(
            f"{path.name}: not JSON ({e.msg} at line {e.lineno}, column {e.colno}); give a "
            'JSON list of the tokens in id order, e.g. ["<unk>", "a", "b"]'
        ) from None
    if not isinstance(vocab, list):
        raise ForeignModelError(
            f"{path.name} holds a JSON {type(vocab).__name__}, not a list of the tokens in id order"
        )
    if not vocab:
        raise ForeignModelError(f"{path.name} is an empty list: a vocabulary needs tokens")
    seen: dict[str, int] = {}
    for i, token in enumerate(vocab):
        if not isinstance(token, str) or not token:
            what = "an empty string" if token == "" else f"{json.dumps(token)}, not a string"
            raise ForeignModelError(f"{path.name}: entry {i} is {what}")
        if token in seen:
            raise ForeignModelError(
                f"{path.name}: {token!r} is there twice (entries {seen[token]} and {i})"
            )
        seen[token] = i
    return tuple(vocab)


def tokenization(vocab: tuple[str, ...], mode: str = "auto") -> str:
    """ "chars" or "words": `mode`, or for "auto" what the vocabulary's entries say."""
    if mode not in TOKENIZATIONS:
        raise ForeignModelError(f"tokens must be {', '.join(TOKENIZATIONS)}, got {mode!r}")
    if mode != "auto":
        return mode
    plain = [t for t in vocab if not (t.startswith("<") and t.endswith(">") and len(t) > 2)]
    return "chars" if all(len(t) == 1 for t in plain) else "words"


def tokenize(text: str, vocab: tuple[str, ...], mode: str, where: str = "the text") -> np.ndarray:
    """`text` as token ids (T,) int64; a token the vocabulary lacks is <unk>, or an error
    naming it (`where`: the text's name in it)."""
    tokens = list(text) if mode == "chars" else text.split()
    ids = {t: i for i, t in enumerate(vocab)}
    unknown = [(n, t) for n, t in enumerate(tokens) if t not in ids]
    if unknown and UNK not in ids:
        n, token = unknown[0]
        more = len({t for _, t in unknown} - {token})
        also = f" ({more} other unknown token{'s' * (more != 1)} too)" if more else ""
        raise ForeignModelError(
            f"{where}: token {n + 1}, {token!r}, is not in the vocabulary, which has no {UNK} "
            f"to stand for it{also}"
        )
    return np.array([ids.get(t, ids.get(UNK, -1)) for t in tokens], dtype=np.int64)


def read_tokens(
    path: str | Path, vocab: tuple[str, ...], mode: str = "auto"
) -> tuple[np.ndarray, str]:
    """The text in `path` as one sequence of token ids [1, T], and the tokenization used."""
    path = Path(path)
    text = _read_text(path).removesuffix("\n").removesuffix("\r")
    mode = tokenization(vocab, mode)
    ids = tokenize(text, vocab, mode, path.name)
    if len(ids) < 2:
        raise ForeignModelError(
            f"{path.name} holds {len(ids)} token{'s' * (len(ids) != 1)} ({mode}): the input "
            "needs at least 2"
        )
    return ids[None], mode


def read_model_input(
    path: str | Path,
    model: ForeignModel,
    vocab_path: str | Path | None = None,
    mode: str = "auto",
) -> tuple[np.ndarray, tuple[str, ...] | None, str | None]:
    """What `model` reads from `path`: numbers [B, T, I] for a model of numbers; for a token
    model, ids [1, T] from the text with `vocab_path`'s tokens. Returns the input, the
    vocabulary (None for numbers) and the tokenization (None for numbers)."""
    if model.vocab_size is None:
        if vocab_path is not None:
            raise ForeignModelError(
                f"the model has no embedding ({', '.join(EMBEDDING_KEYS)}): it reads "
                "numbers from .npy or .csv, and a vocabulary does not apply"
            )
        return read_input(path, model.input_size), None, None
    if vocab_path is None:
        raise ForeignModelError(
            f"the model reads tokens ({model.embedding_key} {tuple(model.embedding.shape)}): "
            "give its vocabulary file too (a JSON list of the tokens in id order)"
        )
    vocab = read_vocab(vocab_path)
    if len(vocab) != model.vocab_size:
        raise ForeignModelError(
            f"{Path(vocab_path).name} has {len(vocab)} tokens, the model's {model.embedding_key} "
            f"{model.vocab_size} rows (shape {tuple(model.embedding.shape)}): one token a row"
        )
    ids, used = read_tokens(path, vocab, mode)
    return ids, vocab, used


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise ForeignModelError(f"{path}: no such file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ForeignModelError(
            f"{path.name}: not UTF-8 text (byte {e.start} is {e.object[e.start]:#04x})"
        ) from None
    except OSError as e:
        raise ForeignModelError(f"{path.name}: cannot read it ({e.strerror or e})") from None
