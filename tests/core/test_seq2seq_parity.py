"""The encoder-decoder's recording against an explicit step-by-step computation written here
from the equations (cells.step, the attention formulas), and its dL/dh_t and dL/dc_t of both
halves and dL/dc_t of the context vectors against autograd's gradients of the very states of
that computation."""

import numpy as np
import pytest
import torch

from rnnviz.core.cells import CELLS, step
from rnnviz.core.config import Config
from rnnviz.core.model import cell_params
from rnnviz.core.seq2seq.trace import Seq2SeqTrace
from rnnviz.core.tasks import make_task
from rnnviz.core.train import Trainer


def explicit_stack(rnn, cell, x, start=None):
    """Every layer, direction and step through cells.step; each state kept (and its gradient
    retained) so that autograd gives the total dL/dh_t. start: per layer (h0, c0) or None.
    Returns the top layer's outputs (B, T, D*H) and {(k, rev): {"h": [..], "c": [..]}}."""
    has_c, D = CELLS[cell].cell_state, 2 if rnn.bidirectional else 1
    B, T, _ = x.shape
    kept, layer_in = {}, x
    for k in range(rnn.num_layers):
        outs = []
        for d in range(D):
            p = cell_params(rnn, k, d == 1)
            h, c = start[k] if start else (x.new_zeros(B, rnn.hidden_size),) * 2
            hs, cs = [None] * T, [None] * T
            for t in reversed(range(T)) if d else range(T):
                state, _ = step(cell, "tanh", layer_in[:, t], (h, c) if has_c else h, p)
                h, c = state if has_c else (state, c)
                h.retain_grad()
                hs[t] = h
                if has_c:
                    c.retain_grad()
                    cs[t] = c
            kept[(k, d == 1)] = {"h": hs, "c": cs}
            outs.append(torch.stack(hs, 1))
        layer_in = torch.cat(outs, -1)
    return layer_in, kept


def additive(att, s_t, h):
    """e_j = v^T tanh(W_s s_t + W_h h_j), one j at a time."""
    W_s, W_h, v = att.query.weight, att.key.weight, att.v.weight[0]
    return torch.stack(
        [torch.tanh(s_t @ W_s.T + h[:, j] @ W_h.T) @ v for j in range(h.shape[1])], 1
    )


CASES = [
    # encoder cell, decoder cell, attention, layers, bidirectional
    ("lstm", "gru", "additive", 2, True),
    ("gru", "lstm", "dot", 1, False),
    ("peephole-lstm", "rnn", "none", 1, True),
    ("simple-gru", "peephole-lstm", "additive", 2, False),
    ("lstm", "rnn", "none", 2, True),  # fused: the top outputs reach the loss only via h_n
]


@pytest.mark.parametrize("cell, decoder_cell, attention, layers, bidirectional", CASES)
def test_recording_equals_the_explicit_computation_and_autograd(
    cell, decoder_cell, attention, layers, bidirectional
):
    cfg = Config(
        task="reverse",
        seq_len=5,
        cell=cell,
        decoder_cell=decoder_cell,
        attention=attention,
        layers=layers,
        bidirectional=bidirectional,
        hidden=4,
        embed_dim=3,
        probe_batch=3,
        device="cpu",
    )
    trainer = Trainer(cfg)
    for _ in range(5):  # weights away from their initial symmetry
        trainer.train_step()
    model, task, batch = trainer.model, trainer.task, trainer.probe_batch
    trace = trainer.record()
    assert isinstance(trace, Seq2SeqTrace)

    # The explicit computation, from the equations.
    x = model.encode(batch.x)
    enc_out, enc = explicit_stack(model.rnn, cell, x)
    D, L = 2 if bidirectional else 1, layers
    finals = []
    for k in range(L):
        ends = [enc[(k, d == 1)] for d in range(D)]
        h0 = torch.cat([e["h"][-1 if d == 0 else 0] for d, e in enumerate(ends)], -1)
        if CELLS[cell].cell_state:
            c0 = torch.cat([e["c"][-1 if d == 0 else 0] for d, e in enumerate(ends)], -1)
        else:
            c0 = torch.zeros_like(h0)
        finals.append((h0, c0))
    dec_x = model.dec_embed(model.decoder_inputs(batch.y))
    s, dec = explicit_stack(model.dec_rnn, decoder_cell, dec_x, start=finals)
    real = batch.x != 0
    logits, alphas, contexts = [], [], []
    for t in range(s.shape[1]):
        if attention == "none":
            logits.append(model.head(s[:, t]))
            continue
        e = additive(model.attention, s[:, t], enc_out) if attention == "additive" else None
        if attention == "dot":
            e = torch.stack([(s[:, t] * enc_out[:, j]).sum(-1) for j in range(enc_out.shape[1])], 1)
        w = torch.exp(e - e.max(1, keepdim=True).values) * real  # softmax over real inputs
        alpha = w / w.sum(1, keepdim=True)
        c = (alpha[..., None] * enc_out).sum(1)
        c.retain_grad()
        alphas.append(alpha)
        contexts.append(c)
        logits.append(model.head(torch.cat([s[:, t], c], -1)))
    y_hat = torch.stack(logits, 1)
    loss = task.loss(y_hat, batch.y, batch.mask)
    loss.backward()

    def close(recorded, expected, what):
        np.testing.assert_allclose(recorded, expected.detach().numpy(), atol=2e-5, err_msg=what)

    close(trace.y_hat, y_hat, "y_hat")
    assert trace.loss == pytest.approx(loss.item(), abs=1e-5)
    if attention == "none":
        assert trace.attn is None and "attn" not in trace.to_arrays()
        assert trace.grad_context is None and "grad_context" not in trace.to_arrays()
    else:
        close(trace.attn, torch.stack(alphas, 1), "attention")
        close(trace.context, torch.stack(contexts, 1), "context")
        close(trace.grad_context, torch.stack([c.grad for c in contexts], 1), "dL/dcontext")
        np.testing.assert_allclose(trace.attn.sum(-1), 1.0, atol=1e-6)
        assert (trace.attn.transpose(0, 2, 1)[~real.numpy()] == 0).all()  # none on <pad>
    for layers_traced, kept, c_cell in (
        (trace.layers, enc, cell),
        (trace.dec_layers, dec, decoder_cell),
    ):
        for lt in layers_traced:
            k = kept[(lt.layer, lt.reverse)]
            what = f"{'decoder' if kept is dec else 'encoder'} {lt.key}"
            close(lt.h, torch.stack(k["h"], 1), f"h of the {what}")
            close(lt.grad_h, torch.stack([h.grad for h in k["h"]], 1), f"dL/dh of the {what}")
            if CELLS[c_cell].cell_state:
                close(lt.c, torch.stack(k["c"], 1), f"c of the {what}")
                close(lt.grad_c, torch.stack([c.grad for c in k["c"]], 1), f"dL/dc of the {what}")


def test_trace_file_holds_both_halves_under_the_documented_keys(tmp_path):
    task = make_task(Config(task="dates"))
    trainer = Trainer(Config(task="dates", hidden=4, embed_dim=3, device="cpu", cell="lstm"))
    trace = trainer.record()
    path = tmp_path / "t.npz"
    trace.save_npz(path)
    with np.load(path) as z:
        keys = set(z.files)
        B, T, N = 4, task.out_len + 1, task.in_len
        assert z["attn"].shape == (B, T, N) and z["context"].shape == (B, T, 4)
        assert z["grad_context"].shape == (B, T, 4)
        assert z["y_hat"].shape == (B, T, task.output_size) and z["loss_mask"].shape == (B, T)
        assert z["tokens_in"].shape == (B, N) and z["tokens_out"].shape == (B, T)
        assert "".join(z["tokens_out"][0][:10]) == task.output_text(trainer.probe_batch.y[0])
    expected = {"h_l0", "c_l0", "gate_f_l0", "grad_h_l0", "grad_c_l0"}
    expected |= {"dec_" + k for k in expected} | {"dec_x", "param.dec_weight_hh_l0"}
    assert expected <= keys
    loaded = Seq2SeqTrace.load_npz(path)
    np.testing.assert_array_equal(loaded.dec_layers[0].grad_h, trace.dec_layers[0].grad_h)
    np.testing.assert_array_equal(loaded.attn, trace.attn)
    np.testing.assert_array_equal(loaded.grad_context, trace.grad_context)
    assert loaded.meta["attention"] == "additive" and loaded.meta["decoder_cell"] == "lstm"
