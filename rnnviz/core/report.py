"""The training report that `rnnviz train --report FILE.json` writes when training ends:

    {"task": "adding", "cell": "lstm", "step": 2000, "loss": 0.0123,
     "heldout": {"metric": "mse", "value": 0.0131, "baseline": 0.1667, "sequences": 1024}}

`loss` is the last training batch's loss (null before the first step); `heldout` is the
model's score on sequences it never trained on beside the task's baseline (see heldout.py).
The file is written atomically: a temporary file in the same folder, flushed to disk, then
renamed over the target, so a reader never sees half a report.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnviz.core.atomic import write_atomic
from rnnviz.core.heldout import heldout_score
from rnnviz.core.tasks import TASKS

if TYPE_CHECKING:
    from rnnviz.core.train import Trainer


def training_report(trainer: Trainer) -> dict[str, Any]:
    """What `trainer` has reached: its task, cell, step, last loss and held-out score."""
    cfg = trainer.config
    score = heldout_score(trainer.model, trainer.task, chunk=cfg.batch)
    heldout = score.to_dict()
    heldout["value"] = _number(score.value)
    return {
        "task": cfg.task,
        "cell": cfg.cell,
        "step": trainer.step_count,
        "loss": _number(trainer.last["loss"]),
        "heldout": heldout,
    }


def heldout_text(report: dict[str, Any]) -> str:
    """The report's held-out score in words: 'held-out mse 0.00126 on 1024 sequences beats the
    baseline, repeating the last value: 0.0341'."""
    h, spec = report["heldout"], TASKS[report["task"]].heldout
    if h["value"] is None:
        value, verdict = "not finite", "does not beat"
    else:
        value = format(h["value"], ".4g")
        verdict = "beats" if spec.beats(h["value"], h["baseline"]) else "does not beat"
    return (
        f"held-out {h['metric']} {value} on {h['sequences']} sequences {verdict} the baseline, "
        f"{spec.baseline}: {h['baseline']:.4g}"
    )


def _number(x: float) -> float | None:
    return x if math.isfinite(x) else None  # JSON has no NaN or infinity: null


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    """Write `data` as JSON to `path` atomically (core.atomic)."""
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    write_atomic(path, lambda f: f.write(text.encode("utf-8")))
