"""What the settings side bar offers: its menus, from the registries, and the model settings
a choice leaves without meaning (with the reason the disabled field gives).

Every task of the task registry (numbers, characters, words, notes, encoder-decoder) and
every cell of the cell registry, then the baselines (config.BASELINES: the bag of words),
which are model kinds of their own and so use fewer of the model's settings.
"""

from __future__ import annotations

from rnnviz.core.cells import CELLS
from rnnviz.core.config import BASELINES
from rnnviz.core.tasks import TASKS

TASK_LABELS = {name: spec.label for name, spec in TASKS.items()}
NONLINEARITY_LABELS = {"tanh": "tanh", "relu": "ReLU"}
BASELINE_LABELS = {"bow": "Bag of words (order-blind baseline)"}
# The cell menu joins `cell` and a nonlinearity the cell lets a user choose, the Elman RNN's
# ("rnn:tanh"), so that one menu picks both.
CELL_LABELS = {
    **{
        key: label
        for name, spec in CELLS.items()
        for key, label in [
            (f"{name}:{n}", f"{spec.label} ({NONLINEARITY_LABELS[n]})") for n in spec.nonlinearities
        ]
        or [(name, spec.label)]
    },
    **{name: BASELINE_LABELS.get(name, name) for name in BASELINES},
}


def nonlinearity_chosen(cell: str) -> bool:
    """Whether the cell menu's entries for `cell` name a nonlinearity too ("rnn:relu")."""
    return cell in CELLS and bool(CELLS[cell].nonlinearities)


def has_forget_gate(cell: str) -> bool:
    return cell in CELLS and "f" in CELLS[cell].gate_names


def unused_settings(cell: str, task: str) -> dict[str, str]:
    """The model settings `cell` and `task` have no use for, each with the reason its disabled
    field gives: a baseline has no recurrent layers to stack, reverse or initialise; a task
    that predicts the next value cannot have a direction that reads it."""
    unused = {}
    if TASKS[task].predicts_next:
        unused["bidirectional"] = (
            f"The {TASKS[task].label} task predicts what comes next: a reverse direction "
            "would read it as input. Bidirectional models read whole sequences (tagging, "
            "sentiment)."
        )
    if cell not in BASELINES:
        return unused
    why = f"The {cell} baseline is not recurrent: {BASELINES[cell]}"
    return {
        "layers": f"{why}; there are no recurrent layers to stack.",
        "bidirectional": f"{why}; the mean reads every word alike, in no direction.",
        "spectral_radius": f"{why}; it has no recurrent matrix W_hh to rescale.",
    }
