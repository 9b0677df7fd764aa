"""cuDNN's rule, held on the CPU: on a GPU, torch's fused RNN kernels differentiate only a
forward made in training mode ("cudnn RNN backward can only be called in training mode").
Here a wrapper of the kernels makes an eval-mode pass's backward fail the same way, as if
every kernel were cuDNN's, and every kind of recording must still work (core/cudnn.py
says how; switching cuDNN off would not pass here, and is not how rnnviz does it)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from rnnviz.core.config import Config
from rnnviz.core.cudnn import exact_float32, fused_rnns_training
from rnnviz.core.train import Trainer

RULE = "cudnn RNN backward can only be called in training mode"


class _EvalModeBackward(torch.autograd.Function):
    """The identity, whose backward fails as cuDNN's does for an eval-mode pass."""

    @staticmethod
    def forward(ctx, t: Tensor) -> Tensor:
        return t.view_as(t)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        raise RuntimeError(RULE)


@pytest.fixture
def cudnn_rule(monkeypatch):
    """torch._VF's RNN kernels (which nn.RNN/LSTM/GRU and record_fused call) under the rule."""

    def strict(kernel):
        def run(*args):
            packed = isinstance(args[1], Tensor) and args[1].dim() == 1  # data, batch_sizes, …
            train = args[7 if packed else 6]
            out = kernel(*args)
            if train or not torch.is_grad_enabled():
                return out
            return tuple(_EvalModeBackward.apply(t) for t in out)

        return run

    for name in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
        monkeypatch.setattr(torch._VF, name, strict(getattr(torch._VF, name)))


def test_the_rule_bites_an_eval_mode_backward_and_spares_training_mode(cudnn_rule):
    lstm = nn.LSTM(3, 4, batch_first=True)
    x = torch.randn(2, 5, 3, requires_grad=True)
    lstm.eval()
    with pytest.raises(RuntimeError, match=RULE):
        lstm(x)[0].sum().backward()
    with fused_rnns_training(lstm):
        lstm(x)[0].sum().backward()
    assert not lstm.training  # back to eval
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_training_mode_computes_what_eval_mode_does_and_dropout_is_refused():
    gru = nn.GRU(3, 4, num_layers=2, batch_first=True).eval()
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        before = gru(x)[0]
        with fused_rnns_training(nn.Sequential(gru)):
            assert gru.training
            during = gru(x)[0]
    torch.testing.assert_close(during, before, rtol=0, atol=0)
    with (
        pytest.raises(ValueError, match="dropout"),
        fused_rnns_training(nn.LSTM(3, 4, 2, dropout=0.5)),
    ):
        pass


@pytest.mark.parametrize(
    "cell, task, computed",
    [
        ("rnn", "adding", ()),  # the fused recording (record_fused)
        ("lstm", "charlm", ("connectivity", "grad_items")),  # a language model's extras
        ("gru", "charlm", ("connectivity", "grad_items")),
        ("lstm", "sentiment", ("attribution",)),  # the decision panels (attribution.py)
        ("gru", "reverse", ()),  # an encoder-decoder (seq2seq/record.py)
    ],
)
def test_every_recording_differentiates_under_the_rule(cudnn_rule, cell, task, computed):
    trainer = Trainer(Config(cell=cell, task=task, hidden=8, seq_len=20, batch=4, seed=0))
    assert trainer.train_step()  # training mode: untouched by the rule
    trace = trainer.record()  # eval mode, as on a GPU
    assert all(np.isfinite(lt.grad_h).all() for lt in trace.layers)
    for extra in computed:  # recorded, not skipped
        assert not trace.meta[extra].startswith("skipped"), trace.meta[extra]
    assert not trainer.model.rnn.training  # what the recording switched, it switched back


def test_exact_float32_turns_tf32_off_for_cudnn(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)  # torch's default
    exact_float32()
    assert torch.backends.cudnn.allow_tf32 is False
