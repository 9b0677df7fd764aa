"""Seq2SeqTrace: one recorded encoder-decoder batch, both halves, as read-only numpy arrays.

The Trace fields hold the encoder and the output: `x` [B, N, I] the encoder's layer-0 inputs,
`x_raw` [B, N] the input ids, `layers` the encoder's layers and directions (NPZ keys as the
single stack's: h_l{k}{s}, c_…, gate_…, grad_h_…), `y` [B, T] the target ids, `y_hat`
[B, T, O] the logits, `loss_mask` [B, T]. Added here, under NPZ keys of the same names:

    dec_x       [B, T, E]     the decoder's layer-0 inputs (the embedded previous tokens)
    dec_layers                the decoder's layers: dec_h_l{k}, dec_c_l{k}, dec_gate_{g}_l{k},
                              dec_grad_h_l{k}, dec_grad_c_l{k}, dec_a_l{k}
    attn        [B, T, N]     attention weights, each row summing to 1 (absent for none)
    context     [B, T, D·H]   context vectors c_t = sum_j attn[t, j] h_j (absent for none)
    grad_context [B, T, D·H]  dL/dc_t, the loss's gradient at each context vector (absent for
                              none)
    tokens_in   [B, N]        the input tokens as text ("<pad>" for padding)
    tokens_out  [B, T]        the target tokens as text

Parameters: the encoder stack's under their torch names (weight_hh_l0, …), the decoder
stack's with dec_ (dec_weight_hh_l0), the rest as the model names them (embed.weight,
dec_embed.weight, attention.v.weight, head.weight, …).

Axes: B batch, N encoder steps, T decoder steps, H hidden per direction, D directions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from rnnviz.core.trace import LayerTrace, Trace, layer_arrays, load_layers

DEC = "dec_"  # the prefix of the decoder's NPZ keys and parameter names


@dataclass(frozen=True, eq=False)
class Seq2SeqTrace(Trace):
    dec_x: np.ndarray  # [B, T, E]
    dec_layers: tuple[LayerTrace, ...]
    attn: np.ndarray | None  # [B, T, N]; None without attention
    context: np.ndarray | None  # [B, T, D*H]; None without attention
    grad_context: np.ndarray | None  # [B, T, D*H] dL/dc_t; None without attention
    tokens_in: np.ndarray  # [B, N] str
    tokens_out: np.ndarray  # [B, T] str

    @property
    def T_dec(self) -> int:
        return self.y.shape[1]

    def dec_layer(self, k: int) -> LayerTrace:
        return self.dec_layers[k]

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = super().to_arrays()
        out[DEC + "x"] = self.dec_x
        for lt in self.dec_layers:
            out.update(layer_arrays(lt, prefix=DEC))
        if self.attn is not None:
            out["attn"], out["context"] = self.attn, self.context
            out["grad_context"] = self.grad_context
        out["tokens_in"], out["tokens_out"] = self.tokens_in, self.tokens_out
        return out

    @classmethod
    def from_arrays(cls, d: Mapping[str, np.ndarray]) -> Seq2SeqTrace:
        base = Trace.from_arrays(d)
        meta = json.loads(str(d["meta"]))
        return cls(
            **{f.name: getattr(base, f.name) for f in fields(Trace)},
            dec_x=d[DEC + "x"],
            dec_layers=load_layers(
                d, meta["decoder_cell"], meta["decoder_layers"], False, prefix=DEC
            ),
            attn=d.get("attn"),
            context=d.get("context"),
            grad_context=d.get("grad_context"),
            tokens_in=d["tokens_in"],
            tokens_out=d["tokens_out"],
        )
