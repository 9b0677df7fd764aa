"""Attribution by integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic Attribution
for Deep Networks"): how much each word of a sentence contributed to the model's decision.

With x_s the cell input of word s (its embedding, or one-hot vector), x' the baseline and f
the decision,

    A_s = (x_s − x'_s) · ∫₀¹ ∂f(x' + α (x − x')) / ∂x_s dα

Completeness: Σ_s A_s = f(x) − f(x') (the path integral of a gradient). Here

    x'   every word's input the zero vector: the <pad> embedding (tasks/vocab.py), a
         sentence of words that say nothing
    f    the log-odds of the class c the model decides for, z_c − log Σ_{k≠c} exp z_k
         (for two classes z_c − z_other), at the sentence's last word

so A_s > 0 pushed the decision towards c, A_s < 0 away from it. The integral is a
Gauss–Legendre quadrature over α, all its points one batch of one forward and backward pass
(the sentence cut to its length, so no padding is read); the number of points doubles from
MIN_STEPS until the sum is within COMPLETENESS of f(x) − f(x') (the integrand is as smooth as
tanh and the sigmoid, so a few dozen points suffice). The weights are detached: no weight
gradient is computed.

Shapes: T time (words), I cell input, O classes, A quadrature points.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from rnnviz.core.bow import BagOfWordsModel
from rnnviz.core.cudnn import fused_rnns_training

COMPLETENESS = 0.01  # |Σ A − (f(x) − f(x'))| within this share of |f(x) − f(x')|
FLOOR = 1e-3  # … or of this much log-odds, where f(x) − f(x') is near 0
MIN_STEPS, MAX_STEPS = 16, 256
BASELINE = "every word's input zero (a learned embedding's <pad>)"


@dataclass(frozen=True)
class Attribution:
    """Integrated gradients of one sentence (module docstring)."""

    values: np.ndarray  # (T,) A_s, float64
    target: int  # the class c whose log-odds f is
    f_input: float  # f(x)
    f_baseline: float  # f(x')
    steps: int  # quadrature points used

    @property
    def gap(self) -> float:
        """Σ A − (f(x) − f(x')): the quadrature's error (0 by completeness)."""
        return float(self.values.sum()) - (self.f_input - self.f_baseline)

    def describe(self) -> str:
        """One line for the trace's meta["attribution"]."""
        delta = self.f_input - self.f_baseline
        return (
            f"integrated gradients of the log-odds of class {self.target} from {BASELINE}, "
            f"{self.steps} steps: sum {self.values.sum():.4g}, f(x) - f(x') {delta:.4g}"
        )


def decision_logits(model: nn.Module, x: Tensor) -> Tensor:
    """The outputs (A, O) at the last step of the cell inputs x (A, T, I), no padding: what
    the many-to-one loss reads."""
    if isinstance(model, BagOfWordsModel):
        return model.head(x.mean(1))  # the bag of words: the mean of every word
    out, _ = model.rnn(x)  # (A, T, D*H)
    return model.head(out[:, -1])


def log_odds(z: Tensor, c: int) -> Tensor:
    """f = z_c − log Σ_{k≠c} exp z_k for logits z (…, O)."""
    others = torch.cat([z[..., :c], z[..., c + 1 :]], -1)
    return z[..., c] - torch.logsumexp(others, -1)


def integrated_gradients(
    model: nn.Module, x: Tensor, target: int | None = None, max_steps: int = MAX_STEPS
) -> Attribution:
    """A_s for the sentence whose cell inputs are x (T, I), data only (module docstring);
    `target` the class c, by default the one the model decides for; at most `max_steps`
    quadrature points (at least MIN_STEPS)."""
    saved = {p: p.requires_grad for p in model.parameters()}
    was_training = model.training
    model.eval()
    try:
        for p in saved:
            p.requires_grad_(False)
        with torch.enable_grad(), fused_rnns_training(model):  # cuDNN's rule (cudnn.py)
            return _integrate(model, x.detach(), target, max_steps)
    finally:
        for p, r in saved.items():
            p.requires_grad_(r)
        model.train(was_training)


def _integrate(model: nn.Module, x: Tensor, target: int | None, max_steps: int) -> Attribution:
    # The ends x' and x and the first two rules' nodes go through in one pass (most sentences
    # stop at one of those rules; a pass of one sentence costs about the same for 2 or 50
    # rows): each rule's values are those of its own pass, the rows being independent.
    sizes = [MIN_STEPS, 2 * MIN_STEPS] if 2 * MIN_STEPS <= max_steps else [MIN_STEPS]
    ends = None
    while True:
        rules = [_gauss_legendre(n) for n in sizes]  # nodes and weights on [-1, 1]
        alpha = np.concatenate([[0.0, 1.0], *((u + 1) / 2 for u, _ in rules)])  # (2 + A,)
        alpha = torch.as_tensor(alpha, dtype=x.dtype, device=x.device)
        path = (alpha[:, None, None] * x).requires_grad_(True)  # (2 + A, T, I): x' = 0
        logits = decision_logits(model, path)  # (2 + A, O)
        if ends is None:
            c = int(logits[1].argmax()) if target is None else target
            ends = [float(v) for v in log_odds(logits[:2].detach().cpu().double(), c)]
        f_base, f_in = ends
        delta = f_in - f_base
        (grad,) = torch.autograd.grad(log_odds(logits[2:], c).sum(), path)  # (2 + A, T, I)
        start = 2
        for n, (_, w) in zip(sizes, rules, strict=True):
            part = grad[start : start + n]  # (n, T, I)
            start += n
            mean_grad = torch.einsum("a,ati->ti", torch.as_tensor(w / 2).to(part), part)
            values = (x * mean_grad).sum(-1).cpu().double().numpy()  # (T,) (MPS: no float64)
            error = abs(values.sum() - delta)
            if error <= COMPLETENESS * max(abs(delta), FLOOR) or 2 * n > max_steps:
                return Attribution(values, c, f_in, f_base, n)
        sizes = [2 * sizes[-1]]


@functools.cache
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """numpy's n-point rule, kept: it solves an eigenproblem each time (1.6 ms of a 20 ms
    recording at 16 + 32 points)."""
    u, w = np.polynomial.legendre.leggauss(n)
    u.flags.writeable = w.flags.writeable = False  # shared by every call
    return u, w
