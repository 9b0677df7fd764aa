"""Graphics items outside every scene are deleted before the interpreter's teardown."""

from __future__ import annotations

import pyqtgraph as pg
import shiboken6

from rnnviz.qt.panels.core.states import StateTrajectoriesPanel
from rnnviz.qt.plotkit import wrap_title
from rnnviz.qt.teardown import release_graphics


def test_items_no_scene_holds_are_deleted_and_the_rest_kept(make_snapshot, show_panel):
    """A GRU has no c_t: the states panel takes its c_t plot out of the grid and keeps it,
    the kind of item whose teardown at exit crashed the process."""
    panel = show_panel(StateTrajectoriesPanel, make_snapshot(cell="gru", seq_len=12))
    kept_aside = panel.c_plot
    assert kept_aside.scene() is None
    loose = wrap_title(pg.PlotItem())  # a title with Python handlers, as the panels' plots
    loose.setTitle("a plot of its own")
    child = loose.titleLabel
    assert release_graphics() >= 2
    assert not shiboken6.isValid(kept_aside) and not shiboken6.isValid(loose)
    assert not shiboken6.isValid(child)  # with its parent
    assert shiboken6.isValid(panel.h_plot) and panel.h_plot.scene() is not None
