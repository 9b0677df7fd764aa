"""The fused recording path: every internal value of a layer stack from one fused pass.

See record.py's docstring for the method (inputs widened by zeros u_t whose gradient is the
total dL/d(gate pre-activation); gates, cell states and dL/dh_t rebuilt in batched products
and element-wise scans). Used for the cells PyTorch fuses (RNN, LSTM, GRU).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import _VF, Tensor, nn
from torch.nn import functional as F

from rnnviz.core import elementwise
from rnnviz.core.cells import CELLS
from rnnviz.core.model import RecurrentModel, cell_name
from rnnviz.core.tasks.base import Batch, Task
from rnnviz.core.timeaxis import next_step, order, prev, scan

# cuDNN's note that the weights a pass is given (the widened W_ih among them) are not one flat
# buffer: they are not meant to be. Filtered by its text, for the process: catch_warnings
# around each pass is not thread-safe, and recordings run on two threads (probe_thread.py).
warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous")


def _fused_kernel(cell: str, nonlin: str) -> Callable:
    """The kernel torch.nn.RNN/LSTM/GRU.forward calls, called directly with the recorder's
    own weights: the module's functional_call machinery cost about 1 ms a recording, half a
    fused pass at T = 50."""
    if cell == "rnn":
        return _VF.rnn_tanh if nonlin == "tanh" else _VF.rnn_relu
    return {"lstm": _VF.lstm, "gru": _VF.gru}[cell]


def _probe_width(cell: str, hidden: int) -> int:
    """Zero input columns per direction whose gradient the recorder reads (probed_stack)."""
    return len(CELLS[cell].blocks) * hidden if cell == "gru" else hidden


class Weights(NamedTuple):
    """One direction's weights as the recorder uses them, detached."""

    w_ih: Tensor  # (G*H, In)
    w_hh: Tensor  # (G*H, H)
    b_ih: Tensor  # (G*H,)
    b_hh: Tensor  # (G*H,)
    wide: Tensor  # (G*H, In + D*P) W_ih widened for the probe columns (probed_stack)


class Probed(NamedTuple):
    """One layer's fused pass with its probe columns, kept to read its gradients."""

    inp: Tensor  # (B, T, In) the layer's input, detached
    out: Tensor  # (B, T, D*H) its output
    u: Tensor  # (B, T, D*P) the probe columns, zeros (a leaf)
    h0: Tensor  # (D, B, H) its initial state, detached
    c0: Tensor | None  # (D, B, H) the LSTM's initial cell state, None where zeros
    h_n: Tensor  # (D, B, H) its final state (of each direction's last processed step)
    c_n: Tensor | None
    weights: tuple[Weights, ...]  # per direction, those the pass ran with


def probed_stack(rnn: nn.Module, x: Tensor, hx=None) -> list[Probed]:
    """Each layer of the torch stack `rnn` (nn.RNN/LSTM/GRU) through its fused kernel, its
    input widened by zero probe columns u_t, P per direction, whose gradient is read (see
    probed_layers): for the RNN and LSTM (a_t = W_ih x_t + W_hh h_{t-1} + b) the widened
    W_ih holds W_hh there (P = H), so u_t enters exactly as h_{t-1} does and its gradient is
    the part of the total dL/dh_{t-1} that flows through step t. The GRU's h_{t-1} reaches
    its candidate only through r_t * (W_hn h_{t-1} + b_hn), which an input column cannot
    mimic: it gets an identity block (P = G*H) and its gradient is dL/d(gate
    pre-activation). P = H keeps the widened input product 4x smaller for the LSTM than the
    identity block would.

    x (B, T, I); hx None (zeros) or torch's initial state (L*D, B, H), a tuple (h, c) for an
    LSTM, whose gradient flows on to whatever made it. The weights are detached: only the
    gradients the recorder reads are computed.
    """
    cell = cell_name(rnn)
    H, D = rnn.hidden_size, 2 if rnn.bidirectional else 1
    P = _probe_width(cell, H)
    kernel = _fused_kernel(cell, getattr(rnn, "nonlinearity", "tanh"))
    layer_in, passes = x, []
    with torch.enable_grad():
        for k, dirs in enumerate(kernel_weights(rnn)):
            B, T, In = layer_in.shape
            u = layer_in.new_zeros(B, T, D * P, requires_grad=True)  # (B, T, D*P)
            # torch's flat order: w_ih, w_hh, b_ih, b_hh per direction
            weights = [t for w in dirs for t in (w.wide, w.w_hh, w.b_ih, w.b_hh)]
            zeros = layer_in.new_zeros(D, B, H)
            h0 = zeros if hx is None else (hx[0] if cell == "lstm" else hx)[k * D : (k + 1) * D]
            c0 = (zeros if hx is None else hx[1][k * D : (k + 1) * D]) if cell == "lstm" else None
            # train=True: cuDNN differentiates only training-mode passes (cudnn.py)
            res = kernel(torch.cat([layer_in, u], -1), (h0, c0) if cell == "lstm" else h0,
                         weights, True, 1, 0.0, True, D == 2, True)  # fmt: skip
            out, h_n = res[0], res[1]
            c_n = res[2] if cell == "lstm" else None
            detached = c0.detach() if hx is not None and c0 is not None else None  # None: 0
            passes.append(Probed(layer_in.detach(), out, u, h0.detach(), detached, h_n, c_n, dirs))
            layer_in = out
    return passes


def kernel_weights(rnn: nn.Module) -> list[tuple[Weights, ...]]:
    """Per layer and direction of `rnn`, its detached weights and the widened W_ih."""
    cell = cell_name(rnn)
    H, D = rnn.hidden_size, 2 if rnn.bidirectional else 1
    names = [
        [[f"{n}_l{k}{s}" for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
         for s in ("", "_reverse")[:D]]
        for k in range(rnn.num_layers)
    ]  # fmt: skip
    P = _probe_width(cell, H)
    layers = []
    with torch.no_grad():
        for layer in names:
            dirs = []
            for d, dir_names in enumerate(layer):
                w_ih, w_hh, b_ih, b_hh = (getattr(rnn, n).detach() for n in dir_names)
                probe = w_hh if P == H else torch.eye(P, device=w_ih.device, dtype=w_ih.dtype)
                blocks = [probe if j == d else torch.zeros_like(probe) for j in range(D)]
                dirs.append(Weights(w_ih, w_hh, b_ih, b_hh, torch.cat([w_ih, *blocks], 1)))
            layers.append(tuple(dirs))
    return layers


def probed_grads(loss: Tensor, stacks: list[list[Probed]]) -> list[list[tuple]]:
    """The gradients of `loss` the recorder reads, per stack and layer: (dL/d out,
    dL/d u, dL/d h_n, dL/d c_n), None where the loss does not depend on one (a single
    stack's final state); no parameter gradient is computed or accumulated."""
    wanted = [(p.out, p.u, p.h_n, p.c_n) for passes in stacks for p in passes]
    flat = [t for group in wanted for t in group if t is not None]
    got = iter(torch.autograd.grad(loss, flat, allow_unused=True))
    grads = [tuple(None if t is None else next(got) for t in group) for group in wanted]
    # an encoder's top outputs without attention reach the loss only through h_n
    grads = [(_or_zeros(go, p[0]), _or_zeros(gu, p[1]), gh, gc) for (go, gu, gh, gc), p in
             zip(grads, wanted, strict=True)]  # fmt: skip
    out, i = [], 0
    for passes in stacks:
        out.append(grads[i : i + len(passes)])
        i += len(passes)
    return out


def _or_zeros(g: Tensor | None, like: Tensor) -> Tensor:
    return torch.zeros_like(like) if g is None else g


def probed_layers(rnn: nn.Module, passes: list[Probed], grads: list[tuple]) -> list[dict]:
    """One dict per layer and direction with h, gates, a or c, dL/dh_t (and dL/dc_t), all
    (B, T, ·) in time order, from the passes of probed_stack and their probed_grads."""
    cell = cell_name(rnn)
    H, D = rnn.hidden_size, 2 if rnn.bidirectional else 1
    P = _probe_width(cell, H)
    layers = []
    with torch.no_grad():
        for k, (p, (g_out, g_u, g_hn, g_cn)) in enumerate(zip(passes, grads, strict=True)):
            for d in range(D):
                rev = d == 1
                sl = slice(d * H, (d + 1) * H)
                rec = fused_layer(
                    cell,
                    getattr(rnn, "nonlinearity", "tanh"),
                    inp=order(p.inp, rev),
                    h=order(p.out.detach()[..., sl], rev),
                    e=order(g_out[..., sl], rev),
                    gu=order(g_u[..., d * P : (d + 1) * P], rev),
                    w=p.weights[d],
                    h0=p.h0[d],
                    c0=p.c0[d] if p.c0 is not None else None,
                    g_end=g_hn[d] if g_hn is not None else None,
                    gc_end=g_cn[d] if g_cn is not None else None,
                )
                layers.append(
                    {"layer": k, "reverse": rev, **{n: order(v, rev) for n, v in rec.items()}}
                )
    return layers


def record_fused(model: RecurrentModel, task: Task, batch: Batch, x: Tensor, past):
    """(y_hat, loss, layers) of `batch` (encoded input x (B, T, I)): one dict per layer and
    direction with h, gates, a or c, dL/dh_t (and dL/dc_t), all (B, T, ·) in time order,
    from one fused pass of the stack with probe columns (probed_stack). `past`: what a model
    that reads its past read for the batch (model.past_of: None for any other)."""
    passes = probed_stack(model.rnn, x)
    with torch.enable_grad():
        y_hat = model.output(passes[-1].out, past)
        loss = task.loss(y_hat, batch.y, batch.mask)
    (grads,) = probed_grads(loss, [passes])
    return y_hat.detach(), loss.detach(), probed_layers(model.rnn, passes, grads)


def fused_layer(
    cell: str, nonlin: str, *, inp, h, e, gu, w: Weights,
    h0=None, c0=None, g_end=None, gc_end=None,
) -> dict[str, Tensor]:  # fmt: skip
    """Per-step values of one direction from its fused pass, all in processing order.

    inp (B, T, In) layer input, h (B, T, H) hidden states, e (B, T, H) direct dL/dh_t,
    gu the probe columns' gradient (probed_stack): (B, T, H) W_hh^T dL/da_t for the RNN and
    LSTM, (B, T, G*H) the total dL/d(gate pre-activation) for the GRU; w its weights. h0, c0
    (B, H): the initial state (None: 0); g_end, gc_end (B, H): the gradient of the final
    state h_n, c_n (an encoder's, through the decoder's start state), added at the last step.

    Few whole-tensor operations, in place where the operand is the function's own: at B = 1
    each costs 3-25 us, most of it torch's per-call overhead, against a fused pass of
    1.5-2 ms (LSTM H = 128, T = 50).
    """
    H = h.shape[-1]
    hp = prev(h, h0)
    gi = F.linear(inp, w.w_ih, w.b_ih)  # (B, T, G*H)
    gh = F.linear(hp, w.w_hh, w.b_hh)  # (B, T, G*H)
    out: dict[str, Tensor] = {"h": h, "h_prev": hp}
    if cell == "rnn":
        out["a"] = gi.add_(gh)
        out["grad_h"] = _plus_next(e, gu, g_end)
    elif cell == "lstm":
        a = gi.add_(gh)  # (B, T, 4H): the gates, activated in place
        a[..., : 2 * H].sigmoid_()
        elementwise.tanh_(a[..., 2 * H : 3 * H])
        a[..., 3 * H :].sigmoid_()
        i, f, g, o = a.chunk(4, -1)
        b = i * g
        if c0 is not None:
            b[:, 0] += f[:, 0] * c0
        c = scan(f, b, backward=False)
        dh = _plus_next(e, gu, g_end)
        out.update(i=i, f=f, g=g, o=o, c=c, grad_h=dh)
        if c0 is not None:  # else c_{-1} = 0, as the chain's prev(c) has it (jacobian.py)
            out["c_prev"] = prev(c, c0)
        bc = torch.mul(dh, o).mul_(1 - elementwise.tanh(c).square_())  # dL/dc_t through h_t
        if gc_end is not None:
            bc[:, -1] += gc_end
        out["grad_c"] = scan(f, bc, backward=True)
    else:  # gru
        if g_end is not None:
            e = e.clone()
            e[:, -1] += g_end
        r = torch.sigmoid(gi[..., :H] + gh[..., :H])
        z = torch.sigmoid(gi[..., H : 2 * H] + gh[..., H : 2 * H])
        n = elementwise.tanh_(gi[..., 2 * H :] + r * gh[..., 2 * H :])
        gn = next_step(gu)
        gn_scaled = torch.cat([gn[..., : 2 * H], next_step(r) * gn[..., 2 * H :]], -1)
        out.update(r=r, z=z, n=n, gh_n=gh[..., 2 * H :])
        out["grad_h"] = scan(z, e + gn_scaled @ w.w_hh, backward=True)
    return out


def _plus_next(e: Tensor, gu: Tensor, g_end: Tensor | None) -> Tensor:
    """e_t + gu_{t+1} (nothing after the last step), plus g_end at the last step: the total
    dL/dh_t of the RNN and LSTM (gu = W_hh^T dL/da_t, probed_stack)."""
    dh = e.clone()
    dh[:, :-1] += gu[:, 1:]
    if g_end is not None:
        dh[:, -1] += g_end
    return dh
