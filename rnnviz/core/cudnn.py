"""What rnnviz asks of cuDNN, the kernels torch's nn.RNN/LSTM/GRU run on NVIDIA GPUs.

Exact float32. cuDNN's RNN kernels may use TF32 tensor cores (a 10-bit mantissa) unless told
not to, and torch allows it by default; the recorder rebuilds the gates in float32 from the
states those kernels return, and a trace's numbers are to be the true ones (the CPU's, to
float32's rounding). `exact_float32` turns TF32 off for cuDNN: the Trainer calls it when it
trains on CUDA. It sets the legacy flag, torch.backends.cudnn.allow_tf32, which every torch
rnnviz supports reads; setting the newer per-operator torch.backends.cudnn.rnn.fp32_precision
instead made any later read of the legacy flag raise (torch 2.13: "a mix of the legacy and
new APIs").

Backward passes in any mode. cuDNN differentiates an RNN only through a forward made in
training mode ("cudnn RNN backward can only be called in training mode"), and the recorder
differentiates models it has put in eval mode. rnnviz's stacks have no dropout, so training
mode computes the same numbers: the fused kernel that record_fused calls directly gets
train=True, and where a model's own modules run, `fused_rnns_training` puts its
nn.RNN/LSTM/GRU modules in training mode for the duration. (Switching cuDNN off instead,
torch.backends.cudnn.flags, is process-wide: training on another thread would lose cuDNN too,
and two recordings at once could leave it switched off.) On the CPU either mode
differentiates; tests/core/test_cudnn.py holds every recording to cuDNN's rule there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def exact_float32() -> None:
    """cuDNN in IEEE float32 from now on, in this process: no TF32."""
    torch.backends.cudnn.allow_tf32 = False


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
