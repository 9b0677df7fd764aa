"""Decoding step by step, as the window draws it: one input's beam search tree, the best
hypothesis, and at each of its steps the k most likely next tokens and the attention.

Built by seq2seq/steps.py in the training process; plain Python values only (no torch, no
numpy), so it crosses the pipe to the window as it is and two answers compare by value (a
panel redraws only when the decoding changed).

The tree: at every step t the K surviving prefixes (`kept`) and the next K candidates that
beam search dropped, each a Node whose `parent` is the node of the prefix it extends. A
prefix that has written <eos> is finished and carries over to the next steps unchanged (no
new node). The best hypothesis' nodes are `best`.
"""

from __future__ import annotations

from dataclasses import dataclass

TOP_K = 5  # next tokens shown per step


@dataclass(frozen=True)
class Node:
    """One partial hypothesis y_1 … y_t of the beam search tree."""

    step: int  # t, the decoder step that wrote `token`
    parent: int  # the index in Decoded.nodes of the prefix y_1 … y_{t-1}; -1 at t = 0
    token: str  # y_t
    logp: float  # log p(y_1 … y_t | x), the sum of the steps' log-probabilities
    kept: bool  # among the K beams that survived step t
    best: bool  # on the best finished hypothesis


@dataclass(frozen=True)
class Decoded:
    """One input decoded without the targets, with beam width `width` (1: greedy)."""

    inputs: tuple[str, ...]  # the input tokens, without padding
    width: int  # K
    ids: tuple[int, ...]  # the best hypothesis' class ids, one per decoder step
    tokens: tuple[str, ...]  # its tokens up to and including the first <eos>
    # At each step of `tokens`: the TOP_K most likely next tokens with their probability,
    # softmax of the logits the decoder gives after the best hypothesis' previous tokens.
    topk: tuple[tuple[tuple[str, float], ...], ...]
    # At each step of `tokens`: the attention over `inputs` (None without attention).
    attn: tuple[tuple[float, ...], ...] | None
    nodes: tuple[Node, ...]
    logp: float  # log p of the best hypothesis
    pinned: int | None = None  # the step whose attention row was forced, if any

    @property
    def steps(self) -> int:
        """The steps shown: the output up to and including <eos>."""
        return len(self.tokens)

    def at(self, t: int) -> int:
        """Step t of the output, held at its last step past the end (the window's cursor
        runs over the input's steps too)."""
        return max(0, min(t, self.steps - 1))
