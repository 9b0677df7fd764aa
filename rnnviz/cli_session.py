"""Sessions on the command line: `rnnviz train --save-session F.rnnviz` saves the trained run
whole (what File → Save session writes), and `rnnviz app --session F.rnnviz` opens the window
on it, ready to train on. A lecturer trains at home on the terminal and opens the run in class.

A file that cannot be written or opened is one line and exit 2, before the window opens.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rnnviz.cli_common import UsageError, check_output

if TYPE_CHECKING:
    from rnnviz.core.train import Trainer

SESSION_OPTION = "--session"


def add_save_session_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--save-session",
        metavar="FILE.rnnviz",
        help="after training, save the run whole (settings, initial and current weights, "
        "optimiser, history) for `rnnviz app --session FILE` to train on from there",
    )


def session_output(args: argparse.Namespace) -> Path | None:
    """The --save-session path, checked before any training (None when not asked for)."""
    if not args.save_session:
        return None
    path = Path(args.save_session)
    check_output(path, "session")
    return path


def save_session(trainer: Trainer, path: Path) -> None:
    from rnnviz.core.resume import capture
    from rnnviz.core.session import Session, SessionError, write_session

    try:
        write_session(path, Session((capture(trainer),)))
    except SessionError as e:
        raise UsageError(str(e)) from None
    print(f"saved session {path} (step {trainer.step_count}): `rnnviz app --session {path}`")


def check_session(path: str) -> None:
    """Read and check the session file `path` here, so that a bad one is one line on the
    terminal (the window reads it again)."""
    from rnnviz.core.session import SessionError, read_session

    try:
        read_session(path)
    except SessionError as e:
        raise UsageError(str(e)) from None
