"""Built-in tasks: each generates batches (x, y, mask) and declares its shape, kind and loss.

The model outputs y_hat (B, T, O) at every timestep; a task says where the loss counts through
`mask` (B, T), so many-to-one and many-to-many tasks share one training loop and one loss,
`masked_loss`, with m = mask:

    regression:      L = sum_{b,t} m[b,t] * mean_o (y_hat[b,t,o] - y[b,t,o])^2 / sum_{b,t} m[b,t]
    classification:  L = sum_{b,t} m[b,t] * -ln softmax(y_hat[b,t])[y[b,t]] / sum_{b,t} m[b,t]

Tasks:
    sine    next-value prediction of a sine wave with random frequency and phase.
    adding  the adding problem (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory",
            experiment 4), in the formulation of Le, Jaitly & Hinton 2015, "A Simple Way to
            Initialize Recurrent Networks of Rectified Linear Units": sum two marked values.
    copy    the copy-memory task (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016,
            "Unitary Evolution Recurrent Neural Networks"): recall symbols after a delay.
    charlm  character-level language model (Karpathy 2015, "The Unreasonable Effectiveness of
            Recurrent Neural Networks") on a user's UTF-8 text or the bundled public-domain text.

Batches are generated on the CPU from a torch.Generator, so a seed fixes the data whatever the
device the model runs on; `Batch.to` moves them.

Shapes: B batch, T time, I_raw raw input features, O outputs (values or classes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rnnviz.core.config import TASKS, Config, ConfigError, check_text_file
from rnnviz.core.units import VISIBLE_LABELS

BUNDLED_TEXT = "alice_and_shakespeare.txt"  # in rnnviz.resources.text

LOSS_DEFINITIONS = {
    "regression": "mean over (b,t) with mask=1 of the mean over outputs of (y_hat - y)^2",
    "classification": "mean over (b,t) with mask=1 of the cross-entropy -ln softmax(y_hat)[y] "
    "in nats",
}


@dataclass(frozen=True, eq=False)
class Batch:
    x: torch.Tensor  # (B, T) int64 symbol ids, or (B, T, I_raw) float32 real inputs
    y: torch.Tensor  # (B, T) int64 class ids, or (B, T, O) float32 regression targets
    mask: torch.Tensor  # (B, T) float32: 1.0 where the loss counts, else 0.0

    def to(self, device: torch.device | str) -> Batch:
        return Batch(self.x.to(device), self.y.to(device), self.mask.to(device))


def masked_loss(
    kind: str, y_hat: torch.Tensor, y: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The one loss every task uses (see the module docstring); y_hat (B, T, O) -> scalar."""
    if kind == "regression":
        per_step = (y_hat - y).pow(2).mean(dim=-1)  # (B, T)
    elif kind == "classification":
        B, T, O = y_hat.shape
        per_step = F.cross_entropy(y_hat.reshape(B * T, O), y.reshape(B * T), reduction="none")
        per_step = per_step.view(B, T)  # (B, T)
    else:
        raise ValueError(f"loss kind must be regression or classification, got {kind!r}")
    return (per_step * mask).sum() / mask.sum()


class Task:
    """A source of batches plus what a viewer needs to label them. Subclasses set the fields."""

    name: str  # one of config.TASKS
    shape: str  # "many-to-many" or "many-to-one"
    kind: str  # "regression" or "classification"
    input_size: int  # I_raw for real inputs, vocabulary size for symbol inputs
    output_size: int  # O: regression outputs or number of classes
    symbols_in: bool  # True when x holds symbol ids
    input_vocab: tuple[str, ...] | None = None  # label per input symbol id
    output_vocab: tuple[str, ...] | None = None  # label per output class
    chance_loss: float | None = None  # loss of the best constant predictor
    mask_rule: str  # where mask=1, completing loss_definition

    def __init__(self, seq_len: int) -> None:
        self.seq_len = seq_len  # T

    @property
    def loss_definition(self) -> str:
        return f"{LOSS_DEFINITIONS[self.kind]}, where mask=1 {self.mask_rule}"

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        """A batch of `batch` sequences, determined by the generator's state."""
        raise NotImplementedError

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_loss(self.kind, y_hat, y, mask)

    def describe_input(self, x_raw_bt: Any) -> str:
        """Text for the raw input at one (b, t): a symbol id, or a vector (I_raw,)."""
        if self.symbols_in:
            return self.input_vocab[int(_numpy(x_raw_bt))]
        return _values(x_raw_bt)

    def describe_output(self, y_hat_bt: Any, y_bt: Any) -> str:
        """Text for the output (O,) against the target at one (b, t)."""
        if self.kind == "regression":
            return f"ŷ={_values(y_hat_bt)}  y={_values(y_bt)}"
        logits = _numpy(y_hat_bt).reshape(-1).astype(np.float64)  # (O,)
        p = np.exp(logits - logits.max())  # stable softmax
        p /= p.sum()
        k = int(p.argmax())
        return f"'{self.output_vocab[k]}' (p={p[k]:.2f}), target '{self.output_vocab[int(y_bt)]}'"


class SineTask(Task):
    """x_t = sin(w t + phi) with w ~ U[0.1, 0.4] rad/step and phi ~ U[0, 2 pi); y_t = x_{t+1}.

    Periods run from 16 to 63 steps, so a default sequence (T = 50) shows about one to three of
    them: enough for the network to read the frequency off the first few steps.
    """

    name, shape, kind = "sine", "many-to-many", "regression"
    input_size = output_size = 1
    symbols_in = False
    chance_loss = 0.5  # the constant 0; over a uniform phase E[sin^2] = 1/2 at every step
    mask_rule = "at every step"
    omega_range = (0.1, 0.4)

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        B, T = batch, self.seq_len
        lo, hi = self.omega_range
        omega = lo + (hi - lo) * torch.rand(B, 1, generator=gen)  # (B, 1)
        phase = 2 * math.pi * torch.rand(B, 1, generator=gen)  # (B, 1)
        t = torch.arange(T + 1, dtype=torch.float32)  # (T+1,)
        wave = torch.sin(omega * t + phase)  # (B, T+1)
        return Batch(wave[:, :-1, None], wave[:, 1:, None], torch.ones(B, T))


class AddingTask(Task):
    """x_t = (v_t, m_t): v_t ~ U[0, 1], m_t a marker with one 1 in each half; y = sum of the
    two marked v, scored only at the last step, when the network has seen both."""

    name, shape, kind = "adding", "many-to-one", "regression"
    input_size, output_size = 2, 1
    symbols_in = False
    # The sum of two U[0, 1] has mean 1 and variance 2/12, so the constant 1 scores MSE 1/6.
    chance_loss = 1 / 6
    mask_rule = "only at the last step t = T-1"

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        B, T = batch, self.seq_len
        rows = torch.arange(B)
        values = torch.rand(B, T, generator=gen)  # (B, T)
        first = torch.randint(0, T // 2, (B,), generator=gen)  # (B,) in the first half
        second = torch.randint(T // 2, T, (B,), generator=gen)  # (B,) in the second half
        markers = torch.zeros(B, T)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        total = values[rows, first] + values[rows, second]  # (B,)
        x = torch.stack([values, markers], dim=-1)  # (B, T, 2)
        y = total[:, None, None].expand(B, T, 1).contiguous()  # (B, T, 1)
        mask = torch.zeros(B, T)
        mask[:, -1] = 1.0
        return Batch(x, y, mask)

    def describe_input(self, x_raw_bt: Any) -> str:
        value, marker = _numpy(x_raw_bt).reshape(-1)
        return f"{value:.2f}, marker {int(marker)}"


class CopyTask(Task):
    """Input: n_copy data symbols, `delay` blanks, the delimiter ':', n_copy blanks. Output:
    blanks, then the n_copy data symbols during the last n_copy steps, where alone mask = 1.

    n_copy = min(5, (T-1) // 2) and delay = T - 2 n_copy - 1, so every T >= 4 fits. Output
    class ids equal input symbol ids (A..H = 0..7, blank = 8); the delimiter is never a target.
    """

    name, shape, kind = "copy", "many-to-many", "classification"
    input_vocab = (*"ABCDEFGH", "_", ":")
    output_vocab = input_vocab[:9]
    input_size, output_size = len(input_vocab), len(output_vocab)
    symbols_in = True
    # Guessing among the 8 data symbols; a constant predictor can push p(blank) to 0 only
    # in the limit, so ln 8 is the infimum.
    chance_loss = math.log(8)
    n_data, blank, delimiter = 8, 8, 9

    def __init__(self, seq_len: int) -> None:
        if seq_len < 4:
            raise ConfigError("the copy task needs a sequence length of at least 4")
        super().__init__(seq_len)
        self.n_copy = min(5, (seq_len - 1) // 2)
        self.delay = seq_len - 2 * self.n_copy - 1
        self.mask_rule = f"only at the last {self.n_copy} steps, where the symbols are recalled"

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        B, T, n = batch, self.seq_len, self.n_copy
        data = torch.randint(0, self.n_data, (B, n), generator=gen)  # (B, n)
        x = torch.full((B, T), self.blank, dtype=torch.int64)  # (B, T)
        x[:, :n] = data
        x[:, T - n - 1] = self.delimiter
        y = torch.full((B, T), self.blank, dtype=torch.int64)  # (B, T)
        y[:, T - n :] = data
        mask = torch.zeros(B, T)
        mask[:, T - n :] = 1.0
        return Batch(x, y, mask)


class CharLMTask(Task):
    """Predict the next character of random windows of a text; vocabulary = its characters."""

    name, shape, kind = "charlm", "many-to-many", "classification"
    symbols_in = True
    mask_rule = "at every step"

    def __init__(self, seq_len: int, text: str) -> None:
        if len(text) < seq_len + 1:
            raise ConfigError(
                f"text file has {len(text)} characters; "
                f"the sequence length {seq_len} needs at least {seq_len + 1}"
            )
        super().__init__(seq_len)
        self.chars = tuple(sorted(set(text)))
        self._ids = {c: i for i, c in enumerate(self.chars)}
        self.input_vocab = self.output_vocab = tuple(_label(c) for c in self.chars)
        self.input_size = self.output_size = len(self.chars)
        self.text = text
        self.ids = self.encode(text)  # (N,)
        # The best constant predictor is the unigram distribution; its loss is the entropy.
        p = torch.bincount(self.ids, minlength=len(self.chars)).double() / len(text)
        p = p[p > 0]
        self.chance_loss = float(-(p * p.log()).sum())

    def encode(self, s: str) -> torch.Tensor:
        """(len(s),) int64 ids; ValueError names a character the vocabulary lacks."""
        try:
            return torch.tensor([self._ids[c] for c in s], dtype=torch.int64)
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the text's vocabulary") from None

    def decode(self, ids: Any) -> str:
        return "".join(self.chars[i] for i in _numpy(ids).reshape(-1).tolist())

    def sample(self, batch: int, gen: torch.Generator) -> Batch:
        B, T = batch, self.seq_len
        starts = torch.randint(0, len(self.ids) - T, (B, 1), generator=gen)  # (B, 1)
        window = self.ids[starts + torch.arange(T + 1)]  # (B, T+1)
        return Batch(window[:, :-1], window[:, 1:], torch.ones(B, T))


def make_task(config: Config) -> Task:
    """The task config.task names, for sequences of length config.seq_len."""
    T = config.seq_len
    if config.task == "sine":
        return SineTask(T)
    if config.task == "adding":
        return AddingTask(T)
    if config.task == "copy":
        return CopyTask(T)
    if config.task == "charlm":
        text = bundled_text() if config.text is None else check_text_file(config.text)
        return CharLMTask(T, text)
    raise ConfigError(f"task must be one of {', '.join(TASKS)}; got {config.task!r}")


@lru_cache(maxsize=1)
def bundled_text() -> str:
    return resources.files("rnnviz.resources.text").joinpath(BUNDLED_TEXT).read_text("utf-8")


def _label(c: str) -> str:
    if c in VISIBLE_LABELS:
        return VISIBLE_LABELS[c]
    return c if c.isprintable() else f"U+{ord(c):04X}"


def _values(a: Any) -> str:
    return ", ".join(f"{v:.2f}" for v in _numpy(a).reshape(-1))


def _numpy(a: Any) -> np.ndarray:
    """A tensor (any device) or array-like as a numpy array."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)
