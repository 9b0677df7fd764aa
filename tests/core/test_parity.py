"""The numbers on screen are the true numbers.

- the explicit cells (cells.py via run_explicit) reproduce torch.nn.RNN/LSTM/GRU: outputs,
  final states and every parameter gradient, on identical weights;
- the fast recorder's gates, states and total gradients dL/dh_t, dL/dc_t equal an independent
  autograd computation (zero perturbations added to every h_t, c_t in the explicit loop);
- ||dh_T/dh_t|| equals the spectral norm of autograd's Jacobian, and a^(T-t) for W_hh = a*I.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from rnnviz.core.cells import CellParams, peephole_lstm_step
from rnnviz.core.config import Config
from rnnviz.core.model import ExplicitRecurrent, RecurrentModel, run_explicit
from rnnviz.core.record import record_trace
from rnnviz.core.tasks import make_task

TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
SHAPES = [  # (layers, bidirectional, I, H, T, B)
    (1, False, 3, 5, 7, 2),
    (3, False, 4, 6, 5, 3),
    (2, True, 3, 4, 6, 2),
    (3, True, 2, 3, 4, 1),
]


def _torch_module(cell, nonlin, layers, bidir, I, H):
    kwargs = {"nonlinearity": nonlin} if cell == "rnn" else {}
    torch.manual_seed(1)
    return TORCH[cell](I, H, layers, batch_first=True, bidirectional=bidir, **kwargs)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "cell,nonlin", [("rnn", "tanh"), ("rnn", "relu"), ("lstm", ""), ("gru", "")]
)
def test_explicit_cells_match_torch(cell, nonlin, shape):
    layers, bidir, I, H, T, B = shape
    ref = _torch_module(cell, nonlin or "tanh", layers, bidir, I, H)
    x = torch.randn(B, T, I)
    D = 2 if bidir else 1
    h0 = torch.randn(layers * D, B, H)
    hx = (h0, torch.randn(layers * D, B, H)) if cell == "lstm" else h0
    out_ref, hn_ref = ref(x, hx)
    out, h_n, c_n = run_explicit(ref, x, hx=hx)
    torch.testing.assert_close(out, out_ref, rtol=1e-5, atol=1e-6)
    if cell == "lstm":
        torch.testing.assert_close(h_n, hn_ref[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(c_n, hn_ref[1], rtol=1e-5, atol=1e-6)
    else:
        torch.testing.assert_close(h_n, hn_ref, rtol=1e-5, atol=1e-6)
    # every parameter gradient
    w = torch.randn_like(out_ref)
    g_ref = torch.autograd.grad((out_ref * w).sum(), list(ref.parameters()))
    out2, _, _ = run_explicit(ref, x, hx=hx)
    g = torch.autograd.grad((out2 * w).sum(), list(ref.parameters()))
    for name, a, b in zip([n for n, _ in ref.named_parameters()], g, g_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, msg=name)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_weights_move_both_ways_with_load_state_dict(cell):
    cfg = Config(cell=cell, hidden=6, layers=2, bidirectional=True, task="sine")
    model = RecurrentModel(cfg, input_size=1, output_size=1)
    ref = _torch_module(cell, "tanh", 2, True, 1, 6)
    model.rnn.load_state_dict(ref.state_dict())
    x = torch.randn(2, 5, 1)
    torch.testing.assert_close(model.rnn(x)[0], ref(x)[0])
    ref2 = _torch_module(cell, "tanh", 2, True, 1, 6)
    ref2.load_state_dict(model.rnn.state_dict())
    torch.testing.assert_close(ref2(x)[0], ref(x)[0])


def _reference(model, batch):
    """Independent dL/dh_t, dL/dc_t and states: explicit loop + zero perturbations."""
    cfg = model.config
    x = model.encode(batch.x).detach()
    B, T = x.shape[:2]
    has_c = "lstm" in cfg.cell
    pert = {
        (k, d == 1): (
            torch.zeros(B, T, cfg.hidden, requires_grad=True),
            torch.zeros(B, T, cfg.hidden, requires_grad=True) if has_c else None,
        )
        for k in range(cfg.layers)
        for d in range(model.directions)
    }
    record = {}
    out, _, _ = run_explicit(model.rnn, x, perturb=pert, record=record)
    task = make_task(cfg)
    loss = task.loss(model.output(out, model.past_of(batch.x)), batch.y, batch.mask)
    flat = [t for pair in pert.values() for t in pair if t is not None]
    grads = dict(zip([id(t) for t in flat], torch.autograd.grad(loss, flat), strict=True))
    return loss, pert, record, grads


def _cfg_id(c: Config) -> str:
    return f"{c.cell}-L{c.layers}-bi{c.bidirectional}-{c.task}"


CONFIGS = [
    Config(cell="rnn", hidden=5, layers=1, task="sine", seq_len=9),
    Config(
        cell="rnn",
        nonlinearity="relu",
        hidden=4,
        layers=2,
        bidirectional=True,
        task="adding",
        seq_len=8,
    ),
    Config(cell="lstm", hidden=5, layers=3, task="copy", seq_len=11),
    Config(cell="lstm", hidden=4, layers=2, bidirectional=True, task="charlm", seq_len=7),
    Config(cell="gru", hidden=5, layers=2, task="adding", seq_len=10),
    Config(cell="gru", hidden=3, layers=2, bidirectional=True, task="sine", seq_len=6),
    Config(cell="peephole-lstm", hidden=4, layers=2, bidirectional=True, task="sine", seq_len=6),
    Config(cell="simple-gru", hidden=4, layers=2, task="copy", seq_len=8),
    # a melody: the lookback encoder, and the melody cache in every output
    Config(cell="lstm", hidden=5, layers=2, task="music", seq_len=24),
    Config(cell="peephole-lstm", hidden=4, layers=1, task="music", seq_len=16),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=_cfg_id)
def test_recorded_values_match_autograd(cfg):
    torch.manual_seed(3)
    task = make_task(cfg)
    model = RecurrentModel(cfg, task.input_size, task.output_size, task.note_parts)
    with torch.no_grad():  # larger weights than the default, so gates are not all near 0.5
        for p in model.rnn.parameters():
            p.mul_(2.5)
    batch = task.sample(3, torch.Generator().manual_seed(0))
    trace = record_trace(model, task, batch)
    loss, pert, record, grads = _reference(model, batch)
    assert trace.loss == pytest.approx(loss.item(), rel=1e-5)
    for (k, rev), (ph, pc) in pert.items():
        lt = trace.layer(k, rev)
        rec = {n: torch.stack(v, 1).detach().numpy() for n, v in record[(k, rev)].items()}
        # float32 rounding of pre-activations of up to ~10 (weights x2.5; a melody's note
        # vectors are sums of three rows), summed in two orders: ~1e-6 where they cancel
        np.testing.assert_allclose(lt.h, rec["h"], rtol=1e-5, atol=2e-6)
        for g in trace.gate_names:
            np.testing.assert_allclose(lt.gates[g], rec[g], rtol=1e-5, atol=2e-6, err_msg=g)
        np.testing.assert_allclose(lt.grad_h, grads[id(ph)].numpy(), rtol=1e-4, atol=1e-7)
        if pc is not None:
            np.testing.assert_allclose(lt.c, rec["c"], rtol=1e-5, atol=2e-6)
            # total dL/dc_t = (gradient from step t+1 on) + dL/dh_t * dh_t/dc_t
            o, tc = rec["o"], np.tanh(rec["c"])
            w_co = getattr(model.rnn, f"weight_ch_{lt.key}", torch.zeros(3 * cfg.hidden))
            dh_dc = o * (1 - tc**2) + tc * o * (1 - o) * w_co.detach().numpy()[2 * cfg.hidden :]
            expected = grads[id(pc)].numpy() + grads[id(ph)].numpy() * dh_dc
            np.testing.assert_allclose(lt.grad_c, expected, rtol=1e-4, atol=1e-7)
        # the recorded values are not trivially zero: this test can fail
        assert np.abs(lt.grad_h).max() > 1e-4


@pytest.mark.parametrize("cfg", CONFIGS, ids=_cfg_id)
def test_jacobian_norms_match_autograd(cfg):
    torch.manual_seed(4)
    task = make_task(cfg)
    model = RecurrentModel(cfg, task.input_size, task.output_size, task.note_parts)
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.mul_(2.0)
    batch = task.sample(2, torch.Generator().manual_seed(1))
    trace = record_trace(model, task, batch)
    x = model.encode(batch.x).detach()
    B, T = x.shape[:2]
    H, has_c = cfg.hidden, "lstm" in cfg.cell
    for k, rev in itertools.product(range(cfg.layers), (False, True)[: model.directions]):
        final = 0 if rev else T - 1

        def h_final(p, b, k=k, rev=rev, final=final):
            pert = {(k, rev): (p[None], torch.zeros(1, T, H) if has_c else None)}
            record = {}
            run_explicit(model.rnn, x[b : b + 1], perturb=pert, record=record)
            return record[(k, rev)]["h"][final][0]

        for b in range(B):
            J = torch.autograd.functional.jacobian(lambda p, b=b: h_final(p, b), torch.zeros(T, H))
            expected = torch.linalg.matrix_norm(J.permute(1, 0, 2), ord=2)  # (T,)
            np.testing.assert_allclose(
                trace.layer(k, rev).jacobian_norm[b], expected.numpy(), rtol=1e-4, atol=1e-6
            )


@pytest.mark.parametrize("a", [0.5, 0.9, 1.1])
def test_linear_rnn_jacobian_norm_is_a_power(a):
    """ReLU RNN kept in its linear region with W_hh = a*I: ||dh_T/dh_t|| = a^(T-t)."""
    T = 12
    cfg = Config(cell="rnn", nonlinearity="relu", hidden=4, task="adding", seq_len=T)
    task = make_task(cfg)
    model = RecurrentModel(cfg, task.input_size, task.output_size, task.note_parts)
    with torch.no_grad():
        model.rnn.weight_hh_l0.copy_(a * torch.eye(4))
        model.rnn.weight_ih_l0.fill_(0.5)
        model.rnn.bias_ih_l0.fill_(1.0)  # every pre-activation > 0: ReLU is the identity
        model.rnn.bias_hh_l0.zero_()
    batch = task.sample(2, torch.Generator().manual_seed(0))
    trace = record_trace(model, task, batch)
    t = np.arange(T)
    np.testing.assert_allclose(
        trace.layer(0).jacobian_norm, np.broadcast_to(a ** (T - 1 - t), (2, T)), rtol=1e-5
    )


def test_peephole_lstm_by_hand_and_reduces_to_lstm():
    # one unit, one input, numbers worked out directly from the equations
    s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    p = CellParams(
        weight_ih=torch.tensor([[0.5], [-0.3], [0.8], [0.2]]),
        weight_hh=torch.tensor([[0.1], [0.4], [-0.6], [0.3]]),
        bias_ih=torch.tensor([0.1, 0.2, 0.0, -0.1]),
        bias_hh=torch.zeros(4),
        weight_ch=torch.tensor([0.7, -0.5, 0.9]),
    )
    x, h, c = 1.5, 0.2, -0.4
    i = s(0.5 * x + 0.1 + 0.1 * h + 0.7 * c)
    f = s(-0.3 * x + 0.2 + 0.4 * h - 0.5 * c)
    g = np.tanh(0.8 * x - 0.6 * h)
    c_new = f * c + i * g
    o = s(0.2 * x - 0.1 + 0.3 * h + 0.9 * c_new)
    (h_t, c_t), gates = peephole_lstm_step(
        torch.tensor([[x]]), (torch.tensor([[h]]), torch.tensor([[c]])), p
    )
    assert float(c_t) == pytest.approx(c_new, rel=1e-6)
    assert float(h_t) == pytest.approx(o * np.tanh(c_new), rel=1e-6)
    assert float(gates["o"]) == pytest.approx(o, rel=1e-6)
    # with the peepholes at zero it is exactly torch's LSTM
    ref = _torch_module("lstm", "tanh", 2, True, 3, 4)
    rec = ExplicitRecurrent("peephole-lstm", 3, 4, 2, True)
    missing = rec.load_state_dict(ref.state_dict(), strict=False).missing_keys
    assert sorted(missing) == sorted(n for n, _ in rec.named_parameters() if "weight_ch" in n)
    with torch.no_grad():
        for n, w in rec.named_parameters():
            if "weight_ch" in n:
                w.zero_()
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(rec(x)[0], ref(x)[0], rtol=1e-5, atol=1e-6)


def test_irnn_initialisation_and_spectral_radius():
    cfg = Config(cell="rnn", nonlinearity="relu", init="identity", hidden=6, task="adding")
    model = RecurrentModel(cfg, 2, 1)
    torch.testing.assert_close(model.rnn.weight_hh_l0, torch.eye(6))
    assert not model.rnn.bias_ih_l0.any() and not model.rnn.bias_hh_l0.any()
    # IRNN with zero input keeps its state: h_t = relu(I h_{t-1}) = h_{t-1} for h >= 0
    h0 = torch.rand(1, 1, 6)
    out, _ = model.rnn(torch.zeros(1, 4, 2), h0)
    torch.testing.assert_close(out[0], h0[0].expand(4, 6))
    for cell in ("rnn", "lstm", "gru"):
        cfg = Config(cell=cell, hidden=8, spectral_radius=1.3, task="sine", forget_bias=1.0)
        rnn = RecurrentModel(cfg, 1, 1).rnn
        G = rnn.weight_hh_l0.shape[0] // 8
        for blk in rnn.weight_hh_l0.detach().view(G, 8, 8):
            assert torch.linalg.eigvals(blk).abs().max().item() == pytest.approx(1.3, rel=1e-5)
        if cell == "lstm":
            f_bias = rnn.bias_ih_l0[8:16] + rnn.bias_hh_l0[8:16]
            torch.testing.assert_close(f_bias, torch.ones(8))


def test_jacobian_norms_of_the_first_sequences_only():
    """The app records ||dh_T/dh_t|| for sequence 0 only: the same numbers, the rest NaN."""
    cfg = Config(cell="lstm", hidden=6, layers=2, bidirectional=True, task="sine", seq_len=15)
    task = make_task(cfg)
    torch.manual_seed(2)
    model = RecurrentModel(cfg, task.input_size, task.output_size, task.note_parts)
    batch = task.sample(3, torch.Generator().manual_seed(0))
    full = record_trace(model, task, batch)
    first = record_trace(model, task, batch, jacobian_sequences=1)
    for a, b in zip(full.layers, first.layers, strict=True):
        np.testing.assert_allclose(b.jacobian_norm[0], a.jacobian_norm[0], rtol=1e-6)
        assert np.isnan(b.jacobian_norm[1:]).all()
        np.testing.assert_array_equal(b.grad_h, a.grad_h)


def test_jacobian_norms_of_an_identity_relu_rnn():
    """IRNN at initialisation: W_hh = I, so every Jacobian is diagonal with repeated singular
    values (the case where a symmetric eigensolver can fail to converge); the norm is 1 while
    every unit stays active."""
    T = 300
    cfg = Config(
        cell="rnn", nonlinearity="relu", init="identity", hidden=16, seq_len=T, task="adding"
    )
    task = make_task(cfg)
    model = RecurrentModel(cfg, task.input_size, task.output_size, task.note_parts)
    with torch.no_grad():
        model.rnn.bias_ih_l0.fill_(1.0)  # every unit active: the Jacobians are exactly I
    trace = record_trace(model, task, task.sample(1, torch.Generator().manual_seed(0)))
    np.testing.assert_allclose(trace.layer(0).jacobian_norm[0], 1.0, rtol=1e-6)


def test_spectral_norm_falls_back_when_the_eigensolver_fails(monkeypatch):
    from rnnviz.core import analysis

    M = np.random.default_rng(0).normal(size=(2, 5, 6, 6)).astype(np.float32)
    M[1, 2, 0, 0] = np.nan  # a diverged step: its norm is NaN, the others are untouched
    expected = np.linalg.norm(np.nan_to_num(M).astype(np.float64), ord=2, axis=(-2, -1))
    expected[1, 2] = np.nan
    np.testing.assert_allclose(analysis.spectral_norms(M), expected, rtol=1e-5)

    def fail(*_a, **_k):
        raise np.linalg.LinAlgError("failed to converge")

    monkeypatch.setattr(np.linalg, "eigvalsh", fail)
    np.testing.assert_allclose(analysis.spectral_norms(M), expected, rtol=1e-5)


@pytest.mark.parametrize("T", [1, 2, 7, 64, 200])
@pytest.mark.parametrize("impl", ["scan", "_scan_torch"])  # numpy on the CPU, torch elsewhere
def test_the_recorders_scan_is_the_loop(T, impl):
    """timeaxis.scan (log2 T whole-tensor passes) against y_t = a_t y_{t-1} + b_t step by
    step forward, y_t = a_{t+1} y_{t+1} + b_t backward, with a factor 0 that must reset y
    exactly."""
    from rnnviz.core import timeaxis

    scan = getattr(timeaxis, impl)

    g = torch.Generator().manual_seed(T)
    a, b = torch.rand(2, T, 5, generator=g), torch.randn(2, T, 5, generator=g)
    a[0, T // 2] = 0.0
    for backward in (False, True):
        y, acc = torch.zeros_like(b), torch.zeros_like(b[:, 0])
        for t in reversed(range(T)) if backward else range(T):
            factor = (a[:, t + 1] if t + 1 < T else 0.0) if backward else a[:, t]
            acc = factor * acc + b[:, t]
            y[:, t] = acc
        torch.testing.assert_close(scan(a, b, backward), y, rtol=1e-5, atol=1e-6)
