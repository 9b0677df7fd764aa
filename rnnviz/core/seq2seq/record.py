"""Record one encoder-decoder batch under teacher forcing: both halves' states and gates, the
attention, the context vectors, the outputs, the loss, and dL/dh_t (dL/dc_t) of both halves
and dL/dctx_t of the context vectors.

Where both stacks' cells have a fused kernel (RNN, LSTM, GRU), each layer runs through it
with probe columns (core/record_fused.py: probed_stack), the decoder from the encoder's
final states through the bridge, and everything is rebuilt from the fused passes as for the
single stack, the final states' gradients added at each direction's last step: about twice
a fused forward+backward (benchmarks/bench_record_seq2seq.py; the loop below was 3.3-5.3x).
Otherwise both stacks run through the textbook loop (model.run_explicit) with zero
perturbations added to every h_t and c_t as they leave step t; autograd's gradient of the
loss with respect to them is the total gradient dL/dh_t (as core/record_explicit.py does for
the single stack). For the encoder that gradient arrives through the decoder's start state
(the bridge) and, with attention, directly from every decoder step through the context
vectors: the shorter path attention gives the gradient shows in ‖dL/dh_t‖ over the
encoder's steps. The context vector ctx_t reaches the loss only through step t's logits
(ŷ_t = W_o [s_t; ctx_t] + b_o), so dL/dctx_t is read first, from the loss back to the
contexts alone (the read-out: a few multiply-adds), before the stacks' gradients.

||dh_T/dh_t|| is not computed for an encoder-decoder (NaN, and meta["jacobian"] says so).

Shapes: B batch, N encoder steps, T decoder steps, H hidden units of a stack.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

import rnnviz
from rnnviz.core.cells import CELLS
from rnnviz.core.model import cell_name, run_explicit
from rnnviz.core.record_fused import probed_grads, probed_layers, probed_stack
from rnnviz.core.seq2seq.model import PAD, Seq2SeqModel
from rnnviz.core.seq2seq.trace import DEC, Seq2SeqTrace
from rnnviz.core.tasks.base import Batch
from rnnviz.core.tasks.transduction import Transduction
from rnnviz.core.trace import LayerTrace, frozen_array

NO_JACOBIAN = "skipped: not computed for an encoder-decoder"


def record_seq2seq(
    model: Seq2SeqModel,
    task: Transduction,
    batch: Batch,
    *,
    jacobians: bool = True,
    jacobian_sequences: int | None = None,
    meta: dict[str, Any] | None = None,
) -> Seq2SeqTrace:
    """Run `batch` through `model` with teacher forcing and return every recorded value.
    `jacobians` and `jacobian_sequences` are accepted as record_trace's and ignored (the
    norms are NaN)."""
    cfg, x_raw, y = model.config, batch.x, batch.y
    with torch.no_grad():
        x = model.encode(x_raw)  # (B, N, I)
        dec_x = model.dec_embed(model.decoder_inputs(y))  # (B, T, E)
    fused = CELLS[cfg.cell].fused and CELLS[model.dec_config.cell].fused
    record = _record_fused if fused else _record_explicit
    y_hat, loss, context, grad_context, attn, layers, dec_layers = record(
        model, task, batch, x, dec_x
    )
    dec_cfg = model.dec_config
    full_meta = {
        "model": "seq2seq",
        "cell": cfg.cell,
        "nonlinearity": cfg.nonlinearity if CELLS[cfg.cell].nonlinearities else None,
        "hidden": cfg.hidden,
        "layers": cfg.layers,
        "bidirectional": cfg.bidirectional,
        "encoder": cfg.resolved_encoder,
        "decoder_cell": dec_cfg.cell,
        "decoder_hidden": dec_cfg.hidden,
        "decoder_layers": dec_cfg.layers,
        "attention": cfg.attention,
        "beam": cfg.beam,
        "task": task.name,
        "task_shape": task.shape,
        "task_kind": task.kind,
        "loss_definition": task.loss_definition,
        "jacobian_norm": "not computed for an encoder-decoder (NaN)",
        "jacobian": NO_JACOBIAN,
        "input_vocab": list(task.input_vocab),
        "output_vocab": list(task.output_vocab),
        "seed": cfg.seed,
        "version": rnnviz.__version__,
        **(meta or {}),
    }
    return Seq2SeqTrace(
        meta=MappingProxyType(full_meta),
        x=frozen_array(x),
        x_raw=frozen_array(x_raw),
        y=frozen_array(y),
        y_hat=frozen_array(y_hat.detach()),
        loss=float(loss.detach()),
        loss_mask=frozen_array(batch.mask),
        layers=layers,
        params=MappingProxyType(
            {_param_name(n): frozen_array(p) for n, p in model.named_parameters()}
        ),
        dec_x=frozen_array(dec_x),
        dec_layers=dec_layers,
        attn=frozen_array(attn.detach()) if attn is not None else None,
        context=frozen_array(context.detach()) if context is not None else None,
        grad_context=frozen_array(grad_context) if grad_context is not None else None,
        tokens_in=_tokens(task.input_vocab, x_raw),
        tokens_out=_tokens(task.output_vocab, y),
    )


def _record_fused(model: Seq2SeqModel, task: Transduction, batch: Batch, x, dec_x):
    """(y_hat, loss, context, dL/dcontext, attention, encoder layers, decoder layers) from
    one fused pass of each stack with probe columns (module docstring)."""
    enc = probed_stack(model.rnn, x)
    h_n = torch.cat([p.h_n for p in enc])  # (L*D, B, H)
    c_n = torch.cat([p.c_n for p in enc]) if enc[0].c_n is not None else None
    with torch.enable_grad():
        dec = probed_stack(model.dec_rnn, dec_x, hx=model.bridge(h_n, c_n))
        y_hat, context, attn = model.readout(dec[-1].out, enc[-1].out, batch.x != PAD)
        loss = task.loss(y_hat, batch.y, batch.mask)
    grad_context = _grad_context(loss, context)
    enc_grads, dec_grads = probed_grads(loss, [enc, dec])
    layers = [_layer_trace(model.rnn, lt) for lt in probed_layers(model.rnn, enc, enc_grads)]
    dec_layers = [
        _layer_trace(model.dec_rnn, lt) for lt in probed_layers(model.dec_rnn, dec, dec_grads)
    ]
    return y_hat, loss, context, grad_context, attn, tuple(layers), tuple(dec_layers)


def _layer_trace(rnn: nn.Module, lt: dict) -> LayerTrace:
    """A LayerTrace from one of probed_layers' dicts."""
    spec = CELLS[cell_name(rnn)]
    B, T = lt["h"].shape[:2]
    return LayerTrace(
        layer=lt["layer"],
        reverse=lt["reverse"],
        h=frozen_array(lt["h"]),
        grad_h=frozen_array(lt["grad_h"]),
        jacobian_norm=frozen_array(np.full((B, T), np.nan)),
        gates=MappingProxyType({g: frozen_array(lt[g]) for g in spec.gate_names}),
        preact=frozen_array(lt["a"]) if "a" in lt else None,
        c=frozen_array(lt["c"]) if "c" in lt else None,
        grad_c=frozen_array(lt["grad_c"]) if "grad_c" in lt else None,
    )


def _record_explicit(model: Seq2SeqModel, task: Transduction, batch: Batch, x, dec_x):
    """As _record_fused, from the textbook loop with perturbations (module docstring)."""
    enc_pert, dec_pert = _perturbations(model.rnn, x), _perturbations(model.dec_rnn, dec_x)
    enc_rec: dict = {}
    dec_rec: dict = {}
    with torch.enable_grad():
        h, h_n, c_n = run_explicit(model.rnn, x, perturb=enc_pert, record=enc_rec)  # (B, N, DH)
        start = model.bridge(h_n, c_n)
        s, _, _ = run_explicit(model.dec_rnn, dec_x, hx=start, perturb=dec_pert, record=dec_rec)
        y_hat, context, attn = model.readout(s, h, batch.x != PAD)  # (B, T, O)
        loss = task.loss(y_hat, batch.y, batch.mask)
        grad_context = _grad_context(loss, context)
        leaves = [
            t for p in (enc_pert, dec_pert) for pair in p.values() for t in pair if t is not None
        ]
        grads = iter(torch.autograd.grad(loss, leaves))
    layers = _layers(model.rnn, enc_pert, enc_rec, grads)
    dec_layers = _layers(model.dec_rnn, dec_pert, dec_rec, grads)
    return y_hat, loss, context, grad_context, attn, layers, dec_layers


def _grad_context(loss: Tensor, context: Tensor | None) -> Tensor | None:
    """dL/dctx_t (B, T, D·H), the graph kept for the stacks' gradients (None without
    attention)."""
    if context is None:
        return None
    (grad,) = torch.autograd.grad(loss, context, retain_graph=True)
    return grad


def _perturbations(rnn: nn.Module, x: Tensor) -> dict:
    """{(k, reverse): (p_h, p_c or None)}: zero (B, T, H) leaves for run_explicit's perturb."""
    has_c = CELLS[cell_name(rnn)].cell_state
    B, T, _ = x.shape
    D = 2 if rnn.bidirectional else 1

    def zeros() -> Tensor:
        return x.new_zeros(B, T, rnn.hidden_size, requires_grad=True)

    return {
        (k, d == 1): (zeros(), zeros() if has_c else None)
        for k in range(rnn.num_layers)
        for d in range(D)
    }


def _layers(rnn: nn.Module, pert: dict, record: dict, grads) -> tuple[LayerTrace, ...]:
    """The LayerTraces of one stack from run_explicit's record and the perturbations'
    gradients (`grads` yields them in `pert`'s order, h before c)."""
    spec = CELLS[cell_name(rnn)]
    H = rnn.hidden_size
    out = []
    for k, rev in pert:
        rec = {n: torch.stack(v, 1).detach() for n, v in record[(k, rev)].items()}
        grad_h = next(grads)
        grad_c = None
        if spec.cell_state:
            # The perturbation of c_t enters after h_t = o_t tanh(c_t) was formed, so its
            # gradient is the part from step t+1; add the path through h_t (and the peephole
            # w_co c_t in o_t).
            o, tc = rec["o"], torch.tanh(rec["c"])
            through_h = o * (1 - tc**2)
            if spec.peephole:
                w_co = getattr(rnn, f"weight_ch_l{k}{'_reverse' if rev else ''}").detach()[2 * H :]
                through_h = through_h + tc * o * (1 - o) * w_co
            grad_c = next(grads) + grad_h * through_h
        B, T = grad_h.shape[:2]
        out.append(
            LayerTrace(
                layer=k,
                reverse=rev,
                h=frozen_array(rec["h"]),
                grad_h=frozen_array(grad_h),
                jacobian_norm=frozen_array(np.full((B, T), np.nan)),
                gates=MappingProxyType({g: frozen_array(rec[g]) for g in spec.gate_names}),
                preact=frozen_array(rec["a"]) if "a" in rec else None,
                c=frozen_array(rec["c"]) if spec.cell_state else None,
                grad_c=frozen_array(grad_c) if grad_c is not None else None,
            )
        )
    return tuple(out)


def _param_name(name: str) -> str:
    """rnn.weight_hh_l0 -> weight_hh_l0 (the encoder, as the single stack's); dec_rnn.… ->
    dec_…; the rest unchanged."""
    if name.startswith("rnn."):
        return name.removeprefix("rnn.")
    if name.startswith("dec_rnn."):
        return DEC + name.removeprefix("dec_rnn.")
    return name


def _tokens(vocab: tuple[str, ...], ids: Tensor) -> np.ndarray:
    """Symbol ids (B, T) -> their text, a read-only str array (B, T)."""
    return frozen_array(np.array(vocab)[ids.cpu().numpy()])
