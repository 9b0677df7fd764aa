"""Running the `rnnviz` command in a test as a user runs it: a subprocess in a folder, its exit
status and its output (tests/core is on sys.path: `from cli_run import rnnviz`)."""

from __future__ import annotations

import os
import subprocess
import sys

# One intra-op thread: these models are tiny, and a busy machine makes thread barriers slow.
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def rnnviz(*args: str, cwd, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m rnnviz ARGS` in `cwd` with `env` (default ENV), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "rnnviz", *args],
        cwd=cwd,
        env=env or ENV,
        capture_output=True,
        text=True,
        timeout=240,
    )
