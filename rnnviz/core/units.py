"""Interpretable hidden units of a character model: feature signals of a text, and a search for
the units that track them.

Karpathy, Johnson & Fei-Fei (2015), "Visualizing and Understanding Recurrent Networks", colour
a text by one unit's activation h_t[k] and find cells that switch on inside quotes, count the
position in a line or follow the depth of brackets. Here each such feature is a signal s_t
over the text, and a unit k is ranked by the Pearson correlation of its activation with it:

    ρ_k = Σ_t (h_t[k] − h̄[k]) (s_t − s̄) / √(Σ_t (h_t[k] − h̄[k])² · Σ_t (s_t − s̄)²)

where h_t is the state after reading character t. Every signal is therefore the state of the
text after character t: an opening quote is already inside the quotes, a closing one is not.

Shapes: T characters, H hidden units. numpy only: no Qt, no torch.
"""

from __future__ import annotations

import numpy as np

# Characters that would be invisible or break a label's line get a visible stand-in in a
# vocabulary's labels (meta['input_vocab']); LABEL_CHARS maps the labels back.
VISIBLE_LABELS = {"\n": "⏎", " ": "␣", "\t": "⇥", "\r": "␍"}
LABEL_CHARS = {label: ch for ch, label in VISIBLE_LABELS.items()}

QUOTES = {'"': '"', "“": "”"}  # opening -> closing; "'" is left out: it is mostly apostrophes
OPEN_BRACKETS, CLOSE_BRACKETS = "([{", ")]}"

FEATURES = (
    "inside quotes",
    "inside brackets",
    "position in line",
    "position in word",
    "start of word",
    "newline",
    "uppercase",
)


def decode_labels(ids: np.ndarray, vocab: list[str] | tuple[str, ...]) -> str:
    """The text of symbol ids (T,) whose labels are `vocab`, whitespace restored."""
    return "".join(LABEL_CHARS.get(s, s) for s in (vocab[int(i)] for i in np.ravel(ids)))


def feature_signals(text: str) -> dict[str, np.ndarray]:
    """Each feature of FEATURES as a float64 signal (T,), the state after reading char t.

    inside quotes      1 from an opening quote (" or “) up to, not including, its closing one
    inside brackets    nesting depth of (), [] and {} (a stray closer does not go below 0)
    position in line   characters since the last newline (0 at the newline itself)
    position in word   letters since the last non-letter (0 at a non-letter)
    start of word      1 at a letter that follows a non-letter
    newline            1 at a newline: the next character starts a line
    uppercase          1 at an upper-case letter
    """
    T = len(text)
    quotes, depth, line_pos, word_pos = (np.zeros(T) for _ in range(4))
    closing: str | None = None  # the quote that ends the quotation we are in
    d = line = word = 0
    for t, ch in enumerate(text):
        if closing is not None and ch == closing:
            closing = None
        elif closing is None and ch in QUOTES:
            closing = QUOTES[ch]
        quotes[t] = closing is not None
        if ch in OPEN_BRACKETS:
            d += 1
        elif ch in CLOSE_BRACKETS:
            d = max(0, d - 1)
        depth[t] = d
        line = 0 if ch == "\n" else line + 1
        line_pos[t] = line
        word = word + 1 if ch.isalpha() else 0
        word_pos[t] = word
    chars = np.array(list(text), dtype=object) if T else np.zeros(0, dtype=object)
    return {
        "inside quotes": quotes,
        "inside brackets": depth,
        "position in line": line_pos,
        "position in word": word_pos,
        "start of word": (word_pos == 1).astype(np.float64),
        "newline": (chars == "\n").astype(np.float64),
        "uppercase": np.array([c.isupper() for c in text], dtype=np.float64),
    }


def correlations(h: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Pearson correlation (H,) of each unit's activation h (T, H) with `signal` (T,).

    0 where it is undefined: a constant signal or unit, or a unit with non-finite values.
    """
    h = np.asarray(h, dtype=np.float64)  # (T, H)
    s = np.asarray(signal, dtype=np.float64)  # (T,)
    if h.ndim != 2 or h.shape[0] != s.shape[0]:
        raise ValueError(f"activations {h.shape} and signal {s.shape} differ in length")
    if s.shape[0] < 2:
        return np.zeros(h.shape[1])
    finite = np.isfinite(h).all(axis=0) & bool(np.isfinite(s).all())  # (H,)
    h = np.where(finite, h, 0.0)
    s = np.where(np.isfinite(s), s, 0.0)
    hc = h - h.mean(axis=0)  # (T, H)
    sc = s - s.mean()  # (T,)
    with np.errstate(over="ignore", invalid="ignore"):
        num = sc @ hc  # (H,)
        den = np.sqrt((hc * hc).sum(axis=0) * (sc @ sc))  # (H,)
        r = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return np.where(finite & np.isfinite(r), np.clip(r, -1.0, 1.0), 0.0)


def find_units(
    h: np.ndarray, text: str, feature: str | np.ndarray, top: int | None = None
) -> list[tuple[int, float]]:
    """Units ranked by |correlation| of their activation h (T, H) with a feature of `text`.

    `feature` is a name from FEATURES or a signal (T,) of its own. Returns (unit, correlation)
    pairs, strongest first; the sign says whether the unit rises or falls with the feature.
    """
    if isinstance(feature, str):
        signals = feature_signals(text)
        if feature not in signals:
            raise ValueError(f"unknown feature {feature!r}: choose one of {', '.join(FEATURES)}")
        feature = signals[feature]
    r = correlations(h, feature)  # (H,)
    order = np.argsort(-np.abs(r), kind="stable")[:top]
    return [(int(k), float(r[k])) for k in order]
