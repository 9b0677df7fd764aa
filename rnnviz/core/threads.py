"""How many CPU threads training uses: one rule for the app's training process and the CLI.

All cores but one: the app's window (or, on the command line, the terminal and whatever else
the machine runs) keeps a core, and torch's intra-op threads do not fight it at every
barrier. Measured on a busy 2-core machine: `rnnviz train` with torch's default of 2 threads
ran 7 steps/s, with 1 thread 102. A user's OMP_NUM_THREADS wins over the rule; an explicit
count (`rnnviz train --threads N`) wins over both.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 2


def use_training_threads(threads: int | None = None) -> int:
    """Set torch's intra-op thread count for training; returns the count now in use.

    `threads` None: all usable cores but one, unless OMP_NUM_THREADS is set (then torch's
    own choice from it stands)."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    elif "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, usable_cores() - 1))
    return torch.get_num_threads()
