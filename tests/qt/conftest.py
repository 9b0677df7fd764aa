"""Shared set-up for the panel tests: one way to put a panel on screen with a snapshot."""

from __future__ import annotations

import pytest

from rnnviz.qt import theme
from rnnviz.qt.timeline import TimeCursor


@pytest.fixture
def show_panel(qtbot):
    """show_panel(PanelClass, snapshot=None, *, size=(900, 550), t=0) -> a laid-out panel
    drawing `snapshot` with the time cursor at t.

    The theme is applied once, when the fixture is set up (before the test builds anything).
    With `snapshot` None the panel is only built, sized and shown, as the app opens it; the
    cursor's length is the trace's T where the snapshot has a trace.
    """
    theme.apply()

    def show(panel_class, snapshot=None, *, size=(900, 550), t: int = 0):
        cursor = TimeCursor()
        if snapshot is not None and snapshot.trace is not None:
            cursor.set_length(snapshot.trace.T)
        panel = panel_class(cursor)
        qtbot.addWidget(panel)
        panel.resize(*size)
        panel.show()
        assert panel.isVisible()  # so refresh() would draw without force, as the app does
        if snapshot is not None:
            panel.set_snapshot(snapshot)
            assert panel.refresh(force=True)
        cursor.set(t)
        return panel

    return show
