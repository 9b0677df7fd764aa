"""The fused recording path: every internal value of a layer stack from one fused pass.

See record.py's docstring for the method (inputs widened by zeros u_t whose gradient is the
total dL/d(gate pre-activation); gates, cell states and dL/dh_t rebuilt in batched products
and element-wise scans). Used for the cells PyTorch fuses (RNN, LSTM, GRU).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import _VF, Tensor
from torch.nn import functional as F

from rnnviz.core.cells import CELLS
from rnnviz.core.model import RecurrentModel
from rnnviz.core.tasks.base import Batch, Task
from rnnviz.core.timeaxis import next_step, order, prev, scan


def _fused_kernel(cell: str, nonlin: str) -> Callable:
    """The kernel torch.nn.RNN/LSTM/GRU.forward calls, called directly with the recorder's
    own weights: the module's functional_call machinery cost about 1 ms a recording, half a
    fused pass at T = 50."""
    if cell == "rnn":
        return _VF.rnn_tanh if nonlin == "tanh" else _VF.rnn_relu
    return {"lstm": _VF.lstm, "gru": _VF.gru}[cell]


def _probe_width(cell: str, hidden: int) -> int:
    """Zero input columns per direction whose gradient the recorder reads (see record_fused)."""
    return len(CELLS[cell].blocks) * hidden if cell == "gru" else hidden


def record_fused(model: RecurrentModel, task: Task, batch: Batch, x: Tensor):
    """(y_hat, loss, layers) of `batch` (encoded input x (B, T, I)): one dict per layer and
    direction with h, gates, a or c, dL/dh_t (and dL/dc_t), all (B, T, ·) in time order.

    Each layer's input is widened by zero columns u_t, P per direction, whose gradient is read:
    for the RNN and LSTM (a_t = W_ih x_t + W_hh h_{t-1} + b) the widened W_ih holds W_hh
    there (P = H), so u_t enters exactly as h_{t-1} does and its gradient is the part of the
    total dL/dh_{t-1} that flows through step t. The GRU's h_{t-1} reaches its candidate only
    through r_t * (W_hn h_{t-1} + b_hn), which an input column cannot mimic: it gets an
    identity block (P = G*H) and its gradient is dL/d(gate pre-activation). P = H keeps the
    widened input product 4x smaller for the LSTM than the identity block would.
    """
    cfg, rnn = model.config, model.rnn
    G, H, D = len(CELLS[cfg.cell].blocks), cfg.hidden, model.directions
    P = _probe_width(cfg.cell, H)
    kernel = _fused_kernel(cfg.cell, cfg.nonlinearity)
    layer_in, inputs, outs, us = x, [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cuDNN's "weights not contiguous" note on GPUs
        for k in range(cfg.layers):
            B, T, In = layer_in.shape
            u = layer_in.new_zeros(B, T, D * P, requires_grad=True)  # (B, T, D*P)
            weights = []  # torch's flat order: w_ih, w_hh, b_ih, b_hh per direction
            for d, s in enumerate(("", "_reverse")[:D]):
                w_ih = getattr(rnn, f"weight_ih_l{k}{s}").detach()
                w_hh = getattr(rnn, f"weight_hh_l{k}{s}").detach()
                probe = w_hh if P == H else torch.eye(P, device=x.device, dtype=x.dtype)
                wide = w_ih.new_zeros(G * H, In + D * P)  # (G*H, In + D*P)
                wide[:, :In] = w_ih
                wide[:, In + d * P : In + (d + 1) * P] = probe
                biases = [getattr(rnn, f"{n}_l{k}{s}").detach() for n in ("bias_ih", "bias_hh")]
                weights += [wide, w_hh, *biases]
            h0 = layer_in.new_zeros(D, B, H)
            hx = (h0, h0) if cfg.cell == "lstm" else h0
            out = kernel(torch.cat([layer_in, u], -1), hx, weights, True, 1, 0.0, False,
                         cfg.bidirectional, True)[0]  # fmt: skip
            out.retain_grad()
            inputs.append(layer_in.detach())
            outs.append(out)
            us.append(u)
            layer_in = out
        y_hat = _head(model, layer_in)
        loss = task.loss(y_hat, batch.y, batch.mask)
        loss.backward()

    layers = []
    with torch.no_grad():
        for k in range(cfg.layers):
            for d in range(D):
                rev = d == 1
                s = "_reverse" if rev else ""
                sl = slice(d * H, (d + 1) * H)
                psl = slice(d * P, (d + 1) * P)
                rec = fused_layer(
                    cfg.cell,
                    cfg.nonlinearity,
                    inp=order(inputs[k], rev),
                    h=order(outs[k].detach()[..., sl], rev),
                    e=order(outs[k].grad[..., sl], rev),
                    gu=order(us[k].grad[..., psl], rev),
                    w_ih=getattr(rnn, f"weight_ih_l{k}{s}").detach(),
                    w_hh=getattr(rnn, f"weight_hh_l{k}{s}").detach(),
                    b_ih=getattr(rnn, f"bias_ih_l{k}{s}").detach(),
                    b_hh=getattr(rnn, f"bias_hh_l{k}{s}").detach(),
                )
                layers.append(
                    {"layer": k, "reverse": rev, **{n: order(v, rev) for n, v in rec.items()}}
                )
    return y_hat.detach(), loss.detach(), layers


def _head(model: RecurrentModel, h: Tensor) -> Tensor:
    """The output head on detached weights; an opened model's head is nn.Identity (no weights)."""
    head = model.head
    if isinstance(head, torch.nn.Linear):
        return F.linear(h, head.weight.detach(), head.bias.detach())
    return head(h)


def fused_layer(
    cell: str, nonlin: str, *, inp, h, e, gu, w_ih, w_hh, b_ih, b_hh
) -> dict[str, Tensor]:
    """Per-step values of one direction from its fused pass, all in processing order.

    inp (B, T, In) layer input, h (B, T, H) hidden states, e (B, T, H) direct dL/dh_t,
    gu the probe columns' gradient (record_fused): (B, T, H) W_hh^T dL/da_t for the RNN and
    LSTM, (B, T, G*H) the total dL/d(gate pre-activation) for the GRU.
    """
    H = h.shape[-1]
    hp = prev(h)
    gi = inp @ w_ih.T + b_ih  # (B, T, G*H)
    gh = hp @ w_hh.T + b_hh  # (B, T, G*H)
    out: dict[str, Tensor] = {"h": h, "h_prev": hp}
    if cell == "rnn":
        out["a"] = gi + gh
        out["grad_h"] = e + next_step(gu)
    elif cell == "lstm":
        ai, af, ag, ao = (gi + gh).chunk(4, -1)
        i, f, g, o = torch.sigmoid(ai), torch.sigmoid(af), torch.tanh(ag), torch.sigmoid(ao)
        c = scan(f, i * g, backward=False)
        dh = e + next_step(gu)
        out.update(i=i, f=f, g=g, o=o, c=c, c_prev=prev(c), grad_h=dh)
        out["grad_c"] = scan(next_step(f), dh * o * (1 - torch.tanh(c) ** 2), backward=True)
    else:  # gru
        r = torch.sigmoid(gi[..., :H] + gh[..., :H])
        z = torch.sigmoid(gi[..., H : 2 * H] + gh[..., H : 2 * H])
        n = torch.tanh(gi[..., 2 * H :] + r * gh[..., 2 * H :])
        gn = next_step(gu)
        gn_scaled = torch.cat([gn[..., : 2 * H], next_step(r) * gn[..., 2 * H :]], -1)
        out.update(r=r, z=z, n=n, gh_n=gh[..., 2 * H :])
        out["grad_h"] = scan(next_step(z), e + gn_scaled @ w_hh, backward=True)
    return out
