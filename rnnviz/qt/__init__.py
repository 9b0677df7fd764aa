"""The desktop app's Qt layer: the window, its panels, and the runner that owns the training
process. Nothing in rnnviz.core imports this package.

The window's process does many small numpy products (a PCA of 32 units, a colour map) on
the one core the training process leaves it. OpenBLAS would run each on a thread per core
and spin those threads while they wait, taking the core from the training process and
delaying the window's next paint by milliseconds per product; one thread is faster here.
This takes effect only where numpy is not yet imported (the `rnnviz` command imports this
package first); the training process inherits it. A user's own setting wins.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
