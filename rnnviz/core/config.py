"""Run configuration: one frozen dataclass holding every setting, validated in one place.

The field names are the stable CLI option names with dashes turned into underscores
(`--clip-threshold` -> `clip_threshold`), so the CLI, the settings side bar, presets and
checkpoints all speak the same vocabulary. `Config.validate()` raises `ConfigError` with a
message meant for a person ("hidden size must be at least 1, got 0"), never a traceback.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from rnnviz.core import budget, cells, seq2seq, tasks

# The choices of cell and task are the registries' keys (cells.CELLS, tasks.TASKS).
CELLS = tuple(cells.CELLS)
# Order-blind baselines that --cell takes beside the recurrent cells: each is a model kind of
# its own (model.MODEL_KINDS), with no recurrence, gates or W_hh (core/bow.py).
BASELINES = {"bow": "bag of words: the mean of the word embeddings into the head"}
CELL_CHOICES = (*CELLS, *BASELINES)
NONLINEARITIES = tuple(dict.fromkeys(n for s in cells.CELLS.values() for n in s.nonlinearities))
TASKS = tuple(tasks.TASKS)
# lookback: an embedding plus the melody's own past (core/lookback.py), for the one task whose
# TaskSpec.encoder it is (music)
ENCODERS = ("auto", "onehot", "embedding", "lookback", "linear", "identity")
OPTIMIZERS = ("sgd", "adam", "rmsprop")
CLIPS = ("none", "norm", "value")
INITS = ("default", "orthogonal", "xavier", "identity")
DEVICES = ("auto", "cpu", "cuda", "mps")
ATTENTIONS = seq2seq.ATTENTIONS

# Settings a running model can take without being rebuilt (the rest need a new model).
LIVE_FIELDS = frozenset({"lr", "clip", "clip_threshold"})
# Settings whose default is the task's (TaskSpec's field of the same name): None in a Config
# that is being built stands for it.
TASK_DEFAULTS = ("lr", "weight_decay")


class ConfigError(ValueError):
    """A setting a user gave is not usable; the message says which and why."""


@dataclass(frozen=True)
class Config:
    # model
    cell: str = "lstm"  # one of CELLS
    nonlinearity: str = "tanh"  # Elman RNN only: tanh or relu
    hidden: int = 32  # H, units per layer and direction
    layers: int = 1  # stacked layers, 1..4
    bidirectional: bool = False
    encoder: str = "auto"  # auto: one-hot for copy, embedding for charlm, identity for real inputs
    embed_dim: int = 16  # width of a learned embedding / linear encoder
    init: str = "default"  # weight initialisation, one of INITS
    spectral_radius: float | None = None  # rescale each W_hh (gate block) to this radius
    forget_bias: float | None = None  # LSTM forget-gate bias; None keeps the initialiser's
    # encoder-decoder (the tasks whose TaskSpec.model is "seq2seq": dates, reverse, sort)
    decoder_cell: str | None = None  # one of CELLS; None: the encoder's cell
    attention: str = "additive"  # one of ATTENTIONS; none: the decoder sees the final state only
    beam: int = 1  # beam width when decoding without the targets (1: greedy)
    # task
    task: str = "sine"  # one of TASKS
    text: str | None = None  # charlm: path of a UTF-8 text file; None uses the bundled text
    data: str | None = None  # tasks with TaskSpec.takes_data: the user's file; None: bundled
    seq_len: int = 50  # T
    batch: int = 32  # B
    # optimisation
    steps: int = 500  # training steps for `rnnviz train`
    optimizer: str = "adam"  # one of OPTIMIZERS
    lr: float | None = None  # None: the task's (TaskSpec.lr); a number once the Config is built
    # shrinks every weight by lr * weight_decay a step (Adam: decoupled, AdamW; SGD and RMSprop
    # add weight_decay * w to the gradient); None: the task's (TaskSpec.weight_decay)
    weight_decay: float | None = None
    momentum: float = 0.9  # SGD only
    clip: str = "none"  # one of CLIPS
    clip_threshold: float = 1.0
    seed: int = 0
    device: str = "auto"  # auto picks CUDA, then MPS, then the CPU
    probe_batch: int = 4  # sequences recorded for the panels and `trace`

    def __post_init__(self) -> None:
        # an unknown task is validate's to refuse: any number will do here
        spec = tasks.TASKS.get(self.task, tasks.TaskSpec)
        for name in TASK_DEFAULTS:
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(spec, name))

    def validate(self) -> Config:
        """Return self if every setting is usable, else raise ConfigError."""
        _choice("cell", self.cell, CELL_CHOICES)
        _choice("nonlinearity", self.nonlinearity, NONLINEARITIES)
        _choice("task", self.task, TASKS)
        _choice("encoder", self.encoder, ENCODERS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("clip", self.clip, CLIPS)
        _choice("init", self.init, INITS)
        _choice("device", self.device, DEVICES)
        if self.decoder_cell is not None:
            _choice("decoder cell", self.decoder_cell, CELLS)
        _choice("attention", self.attention, ATTENTIONS)
        _int_range("beam width", self.beam, *seq2seq.BEAM_WIDTHS)
        # What a laptop does (benchmarks/README.md, "Limits"); together they must also fit
        # the memory and work budgets of core/budget.py, checked last.
        _int_range("hidden size", self.hidden, 1, 512)
        _int_range("layers", self.layers, 1, 4)
        _int_range("embedding size", self.embed_dim, 1, 512)
        _int_range("sequence length", self.seq_len, 2, 10_000)
        _int_range("batch size", self.batch, 1, 4096)
        _int_range("probe batch", self.probe_batch, 1, 64)
        _int_range("steps", self.steps, 0, 10**9)
        # Below 2^63: the held-out stream's seed (tasks.base.HELDOUT_SEED) is out of reach.
        _int_range("seed", self.seed, 0, 2**63 - 1)
        _positive("learning rate", self.lr)
        if not (_finite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"weight decay must be 0 or more, got {self.weight_decay}")
        _positive("clip threshold", self.clip_threshold)
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.spectral_radius is not None:
            _positive("spectral radius", self.spectral_radius)
        if self.forget_bias is not None and not _finite(self.forget_bias):
            raise ConfigError(f"forget-gate bias must be a finite number, got {self.forget_bias}")
        task = tasks.TASKS[self.task]
        if not task.symbols_in and self.encoder in ("onehot", "embedding"):
            raise ConfigError(
                f"the {self.task} task has real-valued inputs: use the linear or identity encoder"
            )
        if task.symbols_in and self.encoder in ("linear", "identity"):
            raise ConfigError(
                f"the {self.task} task has symbol inputs: use the onehot or embedding encoder"
            )
        if self.encoder == "lookback" and task.encoder != "lookback":
            raise ConfigError(
                "the lookback encoder reads a melody's own earlier notes: it is for the music "
                f"task, not {self.task}"
            )
        if self.seq_len < task.min_seq_len:
            raise ConfigError(
                f"the {self.task} task needs a sequence length of at least {task.min_seq_len}"
            )
        if self.text is not None and task.uses_text:
            from rnnviz.core.corpus import check_text_path  # corpus imports this module

            check_text_path(self.text)  # cheap: the file is read once, by the task
        if self.data is not None:
            if not task.takes_data:
                takers = ", ".join(t.name for t in tasks.TASKS.values() if t.takes_data)
                raise ConfigError(
                    f"the {self.task} task takes no data file (tasks that do: {takers})"
                )
            from rnnviz.core.corpus import check_text_path

            check_text_path(self.data, "data file")
        if self.cell in BASELINES and (not task.symbols_in or task.model != "stack"):
            raise ConfigError(f"the {self.cell} baseline reads words: not the {self.task} task")
        if self.cell in BASELINES and self.encoder == "lookback":
            raise ConfigError(
                f"the {self.cell} baseline averages the notes in no order: the lookback "
                "encoder reads their order (use embedding or onehot)"
            )
        if self.cell in BASELINES and self.bidirectional:
            raise ConfigError(f"the {self.cell} baseline has no direction to reverse")
        if self.bidirectional and task.predicts_next:
            raise ConfigError(
                f"bidirectional: the {self.task} task predicts what comes next, and a reverse "
                "direction would read it as input (use it on whole sequences: tagging, sentiment)"
            )
        # a baseline's one embedding and head need no budget
        too_big = None if self.cell in BASELINES else budget.check(self)
        if too_big:
            raise ConfigError(too_big)
        return self

    def replace(self, **changes: Any) -> Config:
        """A validated copy with `changes` applied; the original is untouched on error."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes).validate()

    def needs_new_model(self, other: Config) -> bool:
        """True when going from self to `other` changes more than the live settings."""
        changed = {f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}
        return bool(changed - LIVE_FIELDS - {"steps"})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Build from a mapping (preset file, checkpoint); unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**data).validate()

    @property
    def resolved_encoder(self) -> str:
        if self.encoder != "auto":
            return self.encoder
        auto = tasks.TASKS[self.task].encoder
        # a bag of words averages the notes themselves, in no order: no lookback
        return "embedding" if auto == "lookback" and self.cell in BASELINES else auto

    @property
    def model_kind(self) -> str:
        """The model.MODEL_KINDS entry that learns this: a baseline's own, else the task's."""
        return self.cell if self.cell in BASELINES else tasks.TASKS[self.task].model


def task_defaults(running: Config, wanted: dict[str, Any]) -> dict[str, Any]:
    """The TASK_DEFAULTS settings that a new model of the task in `wanted` (settings by name)
    takes from its TaskSpec where they differ from the running task's: those that `running`
    has at its task's value and `wanted` leaves as they run (a value the user chose stays)."""
    old, new = tasks.TASKS[running.task], tasks.TASKS[wanted["task"]]
    return {
        name: getattr(new, name)
        for name in TASK_DEFAULTS
        if getattr(running, name) == getattr(old, name) == wanted[name]
        and getattr(new, name) != getattr(old, name)
    }


def _choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(options)}; got {value!r}")


def _int_range(name: str, value: int, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")


def _finite(x: float) -> bool:
    return isinstance(x, (int, float)) and x == x and abs(x) != float("inf")


def _positive(name: str, value: float) -> None:
    if not _finite(value) or value <= 0:
        raise ConfigError(f"{name} must be a positive number, got {value!r}")


def check_temperature(value: float) -> float:
    """The character LM's sampling temperature T (p ∝ exp(logits / T)), or ConfigError: the
    Training panel and the trainer refuse the same values with the same words."""
    _positive("temperature", value)
    return value
