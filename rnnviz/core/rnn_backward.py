"""Backward passes through torch's fused RNN kernels, whatever mode the model is in.

cuDNN differentiates an RNN only through a forward made in training mode ("cudnn RNN
backward can only be called in training mode"), and the recorder differentiates models it
has put in eval mode. rnnviz's stacks have no dropout, so training mode computes the same
numbers: the fused kernel that record_fused calls directly gets train=True, and where a
model's own modules run, `fused_rnns_training` puts its nn.RNN/LSTM/GRU modules in training
mode for the duration. (Switching cuDNN off instead, torch.backends.cudnn.flags, is
process-wide: training on another thread would lose cuDNN too, and two recordings at once
could leave it switched off.) On the CPU either mode differentiates; tests/core/
test_rnn_backward.py holds every recording to cuDNN's rule there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def fused_rnns_training(model: nn.Module) -> Iterator[None]:
    """`model`'s fused RNN modules (nn.RNNBase) in training mode inside the block, each back
    to its own mode after it. A module with dropout would compute other numbers in training
    mode: ValueError (none of rnnviz's has any)."""
    rnns = [m for m in model.modules() if isinstance(m, nn.RNNBase)]
    if any(m.dropout for m in rnns):
        raise ValueError("an RNN with dropout cannot be differentiated in training mode")
    modes = [m.training for m in rnns]
    try:
        for m in rnns:
            m.train(True)
        yield
    finally:
        for m, mode in zip(rnns, modes, strict=True):
            m.train(mode)
