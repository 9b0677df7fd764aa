"""What a layer picker offers and what its choice shows: one layer and direction of a single
stack, or of an encoder-decoder's encoder or decoder, with the steps, tokens and cursor of
that half.

The time cursor of an encoder-decoder runs over the decoder's steps t (tokens.cursor_length).
A panel showing the decoder draws its steps t, labelled with the target tokens (the output up
to and including <eos>); a panel showing the encoder draws the input steps j, labelled with
the input tokens (the leading <pad>s left out, as in the attention panel), and marks there the
step that decoder step t reads: the input token its attention weighs most, or without
attention the encoder's final step, whose state is all the decoder gets (the bottleneck).
That mark follows the cursor but cannot move it: many decoder steps may read one input step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnnviz.core.tasks.symbols import PAD
from rnnviz.qt.tokens import at_t, cursor_length, steps_shown

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.trace import LayerTrace, Trace

DEC = "dec_"  # the decoder's layer keys, as its NPZ keys (core/seq2seq/trace.py)


def is_seq2seq(trace: Trace | None) -> bool:
    return trace is not None and hasattr(trace, "dec_layers")


def layer_choices(trace: Trace, both: bool = True) -> list[tuple[str, str]]:
    """(name, key) of each layer and direction: "layer 0 ←", "l0_reverse"; for an
    encoder-decoder (and `both`) the encoder's then the decoder's, "encoder layer 0",
    "decoder layer 0", "dec_l0"."""
    if not both or not is_seq2seq(trace):
        return [(lt.name, lt.key) for lt in trace.layers]
    return [(f"encoder {lt.name}", lt.key) for lt in trace.layers] + [
        (f"decoder {lt.name}", DEC + lt.key) for lt in trace.dec_layers
    ]


@dataclass(frozen=True, eq=False)
class Half:
    """The steps of sequence 0 a panel draws for one layer choice. `tokens` [1, steps] names
    them, so a Half stands for the trace in tokens.py's axis and readout helpers."""

    layer: LayerTrace
    part: str  # "" (a single stack), "encoder" or "decoder"
    start: int  # the first step of the layer's arrays drawn
    steps: int  # how many are drawn
    tokens: np.ndarray | None  # [1, steps] str, or None for real inputs
    # per cursor t, the drawn step marked (the encoder's: what decoder step t reads); None:
    # the cursor's t itself
    reads: np.ndarray | None = None

    @property
    def symbol(self) -> str:
        return "j" if self.part == "encoder" else "t"

    @property
    def follows_cursor(self) -> bool:
        """True where the drawn step is the cursor's t (a cursor line there may move it)."""
        return self.reads is None

    @property
    def axis_label(self) -> str:
        return {"": "timestep t", "encoder": "encoder step j", "decoder": "decoder step t"}[
            self.part
        ]

    def seq(self, a: np.ndarray) -> np.ndarray:
        """Sequence 0's drawn steps of a [B, T, …] array."""
        return a[0, self.start : self.start + self.steps]

    def at(self, t: int) -> int:
        """The drawn step (0 … steps-1) marked for the cursor's t."""
        if self.reads is not None:
            return int(self.reads[min(max(t, 0), len(self.reads) - 1)])
        return min(max(t, 0), self.steps - 1)

    def where(self, i: int, compact: bool = False, eq: str = " = ") -> str:
        """Drawn step i as a readout says it: "t = 4: 'not'", "j = 3: 'a'"."""
        return at_t(self, i, compact=compact, eq=eq, symbol=self.symbol)


def half(trace: Trace, index: int) -> Half:
    """The half, layer and direction at `index` of `layer_choices(trace)`."""
    if not is_seq2seq(trace):
        return Half(trace.layers[index], "", 0, steps_shown(trace), trace.tokens)
    n_enc = len(trace.layers)
    rows = cursor_length(trace)  # the output up to and including <eos>
    if index >= n_enc:
        lt = trace.dec_layers[index - n_enc]
        return Half(lt, "decoder", 0, rows, trace.tokens_out[:1, :rows])
    lt = trace.layers[index]
    start = int(np.argmax(trace.tokens_in[0] != PAD))  # left padding
    steps = trace.tokens_in.shape[1] - start
    if trace.attn is not None:
        reads = trace.attn[0, :rows, start:].argmax(-1)  # (rows,)
    else:  # the final state: the last step forward, the first backward
        reads = np.full(rows, 0 if lt.reverse else steps - 1)
    return Half(lt, "encoder", start, steps, trace.tokens_in[:1, start:], reads)
