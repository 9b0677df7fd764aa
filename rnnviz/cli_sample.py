"""`rnnviz sample --checkpoint CK`: generate from a trained model, one symbol at a time.

    rnnviz sample --checkpoint CK [--length N] [--temperature X] [--seed S] [--prime P]
                  [--out FILE]

The checkpoint is one that `rnnviz train --save CK` wrote for a task that generates: the
character LM prints its text (and writes it to --out), the music task prints the notes in
rnnviz's notation (core/notation.py) and writes them to --out as a standard MIDI file. The
model's task is rebuilt from the checkpoint's settings (the same --text or --data file, or
the bundled one), so the vocabulary is the one it learnt. The file is read with
torch.load(weights_only=True): nothing in it is executed. Sampling runs on the CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rnnviz.cli_common import UsageError, check_output, write_output
from rnnviz.core.config import Config, ConfigError, check_temperature

DEFAULT_LENGTH = {"charlm": 200, "music": 48}  # characters; notes (a few tunes' worth)
MAX_LENGTH = 100_000


def add_sample_command(sub: Any) -> argparse.ArgumentParser:
    """The `sample` subcommand's parser, added to the subparsers `sub`."""
    sample = sub.add_parser(
        "sample",
        help="generate text or a melody from a checkpoint (rnnviz train --save)",
        description="Sample from a trained character LM (text on stdout) or music model "
        "(notes on stdout, a standard MIDI file with --out), one symbol at a time from "
        "softmax(logits / temperature).",
    )
    sample.add_argument("--checkpoint", required=True, metavar="CK", help="from train --save")
    sample.add_argument(
        "--length",
        type=int,
        metavar="N",
        help=f"symbols to generate (default: {DEFAULT_LENGTH['charlm']} characters, "
        f"{DEFAULT_LENGTH['music']} notes)",
    )
    sample.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        metavar="X",
        help="below 1 sharper, more likely choices; above 1 more surprising (default: 1)",
    )
    sample.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    sample.add_argument(
        "--prime",
        metavar="P",
        help="what the sample continues: characters, or notes such as 'E4 D4' (default: a "
        "new line; the most common first note of the melodies)",
    )
    sample.add_argument(
        "--out",
        metavar="FILE",
        help="also write the sample here: the text, or for music a standard MIDI file (.mid)",
    )
    return sample


def run_sample(args: argparse.Namespace) -> int:
    check_temperature(args.temperature)
    if args.seed < 0:
        raise UsageError(f"--seed must be 0 or more, got {args.seed}")
    out = Path(args.out) if args.out else None
    if out is not None:
        check_output(out, "sample")
    trainer = load_checkpoint(Path(args.checkpoint))
    task = trainer.config.task
    length = DEFAULT_LENGTH.get(task, 200) if args.length is None else args.length
    if not 1 <= length <= MAX_LENGTH:
        raise UsageError(f"--length must be from 1 to {MAX_LENGTH}, got {length}")
    text = trainer.sample_text(length, args.temperature, prime=args.prime, seed=args.seed)
    print(text)
    if out is None:
        return 0
    if task == "music":
        from rnnviz.core.midi import write_midi
        from rnnviz.core.notation import parse_notes

        write_output(lambda: write_midi(out, parse_notes(text)), out)
        what = f"{length} notes as MIDI"
    else:
        write_output(lambda: out.write_text(text, encoding="utf-8"), out)
        what = f"{length} characters"
    print(f"wrote {out}: {what}", file=sys.stderr)
    return 0


def load_checkpoint(path: Path):  # -> rnnviz.core.train.Trainer (torch loads only here)
    """A Trainer holding the checkpoint's model, on the CPU; UsageError in one line."""
    from rnnviz.core.foreign import ForeignModelError, _torch_load
    from rnnviz.core.resume import misfit
    from rnnviz.core.tasks import TASKS
    from rnnviz.core.train import Trainer

    if not path.is_file():
        raise UsageError(f"checkpoint not found: {path}")
    try:
        ck = _torch_load(path)
    except ForeignModelError as e:
        raise UsageError(f"cannot read the checkpoint {e}") from None
    if not isinstance(ck, dict) or not {"config", "model"} <= set(ck):
        raise UsageError(f"{path} is not an rnnviz checkpoint (rnnviz train --save writes one)")
    try:
        config = Config.from_dict({**ck["config"], "device": "cpu"})
    except (ConfigError, TypeError) as e:
        raise UsageError(f"the checkpoint {path} has unusable settings: {e}") from None
    if not TASKS[config.task].generates:
        makers = ", ".join(name for name, spec in TASKS.items() if spec.generates)
        raise UsageError(
            f"the checkpoint {path} learnt the {config.task} task, which generates nothing "
            f"(sample needs one of: {makers})"
        )
    trainer = Trainer(config)  # ConfigError (a missing --text or --data file) is one line
    weights = ck["model"]
    reason = misfit(trainer.model.state_dict(), weights) if isinstance(weights, dict) else None
    if reason:  # e.g. a music model saved before melodies had a lookback
        raise UsageError(
            f"the checkpoint {path} does not fit its own settings: {reason} (saved by another "
            "version of rnnviz, whose model for these settings differed: train it again)"
        )
    try:
        trainer.model.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"the checkpoint {path} does not fit its own settings: {first}") from None
    return trainer
