"""Graphics items left outside every scene, deleted before the interpreter shuts down.

A panel keeps some pyqtgraph items it has taken out of its layout for now (the states
panel's c_t plot while the cell has no c_t; the training panel's plot of another task).
At exit PySide destroys whatever Python still holds only after the interpreter has begun to
tear itself down. An item's destructor detaches its children, which calls their Python event
handlers (a plot title's resize); one that raised there crashed the process in PySide's
error printing: status 139 after the window had closed (the monkey, seed 45, 4 runs of 6).
Deleted while the interpreter is whole, their handlers run as at any other time.
"""

from __future__ import annotations

import gc

import shiboken6
from PySide6.QtWidgets import QGraphicsItem


def release_graphics() -> int:
    """Delete every live graphics item that has neither a scene nor a parent item (with its
    children); returns how many. Objects frozen out of the collector's sight (gc.freeze)
    are looked at too."""
    gc.unfreeze()
    orphans = [  # type(), not isinstance: that reads __class__, which some objects compute
        o for o in gc.get_objects()
        if issubclass(type(o), QGraphicsItem) and shiboken6.isValid(o)
        and o.scene() is None and o.parentItem() is None
    ]  # fmt: skip
    for item in orphans:
        if shiboken6.isValid(item):  # (deleting one never deletes another: no parents)
            shiboken6.delete(item)
    return len(orphans)
