"""What every `rnnviz` subcommand shares: exit statuses, the one-line error, and output files
checked before any work and written without a traceback.

An output path is checked by really opening it (appending to an existing file, creating and
removing a temporary file in its folder): permission bits lie to root and to read-only file
systems, and a run that trains for minutes must not find out only at the end.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

PROG = "rnnviz"
EXIT_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 1, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a program that wrote into a closed pipe


class UsageError(Exception):
    """A mistake on the command line; the message is the whole explanation."""


def fail(message: str) -> NoReturn:
    """Print one error line on stderr and exit with status 2."""
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(EXIT_ERROR)


def check_output(path: Path, what: str, *, folder: bool = False) -> None:
    """Raise UsageError unless `path` can be written: a file, or with `folder` a folder that
    exists or can be made. `what` names it in the message ("checkpoint", "trace", …)."""
    where = f"cannot write the {what} {path}"
    if folder:
        if path.exists() and not path.is_dir():
            raise UsageError(f"{where}: it is a file")
        _check_folder(path if path.is_dir() else path.parent, where)
        return
    if path.is_dir():
        raise UsageError(f"{where}: it is a directory")
    if path.exists():
        try:
            with open(path, "ab"):  # appends nothing: the file stays as it is
                pass
        except OSError as e:
            raise UsageError(f"{where}: {e.strerror or e}") from None
        return
    _check_folder(path.parent, where)


def _check_folder(folder: Path, where: str) -> None:
    if not folder.exists():
        raise UsageError(f"{where}: no directory {folder}")
    if not folder.is_dir():
        raise UsageError(f"{where}: {folder} is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".rnnviz-check-"):
            pass
    except OSError as e:
        raise UsageError(f"{where}: {e.strerror or e}") from None


def write_output(save: Callable[[], None], path: Path) -> None:
    """Run `save`; a failure to write is one line, not a traceback. torch.save reports a full
    disk or a vanished folder as RuntimeError, not OSError."""
    try:
        save()
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None
    except RuntimeError as e:
        raise UsageError(f"cannot write {path}: {e}") from None
