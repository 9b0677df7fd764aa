"""Changing the layout with the window's panels in it: what is redrawn, and when."""

from __future__ import annotations

from rnnviz.core.presets import load_preset
from rnnviz.qt.dock_layout import CORE_KEYS


def test_the_default_layout_after_a_preset_redraws_its_panels_one_a_tick(
    qtbot, window, probed_snapshot
):
    """Apply after a preset shows the five core panels at once. Each redrew inside the layout
    call (with the graph rebuilt on every resize): 2.9 s without a paint on a busy machine.
    Now the layout call redraws nothing and the refresh tick redraws them one at a time."""
    window.layout_.arrange_preset(load_preset("vanishing"))
    window.runner.stop()  # no more snapshots from the worker: only the one given below
    window._on_snapshot(probed_snapshot(record_at=(0, 1)))  # new data while they are hidden
    panels = {p.key: p for p in window.panels}
    drawn, builds = [], []
    for key in CORE_KEYS:
        panel = panels[key]
        redraw = panel.redraw
        panel.redraw = lambda s, key=key, redraw=redraw: (drawn.append(key), redraw(s))
    graph = panels["graph"]
    build = graph._build
    graph._build = lambda: builds.append(build()) or builds[-1]

    window.layout_.arrange_default()

    assert drawn == []
    qtbot.waitUntil(lambda: set(drawn) == set(CORE_KEYS))
    assert sorted(drawn) == sorted(CORE_KEYS)  # each once
    assert builds.count(True) <= 2  # the redraw's, and one for the final size
