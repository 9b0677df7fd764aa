"""The task registry: one TaskSpec per built-in task, from which the configuration's choices,
the CLI's --task, the settings side bar, the trace's metadata and the held-out report derive.

A task generates batches (x, y, mask), has a shape and a kind (`base.py` holds the one loss
every task shares) and a held-out score: a metric on sequences never trained on, beside the
baseline that a model has to beat.

    sine    next-value prediction of a sine wave with random frequency and phase.
    adding  the adding problem (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory",
            experiment 4), in the formulation of Le, Jaitly & Hinton 2015, "A Simple Way to
            Initialize Recurrent Networks of Rectified Linear Units": sum two marked values.
    copy    the copy-memory task (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016,
            "Unitary Evolution Recurrent Neural Networks"): recall symbols after a delay.
    charlm  character-level language model (Karpathy 2015, "The Unreasonable Effectiveness of
            Recurrent Neural Networks") on a user's UTF-8 text or the bundled public-domain text.
    music   next-note prediction on melodies (a note is its pitch and length), the user's
            (--data) or 31 bundled public-domain tunes; generation from a seed note
            (tasks/music.py, notation in core/notation.py).
    dates, reverse, sort   sequence to sequence, for the encoder-decoder (Sutskever, Vinyals &
            Le 2014; Bahdanau, Cho & Bengio 2015): a date in a human format to yyyy-mm-dd, a
            symbol string reversed or sorted; scored by exact match (tasks/transduction.py).
    sentiment  many-to-one: a short review word by word, then positive or negative, from a
            grammar this project wrote, where word order decides (tasks/sentiment.py).
    tagging    many-to-many: tag each word as part of a person's name or not, where a later
            word decides ("teddy roosevelt" against "teddy bears", tasks/tagging.py).
    wordlm     P(sentence) as the product of P(word | words before), next-word prediction on
            the sentiment grammar's sentences, sampled until <eos> (tasks/wordlm.py).

This module imports no torch (the configuration, `rnnviz --help` and the window read it). Each
spec names its implementation as "module:Class", imported only when a task is built: the
entry-point convention of gymnasium's registry. A new task is its Task subclass and one
TaskSpec here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rnnviz.core.config import Config
    from rnnviz.core.tasks.base import Task


@dataclass(frozen=True)
class HeldOut:
    """How a task is scored on sequences it was never trained on, and against what."""

    metric: str  # "mse", "accuracy", "nll" (nats per predicted symbol) or "exact" (sequences)
    higher_is_better: bool
    baseline: str  # what the baseline predicts, in words

    def beats(self, value: float, baseline: float) -> bool:
        """Whether a score of `value` is better than the baseline's."""
        return value > baseline if self.higher_is_better else value < baseline


@dataclass(frozen=True)
class TaskSpec:
    name: str  # the Config value: "adding"
    label: str  # for people: "Adding problem"
    shape: str  # "many-to-many", "many-to-one" or "sequence-to-sequence": where the loss counts
    kind: str  # "regression" or "classification": which loss (base.masked_loss)
    symbols_in: bool  # inputs are symbol ids (one-hot or embedding), else real vectors
    encoder: str  # the encoder "auto" resolves to
    heldout: HeldOut
    entry_point: str  # "module:Class" of its Task subclass
    min_seq_len: int = 2
    uses_text: bool = False  # learns a text (--text, or the bundled one) and samples from it
    takes_data: bool = False  # learns the user's data file (--data), or its bundled data
    generates: bool = False  # one-to-many: samples a continuation (Trainer.sample_text)
    model: str = "stack"  # the model kind (model.MODEL_KINDS) that learns it
    # Sentences of different lengths, right-padded with <pad> (id 0, tasks/vocab.py): the
    # model packs them (padding is never computed), the mask is 0 there, traces mark it.
    padded: bool = False
    # The target at t is the input at t+1 (next-value and language models): a reverse
    # direction would read the very value it is asked for, so such a task refuses one.
    predicts_next: bool = False
    # What a configuration of this task starts at where none is given (config.TASK_DEFAULTS)
    lr: float = 1e-2
    weight_decay: float = 0.0


_SYNTHETIC = "rnnviz.core.tasks.synthetic"
TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "sine",
            "Sine wave (next value)",
            shape="many-to-many",
            kind="regression",
            symbols_in=False,
            encoder="identity",
            heldout=HeldOut("mse", False, "repeating the last value"),
            entry_point=f"{_SYNTHETIC}:SineTask",
            predicts_next=True,
        ),
        TaskSpec(
            "adding",
            "Adding problem",
            shape="many-to-one",
            kind="regression",
            symbols_in=False,
            encoder="identity",
            heldout=HeldOut("mse", False, "predicting the mean sum, 1"),
            entry_point=f"{_SYNTHETIC}:AddingTask",
        ),
        TaskSpec(
            "copy",
            "Copy memory",
            shape="many-to-many",
            kind="classification",
            symbols_in=True,
            encoder="onehot",
            heldout=HeldOut("accuracy", True, "guessing among the data symbols"),
            entry_point=f"{_SYNTHETIC}:CopyTask",
            min_seq_len=4,
        ),
        TaskSpec(
            "charlm",
            "Character language model",
            shape="many-to-many",
            kind="classification",
            symbols_in=True,
            encoder="embedding",
            heldout=HeldOut("nll", False, "the held-out text's own character frequencies"),
            entry_point="rnnviz.core.tasks.charlm:CharLMTask",
            predicts_next=True,
            uses_text=True,
            generates=True,
        ),
        TaskSpec(
            "music",
            "Melodies (next note, then composing)",
            shape="many-to-many",
            kind="classification",
            symbols_in=True,
            encoder="lookback",
            heldout=HeldOut("nll", False, "a unigram of the training melodies' notes"),
            entry_point="rnnviz.core.tasks.music:MusicTask",
            predicts_next=True,
            takes_data=True,
            generates=True,
            # held out at --steps 2000, seeds 0-2: see tasks/music.py
            lr=5e-3,
            weight_decay=0.2,
        ),
        TaskSpec(
            "sentiment",
            "Sentiment (many-to-one, words)",
            shape="many-to-one",
            kind="classification",
            symbols_in=True,
            encoder="embedding",
            heldout=HeldOut("accuracy", True, "the best any order-blind word counter can do"),
            entry_point="rnnviz.core.tasks.sentiment:SentimentTask",
            min_seq_len=19,  # the longest bundled sentence, in words
            takes_data=True,
            padded=True,
        ),
        TaskSpec(
            "tagging",
            "Name tagging (many-to-many, words)",
            shape="many-to-many",
            kind="classification",
            symbols_in=True,
            encoder="embedding",
            heldout=HeldOut(
                "accuracy", True, "each word's most frequent tag in training, without context"
            ),
            entry_point="rnnviz.core.tasks.tagging:TaggingTask",
            min_seq_len=9,  # the longest bundled sentence, in words
            padded=True,
        ),
        TaskSpec(
            "wordlm",
            "Word language model (P of a sentence)",
            shape="many-to-many",
            kind="classification",
            symbols_in=True,
            encoder="embedding",
            heldout=HeldOut("nll", False, "the held-out words' own frequencies (unigram)"),
            entry_point="rnnviz.core.tasks.wordlm:WordLMTask",
            predicts_next=True,
            min_seq_len=20,  # the longest bundled sentence and its <eos>
            generates=True,
            padded=True,
        ),
        *(
            TaskSpec(
                name,
                label,
                shape="sequence-to-sequence",
                kind="classification",
                symbols_in=True,
                encoder="embedding",
                heldout=HeldOut("exact", True, "copying the input unchanged"),
                entry_point=f"rnnviz.core.tasks.{module}",
                model="seq2seq",
            )
            for name, label, module in (
                ("dates", "Dates to ISO (encoder-decoder)", "dates:DatesTask"),
                ("reverse", "Reverse a string (encoder-decoder)", "transduction:ReverseTask"),
                ("sort", "Sort a string (encoder-decoder)", "transduction:SortTask"),
            )
        ),
    )
}


def make_task(config: Config) -> Task:
    """The task config.task names, for sequences of length config.seq_len."""
    spec = TASKS.get(config.task)
    if spec is None:
        from rnnviz.core.config import ConfigError  # config imports this module

        raise ConfigError(f"task must be one of {', '.join(TASKS)}; got {config.task!r}")
    module, _, name = spec.entry_point.partition(":")
    return getattr(importlib.import_module(module), name).from_config(config)
