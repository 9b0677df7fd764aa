"""Record every internal value of one batch: states, gates, outputs, loss, dL/dh_t, ||dh_T/dh_t||.

Why not just run the per-timestep loop of `cells.py` with autograd? On the CPU that costs
5–15x one fused forward+backward, and the panels ask for a recording several times a
second. For the cells PyTorch fuses (RNN, LSTM, GRU) we instead recover everything from
one fused pass:

1. Each layer runs through the fused kernel with its input widened by zeros u_t (B, T, G*H)
   and its W_ih widened by an identity block, so u_t is added to the gate pre-activations.
   Autograd's gradient w.r.t. u_t is then dL/da_t, the *total* gradient of every gate
   pre-activation — through all later timesteps and higher layers — at no extra BPTT cost.
2. Gates follow from h_{t-1} and x_t in one batched product; the LSTM cell state from the
   element-wise recurrence c_t = f_t c_{t-1} + i_t g_t.
3. The total dL/dh_t is the direct gradient e_t (from the head or the layer above) plus what
   flows back through a_{t+1} = W_hh h_t + …, i.e. e_t + W_hh^T dL/da_{t+1}, one batched
   product. The GRU's z_t h_{t-1} path and the LSTM's cell path are element-wise backward
   recurrences (cheap numpy scans).

The peephole LSTM and simplified GRU have no fused kernel: they are recorded with the explicit
loop, adding zero perturbations to h_t and c_t whose gradients are dL/dh_t and dL/dc_t.

||dh_T/dh_t|| is the spectral norm (largest singular value) of the Jacobian of the
direction's final hidden state (t = T-1 forward, t = 0 for a reverse direction) with respect
to h_t, holding the cell state c_t fixed. It is a product of one-step Jacobians, built with
rescaled float32 matrix products (one per step), its norms by an iteration warm-started from
step to step (analysis.spectral_norms, exact to 1e-4), and costs O(T H^3) against the fused
pass's O(T H^2): the app computes it for sequence 0 only (`jacobian_sequences=1`),
`jacobians=False` skips it, and it is skipped where it would not fit the recording budget
(core/budget.py; meta["jacobian"]).

Where the itemized gradients dL_j/dh_t (one per loss term L_j, issue 13) would go: in the
fused pass, not in the Jacobian chain. Repeat the probed sequence once per loss term along
the batch and give copy j the loss L_j alone (its mask and normalisation); step 1's widened
input then yields dL_j/da_t for every copy in the same one backward pass, and step 3 turns
them into dL_j/dh_t, a (T_loss, T, H) array per layer and direction, summing over j to
grad_h. That costs one fused pass at batch T_loss (batched products, not T_loss passes), and
the chain below stays as it is; _record_fused would take the expanded batch and the loss.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

import rnnviz
from rnnviz.core import budget
from rnnviz.core.analysis import rnn_step_jacobian_norms, spectral_norms
from rnnviz.core.cells import CELLS
from rnnviz.core.model import RecurrentModel, run_explicit
from rnnviz.core.tasks.base import Batch, Task
from rnnviz.core.trace import LayerTrace, Trace, frozen_array


def record_trace(
    model: RecurrentModel,
    task: Task,
    batch: Batch,
    *,
    jacobians: bool = True,
    jacobian_sequences: int | None = None,
    meta: dict[str, Any] | None = None,
) -> Trace:
    """Run `batch` through `model` and return every recorded value as a read-only Trace.

    `jacobians=False` skips ||dh_final/dh_t|| (NaN); `jacobian_sequences=n` computes it for
    the first n sequences only (the panels show sequence 0), the rest NaN.
    """
    cfg = model.config
    x_raw = batch.x
    with torch.no_grad():
        x = model.encode(x_raw)  # (B, T, I)
    spec = CELLS[cfg.cell]
    if spec.fused:
        y_hat, loss, layers = _record_fused(model, task, batch, x)
    else:
        y_hat, loss, layers = _record_explicit(model, task, batch, x)
    B, T = x_raw.shape[:2]
    n_jac = 0 if not jacobians else B if jacobian_sequences is None else min(jacobian_sequences, B)
    paths = cfg.layers * (2 if cfg.bidirectional else 1)
    # O(T H^3): the one part of a recording that could take minutes, so only where it fits
    jacobian = budget.jacobian_skip_reason(cfg.hidden, T, paths, n_jac) if n_jac else None
    if n_jac and not jacobian and cfg.cell not in STEP_COEFFICIENTS:
        jacobian = f"skipped: the recorder has no one-step Jacobian for the {spec.label} cell"
    if n_jac and not jacobian:
        jacobian = f"computed for the first {n_jac} of {B} sequences"
    else:
        jacobian, n_jac = jacobian or "skipped: not asked for", 0
    layers = [{**lt, "jacobian_norm": _jacobian_norms(cfg.cell, model, lt, n_jac)} for lt in layers]
    if not spec.gates:  # the Elman RNN: the one-step factor has a closed form
        layers = [{**lt, "step_factor": _rnn_step_factors(model, lt, n_jac)} for lt in layers]
    full_meta = {
        "cell": cfg.cell,
        "nonlinearity": cfg.nonlinearity if spec.nonlinearities else None,
        "hidden": cfg.hidden,
        "layers": cfg.layers,
        "bidirectional": cfg.bidirectional,
        "encoder": cfg.resolved_encoder,
        "task": task.name,
        "task_shape": task.shape,
        "task_kind": task.kind,
        "loss_definition": task.loss_definition,
        "jacobian_norm": "spectral norm of d h_final / d h_t (final = T-1 forward, 0 reverse)",
        "jacobian": jacobian,  # "skipped: …" says why jacobian_norm is NaN
        "input_vocab": list(task.input_vocab) if task.input_vocab else None,
        "output_vocab": list(task.output_vocab) if task.output_vocab else None,
        "seed": cfg.seed,
        "version": rnnviz.__version__,
        **(meta or {}),
    }
    return Trace(
        meta=MappingProxyType(full_meta),
        x=frozen_array(x),
        x_raw=frozen_array(x_raw),
        y=frozen_array(batch.y),
        y_hat=frozen_array(y_hat),
        loss=float(loss),
        loss_mask=frozen_array(batch.mask),
        layers=tuple(
            LayerTrace(
                layer=lt["layer"],
                reverse=lt["reverse"],
                h=frozen_array(lt["h"]),
                grad_h=frozen_array(lt["grad_h"]),
                jacobian_norm=frozen_array(lt["jacobian_norm"]),
                gates=MappingProxyType({g: frozen_array(lt[g]) for g in spec.gate_names}),
                preact=frozen_array(lt["a"]) if "a" in lt else None,
                c=frozen_array(lt["c"]) if "c" in lt else None,
                step_factor=frozen_array(lt["step_factor"]) if "step_factor" in lt else None,
                grad_c=frozen_array(lt["grad_c"]) if "grad_c" in lt else None,
            )
            for lt in layers
        ),
        params=MappingProxyType(
            {n.removeprefix("rnn."): frozen_array(p) for n, p in model.named_parameters()}
        ),
    )


# --------------------------------------------------------------------------- fused path


@functools.lru_cache(maxsize=32)
def _template(
    cls: type, input_size: int, hidden: int, bidirectional: bool, nonlin: str, device: str
) -> nn.Module:
    """A one-layer fused module whose parameters functional_call replaces on every use."""
    kwargs = {"nonlinearity": nonlin} if cls is nn.RNN else {}
    return cls(input_size, hidden, 1, batch_first=True, bidirectional=bidirectional, **kwargs).to(
        device
    )


def _record_fused(model: RecurrentModel, task: Task, batch: Batch, x: Tensor):
    cfg, rnn = model.config, model.rnn
    G, H, D = len(CELLS[cfg.cell].blocks), cfg.hidden, model.directions
    layer_in, inputs, outs, us = x, [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cuDNN's "weights not contiguous" note on GPUs
        for k in range(cfg.layers):
            B, T, In = layer_in.shape
            u = layer_in.new_zeros(B, T, D * G * H, requires_grad=True)  # (B, T, D*G*H)
            eye = torch.eye(D * G * H, device=x.device, dtype=x.dtype)
            params = {}
            for d, s in enumerate(("", "_reverse")[:D]):
                w_ih = getattr(rnn, f"weight_ih_l{k}{s}").detach()
                params[f"weight_ih_l0{s}"] = torch.cat([w_ih, eye[d * G * H : (d + 1) * G * H]], 1)
                for name in ("weight_hh", "bias_ih", "bias_hh"):
                    params[f"{name}_l0{s}"] = getattr(rnn, f"{name}_l{k}{s}").detach()
            tmpl = _template(
                type(rnn), In + D * G * H, H, cfg.bidirectional, cfg.nonlinearity, str(x.device)
            )
            out, _ = functional_call(tmpl, params, (torch.cat([layer_in, u], -1),))
            out.retain_grad()
            inputs.append(layer_in.detach())
            outs.append(out)
            us.append(u)
            layer_in = out
        head = {n: p.detach() for n, p in model.head.named_parameters()}
        y_hat = functional_call(model.head, head, (layer_in,))  # (B, T, O)
        loss = task.loss(y_hat, batch.y, batch.mask)
        loss.backward()

    layers = []
    with torch.no_grad():
        for k in range(cfg.layers):
            for d in range(D):
                rev = d == 1
                s = "_reverse" if rev else ""
                sl = slice(d * H, (d + 1) * H)
                gsl = slice(d * G * H, (d + 1) * G * H)
                rec = _fused_layer(
                    cfg.cell,
                    cfg.nonlinearity,
                    inp=_order(inputs[k], rev),
                    h=_order(outs[k].detach()[..., sl], rev),
                    e=_order(outs[k].grad[..., sl], rev),
                    ga=_order(us[k].grad[..., gsl], rev),
                    w_ih=getattr(rnn, f"weight_ih_l{k}{s}").detach(),
                    w_hh=getattr(rnn, f"weight_hh_l{k}{s}").detach(),
                    b_ih=getattr(rnn, f"bias_ih_l{k}{s}").detach(),
                    b_hh=getattr(rnn, f"bias_hh_l{k}{s}").detach(),
                )
                layers.append(
                    {"layer": k, "reverse": rev, **{n: _order(v, rev) for n, v in rec.items()}}
                )
    return y_hat.detach(), loss.detach(), layers


def _order(a: Tensor, reverse: bool) -> Tensor:
    """Time in processing order: a reverse direction reads t = T-1 … 0."""
    return torch.flip(a, (1,)) if reverse else a


def _prev(h: Tensor) -> Tensor:
    """h_{t-1} in processing order, with h_{-1} = 0.  (B, T, H) -> (B, T, H)."""
    return torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], 1)


def _next(a: Tensor) -> Tensor:
    """a_{t+1} in processing order, with zero after the last step."""
    return torch.cat([a[:, 1:], torch.zeros_like(a[:, :1])], 1)


def _scan(a: Tensor, b: Tensor, backward: bool) -> Tensor:
    """y_t = a_t * y_{t-1} + b_t (or y_t = a_t * y_{t+1} + b_t backward), y = 0 outside.

    An element-wise recurrence along T, run in numpy where a step costs about a microsecond.
    """
    a_np, b_np = a.cpu().numpy(), b.cpu().numpy()
    y = np.empty_like(b_np)
    acc = np.zeros_like(b_np[:, 0])
    with np.errstate(over="ignore", invalid="ignore"):  # as torch: inf/nan propagate silently
        for t in reversed(range(b_np.shape[1])) if backward else range(b_np.shape[1]):
            np.multiply(a_np[:, t], acc, out=acc)
            acc += b_np[:, t]
            y[:, t] = acc
    return torch.from_numpy(y).to(a.device)


def _fused_layer(cell, nonlin, *, inp, h, e, ga, w_ih, w_hh, b_ih, b_hh) -> dict[str, Tensor]:
    """Per-step values of one direction from its fused pass, all in processing order.

    inp (B, T, In) layer input, h (B, T, H) hidden states, e (B, T, H) direct dL/dh_t,
    ga (B, T, G*H) total dL/d(gate pre-activation).
    """
    H = h.shape[-1]
    hp = _prev(h)
    gi = inp @ w_ih.T + b_ih  # (B, T, G*H)
    gh = hp @ w_hh.T + b_hh  # (B, T, G*H)
    out: dict[str, Tensor] = {"h": h, "h_prev": hp}
    if cell == "rnn":
        out["a"] = gi + gh
        out["grad_h"] = e + _next(ga) @ w_hh
    elif cell == "lstm":
        ai, af, ag, ao = (gi + gh).chunk(4, -1)
        i, f, g, o = torch.sigmoid(ai), torch.sigmoid(af), torch.tanh(ag), torch.sigmoid(ao)
        c = _scan(f, i * g, backward=False)
        dh = e + _next(ga) @ w_hh
        out.update(i=i, f=f, g=g, o=o, c=c, c_prev=_prev(c), grad_h=dh)
        out["grad_c"] = _scan(_next(f), dh * o * (1 - torch.tanh(c) ** 2), backward=True)
    else:  # gru
        r = torch.sigmoid(gi[..., :H] + gh[..., :H])
        z = torch.sigmoid(gi[..., H : 2 * H] + gh[..., H : 2 * H])
        n = torch.tanh(gi[..., 2 * H :] + r * gh[..., 2 * H :])
        gn = _next(ga)
        gn_scaled = torch.cat([gn[..., : 2 * H], _next(r) * gn[..., 2 * H :]], -1)
        out.update(r=r, z=z, n=n, gh_n=gh[..., 2 * H :])
        out["grad_h"] = _scan(_next(z), e + gn_scaled @ w_hh, backward=True)
    return out


# ------------------------------------------------------------------------ explicit path


def _record_explicit(model: RecurrentModel, task: Task, batch: Batch, x: Tensor):
    cfg, rnn = model.config, model.rnn
    H, D = cfg.hidden, model.directions
    has_c = CELLS[cfg.cell].cell_state
    B, T = x.shape[:2]
    pert = {}
    for k in range(cfg.layers):
        for d in range(D):
            ph = x.new_zeros(B, T, H, requires_grad=True)
            pc = x.new_zeros(B, T, H, requires_grad=True) if has_c else None
            pert[(k, d == 1)] = (ph, pc)
    record: dict = {}
    with torch.enable_grad():
        out, _, _ = run_explicit(rnn, x, perturb=pert, record=record)
        y_hat = model.head(out)
        loss = task.loss(y_hat, batch.y, batch.mask)
        grads = torch.autograd.grad(
            loss, [t for pair in pert.values() for t in pair if t is not None]
        )
    it = iter(grads)
    layers = []
    for k, rev in pert:
        rec = {n: torch.stack(v, 1).detach() for n, v in record[(k, rev)].items()}
        lt = {"layer": k, "reverse": rev, **rec, "grad_h": next(it)}
        if has_c:
            # The perturbation of c_t enters after h_t = o_t tanh(c_t) was formed, so its
            # gradient is the part that flows back from step t+1; add the path through h_t.
            w_co = getattr(rnn, f"weight_ch_l{k}{'_reverse' if rev else ''}").detach()[2 * H :]
            o, tc = rec["o"], torch.tanh(rec["c"])
            lt["grad_c"] = next(it) + lt["grad_h"] * (o * (1 - tc**2) + tc * o * (1 - o) * w_co)
        layers.append(lt)
    return y_hat.detach(), loss.detach(), layers


# -------------------------------------------------------------------------- Jacobians


_POWER_STEPS = 3  # per t in the chain's loop: a few thin products, and fewer iterations later


def _jacobian_norms(
    cell: str, model: RecurrentModel, lt: dict[str, Tensor], sequences: int | None = None
) -> Tensor:
    """||dh_final/dh_t||_2 for every t, (B, T) float64, by the chain M_{t-1} = M_t J_t.

    M is the (B, H, H) Jacobian of the final hidden state w.r.t. h_t. One step back:

        RNN, GRU, simplified GRU   M_{t-1} = M_t J_t, with J_t = dh_t/dh_{t-1} (H, H)
        LSTM (and peephole)        K = M_t diag(dh_t/dc_t) + Mc_t
                                   M_{t-1} = K A_t + M_t D_t,   Mc_{t-1} = K diag(e_t)

    where Mc is the Jacobian w.r.t. c_t, A_t = sum over the gates i, f, g of diag(d gate
    term) W_block, D_t the same for the output gate, and e_t = dc_t/dc_{t-1} (the forget gate,
    plus the peephole terms). The per-step matrices are built for 128 steps at a time in
    batched operations, so each step of the loop is one matrix product ([K | M_t] [A_t; D_t]
    for the LSTM). Works in processing order. Only the first `sequences` sequences are
    computed (None: all); the others are NaN.

    The chain runs in float32 and is rescaled at every step (the scale is kept as a float64
    logarithm), so products of a thousand small or large factors neither underflow nor
    overflow. The norms of 128 steps at a time come from analysis.spectral_norms, exact to
    1e-4 relative: its iteration starts from a guess of M_t's top left singular vector that
    the loop refines by one power step per t (the running product changes slowly, and its
    top left singular vector settles as factors are appended on the right), so it costs a
    few thin products instead of a dense eigensolver per step. The chain is O(T H^3): the one
    part of a recording that cannot ride on the fused kernel.
    """
    rev = lt["reverse"]
    B_all = lt["h"].shape[0]
    n = B_all if sequences is None else max(0, min(sequences, B_all))
    if n == 0:
        return torch.full(lt["h"].shape[:2], float("nan"), dtype=torch.float64)
    suffix = f"_l{lt['layer']}{'_reverse' if rev else ''}"
    W = getattr(model.rnn, "weight_hh" + suffix).detach().float()  # (G*H, H)
    q = {k: _order(v[:n], rev).float() for k, v in lt.items() if isinstance(v, Tensor)}
    B, T, H = q["h"].shape
    blocks = W.view(-1, H, H)  # (G, H, H)
    coef = STEP_COEFFICIENTS[cell](model, q, suffix)  # name -> (B, T, H), processing order
    spec = CELLS[cell]
    # The output gate, last in torch's order, acts on h_t = o_t tanh(c_t), the others on c_t:
    # M_{t-1} = [K | M_t] [A_t; D_t], one product with the inner size 2H.
    parts = [list(enumerate(spec.blocks))]
    if spec.cell_state:
        parts = [parts[0][:-1], parts[0][-1:]]
    # The loop runs in numpy: its many small operations cost a microsecond there, several
    # in torch. The per-step matrices are built in torch, on the model's device.
    KM = np.zeros((B, H, len(parts) * H), dtype=np.float32)  # [K | M_t], or M_t alone
    KM[:, :, -H:] = np.eye(H, dtype=np.float32)  # M_{T-1} = I
    Mc = np.zeros((B, H, H) if spec.cell_state else (B, 1, 1), dtype=np.float32)  # dh/dc_t
    u = np.full((B, H, 1), H**-0.5, dtype=np.float32)  # top left singular vector of M_t
    log_scale = np.zeros(B)
    chunks = [np.ones((B, 1))]  # t = T-1: ||I|| = 1
    for hi in range(T - 1, 0, -128):  # steps t = hi … lo give M_{t-1}
        lo = max(1, hi - 127)
        ts = slice(lo, hi + 1)
        step = _np(_step_matrices(coef, blocks, parts, ts))  # (B, n, P*H, H)
        if spec.cell_state:
            dhdc, e = _np(coef["dhdc"][:, ts]), _np(coef["e"][:, ts])
        chain = np.empty((B, hi - lo + 1, H, H), dtype=np.float32)
        guess = np.empty((B, hi - lo + 1, H, 1), dtype=np.float32)
        scales = np.empty((B, hi - lo + 1))
        with np.errstate(over="ignore", invalid="ignore"):  # as torch: inf/nan propagate
            for j, k in enumerate(range(hi - lo, -1, -1)):  # t = lo + k, from hi down to lo
                M = chain[:, j]  # (B, H, H), written in place
                if spec.cell_state:
                    K = KM[:, :, :H]  # K = M_t diag(dh_t/dc_t) + Mc_t
                    np.multiply(KM[:, :, H:], dhdc[:, k, None, :], out=K)
                    K += Mc
                    np.multiply(K, e[:, k, None, :], out=Mc)
                np.matmul(KM, step[:, k], out=M)
                # rescale: largest entry 1; zero (a dead ReLU chain) and non-finite stay
                s = np.maximum(np.abs(M).max((1, 2)), np.abs(Mc).max((1, 2)))  # (B,)
                s[~((s > 0) & np.isfinite(s))] = 1.0
                M /= s[:, None, None]
                Mc /= s[:, None, None]
                log_scale = log_scale + np.log(s)
                KM[:, :, -H:] = M
                scales[:, j] = log_scale
                # power steps on M M^T keep the guess for spectral_norms' iteration; M's
                # largest entry is 1, so a few unnormalised steps stay within float32
                v = u
                for _ in range(_POWER_STEPS):
                    v = M @ (np.swapaxes(M, 1, 2) @ v)  # (B, H, 1)
                nv = np.linalg.norm(v, axis=1, keepdims=True)
                u = guess[:, j] = np.where((nv > 0) & np.isfinite(nv), v / nv, u)
        with np.errstate(over="ignore"):
            chunks.append(spectral_norms(chain, guess) * np.exp(scales))
    norms = torch.from_numpy(np.concatenate(chunks, 1)[:, ::-1].copy())  # (n, T), t = 0 … T-1
    if n < B_all:
        pad = torch.full((B_all - n, T), float("nan"), dtype=torch.float64, device=norms.device)
        norms = torch.cat([norms, pad])
    return _order(norms, rev)


def _step_matrices(coef: dict, blocks: Tensor, parts: list, ts: slice) -> Tensor:
    """The one-step matrices of steps `ts`, (B, n, P*H, H): for each part, the sum over its
    gate blocks of diag(coef_t) W_block (plus the carry diag(z_t) of a GRU), stacked."""
    B, n, H = coef[parts[0][0][1]][:, ts].shape
    out = torch.empty(B, n, len(parts), H, H, dtype=blocks.dtype, device=blocks.device)
    for p, names in enumerate(parts):
        torch.mul(coef[names[0][1]][:, ts, :, None], blocks[names[0][0]], out=out[:, :, p])
        for g, k in names[1:]:
            out[:, :, p].addcmul_(coef[k][:, ts, :, None], blocks[g])
    if "carry" in coef:  # the GRU's direct path z_t h_{t-1}
        out[:, :, 0].diagonal(dim1=-2, dim2=-1).add_(coef["carry"][:, ts])
    return out.view(B, n, len(parts) * H, H)


def _np(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


# The diagonal coefficients of each step's Jacobian, (B, T, H) each (see _jacobian_norms):
# d(cell output)/d(pre-activation of each gate block, named as CellSpec.blocks), the direct
# carry, dh/dc and dc/dc_prev. Derived by hand per cell: a cell without an entry here is
# recorded without ||dh_T/dh_t|| (meta["jacobian"] says so) rather than with a wrong one.


def _rnn_coefficients(model: RecurrentModel, q: dict, suffix: str) -> dict:
    a = q["a"]  # one block, h = f(a)
    tanh = model.config.nonlinearity == "tanh"
    return {"h": 1 - torch.tanh(a) ** 2 if tanh else (a > 0).float()}


def _lstm_coefficients(model: RecurrentModel, q: dict, suffix: str) -> dict:
    i, f, g, o, c = (q[k] for k in ("i", "f", "g", "o", "c"))
    cp = q.get("c_prev", _prev(c))
    tc = torch.tanh(c)
    do = o * (1 - o)
    out = {
        "i": g * i * (1 - i),
        "f": cp * f * (1 - f),
        "g": i * (1 - g**2),
        "o": tc * do,
        "dhdc": o * (1 - tc**2),
        "e": f,
    }
    if CELLS[model.config.cell].peephole:  # the gates also see c: paths c -> i, f and c_t -> o
        w_ci, w_cf, w_co = getattr(model.rnn, "weight_ch" + suffix).detach().float().chunk(3)
        out["dhdc"] = out["dhdc"] + tc * do * w_co
        out["e"] = f + out["f"] * w_cf + out["i"] * w_ci
    return out


def _gru_coefficients(model: RecurrentModel, q: dict, suffix: str) -> dict:
    z, n, r, ghn = q["z"], q["n"], q["r"], q["gh_n"]
    hp = q.get("h_prev", _prev(q["h"]))
    dn = (1 - z) * (1 - n**2)
    return {"carry": z, "r": dn * ghn * r * (1 - r), "z": (hp - n) * z * (1 - z), "n": dn * r}


def _simple_gru_coefficients(model: RecurrentModel, q: dict, suffix: str) -> dict:
    z, n = q["z"], q["n"]
    hp = q.get("h_prev", _prev(q["h"]))
    return {"carry": z, "z": (hp - n) * z * (1 - z), "n": (1 - z) * (1 - n**2)}


STEP_COEFFICIENTS: dict[str, Callable[[RecurrentModel, dict, str], dict]] = {
    "rnn": _rnn_coefficients,
    "lstm": _lstm_coefficients,
    "peephole-lstm": _lstm_coefficients,
    "gru": _gru_coefficients,
    "simple-gru": _simple_gru_coefficients,
}


def _rnn_step_factors(model: RecurrentModel, lt: dict, sequences: int | None) -> np.ndarray:
    """||diag(f'(a_t)) W_hh||_2, the norm of each one-step Jacobian of the Elman RNN, for
    every t of the first `sequences` sequences (B, T); the rest NaN."""
    B, T, _ = lt["a"].shape
    n = B if sequences is None else max(0, min(sequences, B))
    out = np.full((B, T), np.nan)
    suffix = f"_l{lt['layer']}{'_reverse' if lt['reverse'] else ''}"
    w_hh = _np(getattr(model.rnn, "weight_hh" + suffix))
    out[:n] = rnn_step_jacobian_norms(_np(lt["a"][:n]), w_hh, model.config.nonlinearity)
    return out
