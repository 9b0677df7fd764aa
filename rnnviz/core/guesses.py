"""The model's top guesses for the next symbol at every step (Karpathy, Johnson & Fei-Fei 2015,
"Visualizing and Understanding Recurrent Networks", figure 5: the five most likely next
characters under every character of the text, shaded by probability).

From the recorded outputs of one sequence, logits ŷ_t (T, O):

    p_t = softmax(ŷ_t)          the predicted distribution of the symbol after step t
    top-k: the k most likely symbols and their probabilities, most likely first
    p_t(y_t), and the rank of the target y_t among all O symbols (0: the top guess)

Works for any task whose outputs are symbols (classification): the character LM, the copy
task, or a task with a vocabulary of notes or words.

Shapes: T time, O output symbols, k guesses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOP = 5  # guesses shown per step, as in the paper


@dataclass(frozen=True)
class Guesses:
    ids: np.ndarray  # (T, k) symbol ids, most likely first
    p: np.ndarray  # (T, k) their probabilities
    target_p: np.ndarray  # (T,) probability given to the target y_t
    target_rank: np.ndarray  # (T,) the target's place among all symbols, 0 = top guess


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities along the last axis, in float64 (stable: the largest logit subtracted)."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def top_guesses(logits: np.ndarray, targets: np.ndarray, k: int = TOP) -> Guesses:
    """The k most likely next symbols at every step of one sequence: logits (T, O), targets
    (T,) ids. Ties keep the lower id first. Non-finite logits (a diverged run) give NaN."""
    p = softmax(logits)  # (T, O)
    k = min(k, p.shape[-1])
    order = np.argsort(-p, axis=-1, kind="stable")  # (T, O)
    ids = order[:, :k]
    y = np.asarray(targets, dtype=np.int64)  # (T,)
    target_p = np.take_along_axis(p, y[:, None], -1)[:, 0]
    target_rank = np.argmax(order == y[:, None], axis=-1)
    return Guesses(ids, np.take_along_axis(p, ids, -1), target_p, target_rank)
