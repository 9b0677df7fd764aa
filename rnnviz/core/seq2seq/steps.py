"""Decoding step by step: run beam search (decoding.beam_steps) and keep what a lecture shows
of it, per input sequence, as a Decoded (seq2seq/decoded.py): the tree of hypotheses, the
best one, and along it the top-k next tokens and the attention of every step.

The best hypothesis is beam_search's answer: both read the same steps. Its step t saw the
logits of the beam it extends at t, ŷ_t = f(y_1 … y_{t-1}, x), so its top-k are
softmax(ŷ_t) sorted: what the model gives for that prefix under teacher forcing too.

Shapes: B batch, K beam width, N encoder steps, O output classes, T decoder steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from rnnviz.core.seq2seq.decoded import TOP_K, Decoded, Node
from rnnviz.core.seq2seq.decoding import BeamStep, Pin, beam_steps
from rnnviz.core.seq2seq.model import PAD, Seq2SeqModel


@torch.no_grad()
def decode_steps(
    model: Seq2SeqModel,
    x_raw: Tensor,
    steps: int,
    width: int,
    input_vocab: Sequence[str],
    output_vocab: Sequence[str],
    pin: Pin | None = None,
) -> list[Decoded]:
    """Every sequence of `x_raw` (B, N) decoded for `steps` steps with beam width `width`;
    `pin` forces one step's attention (decoding.Pin)."""
    was_training = model.training
    model.eval()
    try:  # every step's beams as numpy: read element by element below, as Python numbers
        trail = [_numpy(step) for step in beam_steps(model, x_raw, steps, width, pin)]
    finally:
        model.train(was_training)
    x = x_raw.cpu().numpy()
    out = []
    for b in range(x.shape[0]):
        real = np.flatnonzero(x[b] != PAD)  # the input's columns without padding
        out.append(
            _decoded(
                trail,
                b,
                real,
                tuple(input_vocab[int(i)] for i in x[b, real]),
                output_vocab,
                model.eos,
                None if pin is None else pin.step,
            )
        )
    return out


def _decoded(
    trail: list[BeamStep],
    b: int,
    real: np.ndarray,
    inputs: tuple[str, ...],
    vocab: Sequence[str],
    eos: int,
    pinned: int | None,
) -> Decoded:
    """Sequence b's Decoded from the steps of a batched beam search."""
    K = trail[0].parent.shape[1]
    slots = _slots(trail, b)  # the best hypothesis' beam after each step
    src = [int(step.parent[b, k]) for step, k in zip(trail, slots, strict=True)]  # before
    ids = [int(step.token[b, k]) for step, k in zip(trail, slots, strict=True)]
    shown = ids.index(eos) + 1 if eos in ids else len(ids)
    topk, attn = [], []
    for t in range(shown):
        p = np.exp(trail[t].logp[b, src[t]].astype(np.float64))  # (O,)
        order = np.argsort(-p, kind="stable")[:TOP_K]
        topk.append(tuple((vocab[int(i)], float(p[i])) for i in order))
        alpha = trail[t].alpha
        if alpha is not None:
            attn.append(tuple(float(a) for a in alpha[b, src[t]][real]))
    nodes = _tree(trail, b, K, vocab)
    return Decoded(
        inputs=inputs,
        width=K,
        ids=tuple(ids),
        tokens=tuple(vocab[i] for i in ids[:shown]),
        topk=tuple(topk),
        attn=tuple(attn) if trail[0].alpha is not None else None,
        nodes=nodes,
        logp=float(trail[-1].score[b, 0]),
        pinned=pinned,
    )


def _numpy(step: BeamStep) -> BeamStep:
    """The step with numpy arrays in place of tensors."""
    return BeamStep(**{f.name: _array(getattr(step, f.name)) for f in dataclasses.fields(step)})


def _array(t: Tensor | None) -> np.ndarray | None:
    return None if t is None else t.cpu().numpy()


def _slots(trail: list[BeamStep], b: int) -> list[int]:
    """The beam slot the best hypothesis occupies after each step."""
    slots, slot = [0] * len(trail), 0
    for t in range(len(trail) - 1, -1, -1):
        slots[t] = slot
        slot = int(trail[t].parent[b, slot])
    return slots


def _tree(trail: list[BeamStep], b: int, K: int, vocab: Sequence[str]) -> tuple[Node, ...]:
    """The hypotheses of sequence b: per step the K survivors and the K best dropped
    candidates (finite ones), finished prefixes carried over without new nodes."""
    O = len(vocab)
    nodes: list[dict] = []
    beam_node = [-1] * K  # the node of each live beam's prefix
    done = [False] * K
    for t, step in enumerate(trail):
        new_node = list(beam_node)
        kept = set()
        for k in range(K):  # the survivors, as beam search chose them
            parent, token = int(step.parent[b, k]), int(step.token[b, k])
            kept.add(parent * O + token)
            if done[parent]:  # a finished prefix carries over
                new_node[k] = beam_node[parent]
                continue
            nodes.append(_node(t, beam_node[parent], vocab[token], step.score[b, k], True))
            new_node[k] = len(nodes) - 1
        order = np.argsort(-step.candidates[b], kind="stable")[: 2 * K]
        for flat in order.tolist():
            parent, token, score = *divmod(flat, O), float(step.candidates[b, flat])
            if flat in kept or not np.isfinite(score) or done[parent]:
                continue  # kept above, an empty beam at t = 0, or a finished prefix
            nodes.append(_node(t, beam_node[parent], vocab[token], score, False))
        beam_node = new_node
        done = [bool(d) for d in step.done[b].tolist()]
    best = set()
    n = beam_node[0]
    while n >= 0:
        best.add(n)
        n = nodes[n]["parent"]
    return tuple(Node(**d, best=i in best) for i, d in enumerate(nodes))


def _node(t: int, parent: int, token: str, logp, kept: bool) -> dict:
    return {"step": t, "parent": parent, "token": token, "logp": float(logp), "kept": kept}
