"""Seq2seq CSV tables (Panel.data_tables): a Decoded's top-k of every step, one column per
token that is ever among them, and its beam search tree, one row per hypothesis; attention
weights, a row per decoder step and a column per input token."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnviz.core.seq2seq.decoded import Decoded


def decoded_tables(decoded: Decoded) -> dict[str, dict[str, np.ndarray]]:
    """{"topk": t and p(token) per step (empty where the token is not in the top k),
    "tree": each node's t, parent node, token, log p, kept, best}."""
    tokens = list(dict.fromkeys(tok for top in decoded.topk for tok, _ in top))
    topk: dict[str, np.ndarray] = {"t": np.arange(decoded.steps)}
    for tok in tokens:
        topk[f"p '{tok}'"] = np.array([dict(top).get(tok, np.nan) for top in decoded.topk])
    nodes = decoded.nodes
    tree = {
        "node": np.arange(len(nodes)),
        "t": np.array([n.step for n in nodes], dtype=np.int64),
        "parent node": np.array([n.parent for n in nodes], dtype=np.int64),
        "token": np.array([n.token for n in nodes], dtype=str),
        "log p": np.array([n.logp for n in nodes]),
        "kept": np.array([n.kept for n in nodes], dtype=bool),
        "best": np.array([n.best for n in nodes], dtype=bool),
    }
    return {"topk": topk, "tree": tree}


def attention_table(
    weights: np.ndarray, inputs: Sequence[str], outputs: Sequence[str]
) -> dict[str, np.ndarray]:
    """Weights α (decoder steps, input tokens) as drawn: t, the output token of each step,
    then one column per input token j, named by the token and j (a token may repeat)."""
    table: dict[str, np.ndarray] = {
        "t": np.arange(len(outputs)),
        "output token": np.array(outputs, dtype=str),
    }
    for j, tok in enumerate(inputs):
        table[f"α '{tok}' j={j}"] = weights[:, j]
    return table
