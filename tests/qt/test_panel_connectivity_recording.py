"""The connectivity panel, shown while the window has only just asked for the connectivity,
says it is being recorded, not that it was skipped (core/protocol.SetConnectivity)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from rnnviz.core.protocol import CONNECTIVITY_UNWATCHED
from rnnviz.qt.panels.text.connectivity import ConnectivityPanel


def test_a_trace_recorded_while_the_panel_was_hidden_reads_recording(charlm, show_panel):
    meta = MappingProxyType({**charlm.trace.meta, "connectivity": CONNECTIVITY_UNWATCHED})
    unwatched = dataclasses.replace(charlm.trace, connectivity=None, meta=meta)
    panel = show_panel(ConnectivityPanel, dataclasses.replace(charlm, trace=unwatched), t=5)
    assert panel.titles[0].text() == "connectivity recording…"
    assert panel.grids[0].fills[0] == [None] * panel.grids[0].columns  # nothing shaded yet
    panel.set_snapshot(charlm)  # the next recording has it
    assert panel.refresh()
    assert "predicting" in panel.titles[0].text()
