"""Files written whole or not at all: a temporary file beside the target, flushed to disk,
then renamed over it. A run that fails half-way (a full disk, Ctrl+C) leaves the file a user
had, never a truncated one.

A target that is not a regular file (a device such as /dev/null, a named pipe) is written
into directly: renaming over it would replace the device with a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(f)` on a binary file that becomes `path` only once `write` returned."""
    path = Path(path)
    if path.exists() and not path.is_file():
        with open(path, "wb") as f:
            write(f)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # open() honours the umask
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
