"""The connectivity panel, shown while the window has only just asked for the connectivity,
says it is being recorded, not that it was skipped; the window asks for the connectivity
while the panel's dock is shown (core/protocol.SetConnectivity)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from windows import open_window  # tests/qt is on sys.path

from rnnviz.core.protocol import CONNECTIVITY_UNWATCHED, SetConnectivity, SetGradItems
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


def test_the_window_asks_for_it_while_the_dock_is_shown(qtbot, store, monkeypatch):
    window = open_window(qtbot, store, wait_snapshot=False)
    sent = []
    monkeypatch.setattr(window.runner, "send", sent.append)
    dock = window.docks["connectivity"]
    assert not dock.isVisible()  # the laboratory's panel is hidden at first
    dock.show()
    qtbot.waitUntil(lambda: sent[-1:] == [SetConnectivity(True)])
    dock.hide()
    qtbot.waitUntil(lambda: sent[-1:] == [SetConnectivity(False)])
    window.close()


def test_the_window_asks_for_the_itemized_gradients_while_a_panel_draws_them(
    qtbot, store, monkeypatch
):
    window = open_window(qtbot, store, wait_snapshot=False)
    sent = []
    monkeypatch.setattr(window.runner, "send", sent.append)
    itemized, reach = window.docks["itemized"], window.docks["memory_reach"]
    assert not itemized.isVisible() and not reach.isVisible()
    itemized.show()
    qtbot.waitUntil(lambda: sent[-1:] == [SetGradItems(True)])
    reach.show()
    itemized.hide()  # the other panel still draws them
    qtbot.waitUntil(lambda: not itemized.isVisible())
    assert SetGradItems(False) not in sent
    reach.hide()
    qtbot.waitUntil(lambda: sent[-1:] == [SetGradItems(False)])
    window.close()
