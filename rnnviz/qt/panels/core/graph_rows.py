"""The rows of the unrolled graph, bottom-up, and the steps each block of columns draws.

A single stack is one block: x, then [c, h] per layer and direction, then ŷ. An
encoder-decoder is two: the encoder (x, then its [c, h]) and, right of it, the decoder (the
previous target token y_{t−1}, its [c, s] per layer, the context vectors c_t with attention,
then ŷ), each over its own steps (panels/halves.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from rnnviz.qt.panels.halves import Half, half, is_seq2seq

if TYPE_CHECKING:  # the GUI must not import torch at start-up
    from rnnviz.core.trace import LayerTrace, Trace

SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class Row(NamedTuple):
    """One row of nodes: the inputs x, a layer's h or c in one direction, the context vectors
    ctx, or the outputs y; in block `block` (0, or an encoder-decoder's decoder: 1) at height
    `y` in it."""

    kind: str  # "x", "h", "c", "ctx" or "y"
    label: str  # name on the axis: "h", "c¹ ←", …
    layer: LayerTrace | None = None
    reverse: bool = False  # a backward-direction row: arrows point left
    symbol: str = ""  # the nodes' name: "s" for "s₃"
    shift: int = 0  # the subscript of the node at step s is s + shift (y_{t−1}: −1)
    block: int = 0
    y: int = 0


def stack_rows(layers: Sequence[LayerTrace], symbol: str, multi: bool, bi: bool) -> list[tuple]:
    """(kind, label, layer, reverse, symbol) of the [c, h] rows of a stack, bottom-up; `multi`
    tags the layer, `bi` the direction."""
    rows = []
    for lt in layers:
        tag = str(lt.layer).translate(SUP) if multi else ""
        tag += (" ←" if lt.reverse else " →") if bi else ""
        for k in ("c", "h"):
            if k == "h" or lt.c is not None:
                name = symbol if k == "h" else k
                rows.append((k, name + tag, lt, lt.reverse, name))
    return rows


def place(rows: list[tuple], block: int = 0) -> list[Row]:
    """Rows of one block, bottom-up, at heights 0, 1, …."""
    return [Row(*row, block=block, y=y) for y, row in enumerate(rows)]


def graph_rows(trace: Trace) -> list[Row]:
    """Bottom-up rows of the unrolled graph of `trace`'s model, block after block."""
    multi, bi = trace.meta["layers"] > 1, trace.meta["bidirectional"]
    x, y = ("x", "x", None, False, "x"), ("y", "ŷ", None, False, "ŷ")
    if not is_seq2seq(trace):
        return place([x, *stack_rows(trace.layers, "h", multi, bi), y])
    decoder = [("x", "yₜ₋₁", None, False, "y", -1)]
    decoder += stack_rows(trace.dec_layers, "s", multi, False)
    if trace.attn is not None:
        decoder.append(("ctx", "ctx", None, False, "ctx"))
    return place([x, *stack_rows(trace.layers, "h", multi, bi)]) + place([*decoder, y], 1)


def blocks(trace: Trace) -> list[Half]:
    """The steps each block draws: the trace's, or an encoder's and a decoder's. The encoder
    marks the input step that decoder step t reads (through its top layer's forward
    direction, whose final state starts the decoder)."""
    if not is_seq2seq(trace):
        return [half(trace, 0)]
    top = max(lt.layer for lt in trace.layers)
    enc = next(i for i, lt in enumerate(trace.layers) if lt.layer == top and not lt.reverse)
    return [half(trace, enc), half(trace, len(trace.layers))]
