"""What every task shares: the batch, the one loss, the held-out stream and metrics.

The model outputs y_hat (B, T, O) at every timestep; a task says where the loss counts through
`mask` (B, T), so many-to-one and many-to-many tasks share one training loop and one loss,
`masked_loss`, with m = mask:

    regression:      L = sum_{b,t} m[b,t] * mean_o (y_hat[b,t,o] - y[b,t,o])^2 / sum_{b,t} m[b,t]
    classification:  L = sum_{b,t} m[b,t] * -ln softmax(y_hat[b,t])[y[b,t]] / sum_{b,t} m[b,t]

The held-out score is the same kind of masked mean of a per-step metric (the squared error,
the NLL, or 1 where the most likely class is the target) over sequences no training batch
holds: sampled tasks draw them from a stream of their own, HELDOUT_SEED, which no Config seed
reaches; the character LM holds out the end of its text.

Batches are generated on the CPU from a torch.Generator, so a seed fixes the data whatever the
device the model runs on; `Batch.to` moves them.

Shapes: B batch, T time, I_raw raw input features, O outputs (values or classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from rnnviz.core.tasks import TASKS, TaskSpec

if TYPE_CHECKING:
    from rnnviz.core.config import Config
    from rnnviz.core.note_parts import NoteParts

LOSS_DEFINITIONS = {
    "regression": "mean over (b,t) with mask=1 of the mean over outputs of (y_hat - y)^2",
    "classification": "mean over (b,t) with mask=1 of the cross-entropy -ln softmax(y_hat)[y] "
    "in nats",
}
# The held-out stream's seed: Config.validate keeps training seeds in [0, 2^63), and torch
# reads seeds modulo 2^64, so this one (torch's -1) is no training run's data stream.
HELDOUT_SEED = 2**64 - 1
# Held-out sequences: up to 1024, fewer for long ones (at most 2^18 scored steps in all).
HELDOUT_MAX_SEQUENCES, HELDOUT_MAX_STEPS = 1024, 2**18


@dataclass(frozen=True, eq=False)
class Batch:
    x: torch.Tensor  # (B, T) int64 symbol ids, or (B, T, I_raw) float32 real inputs
    y: torch.Tensor  # (B, T) int64 class ids, or (B, T, O) float32 regression targets
    mask: torch.Tensor  # (B, T) float32: 1.0 where the loss counts, else 0.0

    def to(self, device: torch.device | str) -> Batch:
        return Batch(self.x.to(device), self.y.to(device), self.mask.to(device))

    def __getitem__(self, rows: slice) -> Batch:
        return Batch(self.x[rows], self.y[rows], self.mask[rows])

    def __len__(self) -> int:
        return self.x.shape[0]


def per_step(metric: str, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A metric at every (b, t), before the mask: y_hat (B, T, O) -> (B, T).

    mse       mean over outputs of (y_hat - y)^2
    nll       cross-entropy -ln softmax(y_hat)[y], in nats
    accuracy  1.0 where the most likely class is y, else 0.0
    """
    if metric == "mse":
        return (y_hat - y).pow(2).mean(dim=-1)
    if metric == "nll":
        B, T, O = y_hat.shape
        return F.cross_entropy(y_hat.reshape(B * T, O), y.reshape(B * T), reduction="none").view(
            B, T
        )
    if metric == "accuracy":
        return (y_hat.argmax(dim=-1) == y).to(y_hat.dtype)
    raise ValueError(f"metric must be mse, nll or accuracy, got {metric!r}")


LOSS_METRIC = {"regression": "mse", "classification": "nll"}


def masked_loss(
    kind: str, y_hat: torch.Tensor, y: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The one loss every task uses (see the module docstring); y_hat (B, T, O) -> scalar."""
    if kind not in LOSS_METRIC:
        raise ValueError(f"loss kind must be regression or classification, got {kind!r}")
    return (per_step(LOSS_METRIC[kind], y_hat, y) * mask).sum() / mask.sum()


def heldout_sequences(seq_len: int) -> int:
    """How many held-out sequences of length `seq_len` a score uses."""
    return max(1, min(HELDOUT_MAX_SEQUENCES, HELDOUT_MAX_STEPS // seq_len))


class Task:
    """A source of batches plus what a viewer needs to label them. Subclasses set the fields;
    shape, kind and the held-out metric come from the task's TaskSpec."""

    name: str  # its key in TASKS
    input_size: int  # I_raw for real inputs, vocabulary size for symbol inputs
    output_size: int  # O: regression outputs or number of classes
    input_vocab: tuple[str, ...] | None = None  # label per input symbol id
    output_vocab: tuple[str, ...] | None = None  # label per output class
    chance_loss: float | None = None  # training loss of the best constant predictor
    unsampled_ids: tuple[int, ...] = ()  # output ids generation never draws (music's "|")
    contrast_temperatures: tuple[float, ...] = ()  # also sampled at these, side by side
    note_parts: NoteParts | None = None  # music: each symbol's pitch and length
    mask_rule: str  # where mask=1, completing loss_definition

    def __init__(self, seq_len: int) -> None:
        self.seq_len = seq_len  # T

    @classmethod
    def from_config(cls, config: Config) -> Task:
        return cls(config.seq_len)

    @property
    def spec(self) -> TaskSpec:
        return TASKS[self.name]

    @property
    def shape(self) -> str:
        return self.spec.shape

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def symbols_in(self) -> bool:
        return self.spec.symbols_in

    @property
    def loss_definition(self) -> str:
        return f"{LOSS_DEFINITIONS[self.kind]}, where mask=1 {self.mask_rule}"

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        """A batch of `batch` training sequences, determined by the generator's state."""
        raise NotImplementedError

    def model_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """What the model reads in training: the input x; an encoder-decoder also the targets."""
        return (batch.x,)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_loss(self.kind, y_hat, y, mask)

    def heldout(self) -> Batch:
        """Sequences no training batch holds (see the module docstring), the same every call."""
        gen = torch.Generator().manual_seed(HELDOUT_SEED)
        return self.sample(heldout_sequences(self.seq_len), gen)

    def heldout_baseline(self, batch: Batch) -> float:
        """The baseline's score on the held-out `batch` (TaskSpec.heldout.baseline says what)."""
        raise NotImplementedError

    def describe_input(self, x_raw_bt: Any) -> str:
        """Text for the raw input at one (b, t): a symbol id, or a vector (I_raw,)."""
        if self.symbols_in:
            return self.input_vocab[int(numpy(x_raw_bt))]
        return values_text(x_raw_bt)

    def describe_output(self, y_hat_bt: Any, y_bt: Any) -> str:
        """Text for the output (O,) against the target at one (b, t)."""
        if self.kind == "regression":
            return f"ŷ={values_text(y_hat_bt)}  y={values_text(y_bt)}"
        logits = numpy(y_hat_bt).reshape(-1).astype(np.float64)  # (O,)
        p = np.exp(logits - logits.max())  # stable softmax
        p /= p.sum()
        k = int(p.argmax())
        return f"'{self.output_vocab[k]}' (p={p[k]:.2f}), target '{self.output_vocab[int(y_bt)]}'"


def values_text(a: Any) -> str:
    return ", ".join(f"{v:.2f}" for v in numpy(a).reshape(-1))


def numpy(a: Any) -> np.ndarray:
    """A tensor (any device) or array-like as a numpy array."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)
