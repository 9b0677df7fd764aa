"""A word task's trace passes the same independent checks as the other tasks, with padding:
the recorded states, gates, loss, dL/dh_t, dL/dc_t and ||dh_final/dh_t|| of a padded batch
equal autograd's through the explicit loop that skips padding (run_explicit with lengths,
zero perturbations on every h_t and c_t), where the final step is each sentence's last word."""

import itertools

import numpy as np
import pytest
import torch

from rnnviz.core.config import Config
from rnnviz.core.model import build_model, run_explicit
from rnnviz.core.record_words import record_batch
from rnnviz.core.tasks import make_task
from rnnviz.core.tasks.vocab import sentence_lengths

CONFIGS = [
    Config(task="sentiment", cell="lstm", hidden=4, layers=2, bidirectional=True, embed_dim=3),
    Config(task="sentiment", cell="gru", hidden=5, bidirectional=True, embed_dim=3),
    Config(task="tagging", cell="peephole-lstm", hidden=3, bidirectional=True, embed_dim=3),
    Config(task="tagging", cell="rnn", hidden=4, layers=2, embed_dim=3),
]


def setup(cfg: Config, seed: int):
    task = make_task(cfg)
    torch.manual_seed(seed)
    model = build_model(cfg, task.input_size, task.output_size)
    with torch.no_grad():  # larger weights than the default, so gates are not all near 0.5
        for p in model.rnn.parameters():
            p.mul_(2.5)
    batch = task.sample(4, torch.Generator().manual_seed(seed))
    n = sentence_lengths(batch.x)
    assert len(set(n.tolist())) > 1, "the batch must hold padding"
    return task, model, batch, n


def perturbations(cfg: Config, B: int, T: int, directions: int):
    has_c = "lstm" in cfg.cell
    return {
        (k, d == 1): (
            torch.zeros(B, T, cfg.hidden, requires_grad=True),
            torch.zeros(B, T, cfg.hidden, requires_grad=True) if has_c else None,
        )
        for k in range(cfg.layers)
        for d in range(directions)
    }


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.task}-{c.cell}-bi{c.bidirectional}")
def test_padded_trace_matches_autograd(cfg):
    task, model, batch, n = setup(cfg, 3)
    trace = record_batch(model, task, batch)
    x = model.encode(batch.x).detach()
    B, T = batch.x.shape
    pert = perturbations(cfg, B, T, model.directions)
    record = {}
    out, _, _ = run_explicit(model.rnn, x, perturb=pert, record=record, lengths=n)
    loss = task.loss(model.head(out), batch.y, batch.mask)
    flat = [t for pair in pert.values() for t in pair if t is not None]
    grads = dict(zip([id(t) for t in flat], torch.autograd.grad(loss, flat), strict=True))
    assert trace.loss == pytest.approx(loss.item(), rel=1e-5)
    data = trace.input_mask > 0  # (B, T)
    np.testing.assert_array_equal(data.sum(1), n.numpy())
    y_hat = model(batch.x).detach().numpy()
    np.testing.assert_allclose(trace.y_hat[data], y_hat[data], rtol=1e-5, atol=1e-6)
    for (k, rev), (ph, pc) in pert.items():
        lt = trace.layer(k, rev)
        rec = {name: torch.stack(v, 1).detach().numpy() for name, v in record[(k, rev)].items()}
        np.testing.assert_allclose(lt.h[data], rec["h"][data], rtol=1e-5, atol=1e-6)
        for g in trace.gate_names:
            np.testing.assert_allclose(lt.gates[g][data], rec[g][data], rtol=1e-5, atol=1e-6)
        # every step, padding included: nothing flows into or out of a padded step
        np.testing.assert_allclose(lt.grad_h, grads[id(ph)].numpy(), rtol=1e-4, atol=1e-7)
        assert np.abs(lt.grad_h[data]).max() > 1e-4  # not trivially zero: this can fail
        if pc is not None:
            np.testing.assert_allclose(lt.c[data], rec["c"][data], rtol=1e-5, atol=1e-6)
            o, tc = rec["o"], np.tanh(rec["c"])
            w_co = getattr(model.rnn, f"weight_ch_{lt.key}", torch.zeros(3 * cfg.hidden))
            dh_dc = o * (1 - tc**2) + tc * o * (1 - o) * w_co.detach().numpy()[2 * cfg.hidden :]
            expected = grads[id(pc)].numpy() + grads[id(ph)].numpy() * dh_dc
            np.testing.assert_allclose(lt.grad_c, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("cfg", CONFIGS[:3], ids=lambda c: f"{c.task}-{c.cell}")
def test_padded_jacobian_norms_end_at_the_last_word(cfg):
    task, model, batch, n = setup(cfg, 4)
    trace = record_batch(model, task, batch)
    x = model.encode(batch.x).detach()
    B, T = batch.x.shape
    H, has_c = cfg.hidden, "lstm" in cfg.cell
    for k, rev in itertools.product(range(cfg.layers), (False, True)[: model.directions]):
        for b in range(B):
            L = int(n[b])
            final = 0 if rev else L - 1  # the direction's last step of data

            def h_final(p, b=b, k=k, rev=rev, final=final):
                pert = {(k, rev): (p[None], torch.zeros(1, T, H) if has_c else None)}
                record = {}
                run_explicit(
                    model.rnn, x[b : b + 1], perturb=pert, record=record, lengths=n[b : b + 1]
                )
                return record[(k, rev)]["h"][final][0]

            J = torch.autograd.functional.jacobian(h_final, torch.zeros(T, H))  # (H, T, H)
            expected = torch.linalg.matrix_norm(J.permute(1, 0, 2)[:L], ord=2)  # (L,)
            got = trace.layer(k, rev).jacobian_norm[b]
            np.testing.assert_allclose(got[:L], expected.numpy(), rtol=1e-4, atol=1e-6)
            assert np.isnan(got[L:]).all()


@pytest.mark.parametrize(
    "cfg",
    [Config(task="sentiment", cell="lstm", hidden=5, embed_dim=3), CONFIGS[3]],
    ids=lambda c: f"{c.task}-{c.cell}",
)
def test_the_apps_recording_holds_the_full_recordings_values(cfg):
    """A forward-only model's sentences are recorded in one group but sequence 0 (whose
    ||dh_final/dh_t|| the app asks for): every value equals the per-length recording's."""
    task, model, batch, n = setup(cfg, 5)
    full = record_batch(model, task, batch)  # every sequence's norms: one group per length
    app = record_batch(model, task, batch, jacobian_sequences=1)
    assert app.loss == pytest.approx(full.loss, rel=1e-6)
    np.testing.assert_allclose(app.y_hat, full.y_hat, rtol=1e-5, atol=1e-6)
    pad = ~(full.input_mask > 0)
    for a, f in zip(app.layers, full.layers, strict=True):
        for name in ("h", "c", "grad_h", "grad_c", "preact", "grad_items"):
            if getattr(f, name) is not None:
                np.testing.assert_allclose(getattr(a, name), getattr(f, name), rtol=1e-5, atol=1e-6)
        for g in f.gates:
            np.testing.assert_allclose(a.gates[g], f.gates[g], rtol=1e-5, atol=1e-6)
            assert not a.gates[g][pad].any()  # nothing drawn at padding
        assert not a.h[pad].any()
        np.testing.assert_allclose(a.jacobian_norm[0], f.jacobian_norm[0], rtol=1e-5)
        assert np.isnan(a.jacobian_norm[1:]).all()
