"""The redraw budget: one dirty, visible panel redraws a tick, in turn, none twice in a row
while another waits."""

from __future__ import annotations

import pytest

from rnnviz.qt.redraw_ticks import PANEL_MAX_HZ, RedrawTicks


class FakePanel:
    """What RedrawTicks asks of a panel: its key, and refresh() -> whether it redrew."""

    def __init__(self, key: str, dirty: bool = True) -> None:
        self.key, self.dirty, self.redraws = key, dirty, 0

    def refresh(self) -> bool:
        if not self.dirty:
            return False
        self.dirty = False
        self.redraws += 1
        return True


def test_one_panel_a_tick_in_turn_skipping_clean_ones(qtbot):
    panels = [FakePanel("a"), FakePanel("b", dirty=False), FakePanel("c")]
    ticks = RedrawTicks(panels)
    ticks.stop()  # the test ticks by hand
    ticks.tick()
    assert [p.redraws for p in panels] == [1, 0, 0]
    ticks.tick()
    assert [p.redraws for p in panels] == [1, 0, 1]  # b had nothing new
    ticks.tick()
    assert [p.redraws for p in panels] == [1, 0, 1]  # nothing dirty: nothing drawn
    late = FakePanel("d")
    panels.append(late)  # the laboratory's panels join the window's list when built
    ticks.tick()
    assert late.redraws == 1


def test_a_panel_redraws_at_the_full_rate_whatever_the_ticks_lateness(qtbot):
    """Ticks 8.5 ms apart (late ones, as on a busy window) and new data at every tick: the
    panel redraws 12.5 times a second. Timed from each redraw, every interval took the wait
    for the next tick too: 85 ms, 11.8 Hz."""
    now = [0.0]
    panel = FakePanel("a")
    ticks = RedrawTicks([panel], clock=lambda: now[0])
    ticks.stop()
    while now[0] < 10.0:
        panel.dirty = True
        ticks.tick()
        now[0] += 0.0085
    assert panel.redraws / now[0] == pytest.approx(PANEL_MAX_HZ, rel=0.02)
