"""The redraw budget: one dirty, visible panel redraws a tick, in turn, none twice in a row
while another waits."""

from __future__ import annotations

from rnnviz.qt.redraw_ticks import RedrawTicks


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
