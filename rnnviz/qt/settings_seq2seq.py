"""The side bar's encoder-decoder settings: attention, beam width and the decoder's cell.

They mean something only for the tasks an encoder-decoder learns (TaskSpec.model "seq2seq":
dates, reverse, sort), so their rows show only while such a task is chosen; for the other
tasks the form reads the running model's values, so that a hidden field never changes or
blocks anything. The choices come from the registries (seq2seq.ATTENTIONS, cells.CELLS) and
the values are validated with the rest of the form by Config.replace: a beam width out of
range is refused beside its field in the command line's words.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QWidget

from rnnviz.core.cells import CELLS
from rnnviz.core.config import Config
from rnnviz.core.seq2seq import ATTENTIONS
from rnnviz.core.tasks import TASKS
from rnnviz.qt.form import combo, select, whole_number

ATTENTION_LABELS = {
    "none": "none (the bottleneck)",
    "additive": "additive (Bahdanau)",
    "dot": "dot (Luong)",
}
SAME_CELL = ""  # the decoder-cell entry for decoder_cell = None: the encoder's cell


def is_seq2seq(task: str) -> bool:
    return TASKS[task].model == "seq2seq"


class Seq2SeqFields:
    """The three fields, their rows in the form, and how they read and write a Config."""

    def __init__(self) -> None:
        self.attention = combo({a: ATTENTION_LABELS.get(a, a) for a in ATTENTIONS})
        self.attention.setToolTip(
            "none: the decoder sees the input only through the encoder's final state; "
            "additive and dot: every decoder step weighs every encoder state"
        )
        self.beam = whole_number()
        self.beam.setToolTip("Beam width when decoding without the targets (1: greedy)")
        self.decoder_cell = combo(
            {SAME_CELL: "as the encoder", **{n: spec.label for n, spec in CELLS.items()}}
        )
        self.decoder_cell.setToolTip("The decoder's cell (the encoder's is the cell above)")

    def rows(self) -> tuple[tuple[str, QWidget, tuple[str, ...]], ...]:
        """(label, field, the setting it shows): rows for the side bar's form."""
        return (
            ("attention", self.attention, ("attention",)),
            ("beam width", self.beam, ("beam",)),
            ("decoder cell", self.decoder_cell, ("decoder_cell",)),
        )

    def inputs(self) -> dict[QWidget, str]:
        """Each field and the setting it edits."""
        return {field: names[0] for _, field, names in self.rows()}

    def read(self, task: str, running: Config) -> dict[str, Any]:
        """The settings the fields say for `task`; the running model's where they are hidden."""
        if not is_seq2seq(task):
            return {name: getattr(running, name) for name in ("attention", "beam", "decoder_cell")}
        return {
            "attention": self.attention.currentData(),
            "beam": self.beam.value(),
            "decoder_cell": self.decoder_cell.currentData() or None,
        }

    def write(self, config: Config) -> None:
        select(self.attention, config.attention)
        self.beam.setValue(config.beam)
        select(self.decoder_cell, config.decoder_cell or SAME_CELL)

    def show_for(self, form: QFormLayout, task: str) -> None:
        """Show the rows only while an encoder-decoder task is chosen."""
        shown = is_seq2seq(task)
        for _, field, _ in self.rows():
            form.setRowVisible(field, shown)
