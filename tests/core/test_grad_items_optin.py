"""The itemized gradients are recorded only while a panel that draws them is shown: SetGradItems
switches them in a running session, and a trace without them says why (core/protocol.py,
core/train.py)."""

from __future__ import annotations

from rnnviz.core.config import Config
from rnnviz.core.loop import session
from rnnviz.core.memory_reach import REACH_FRACTION, reach_over_training
from rnnviz.core.protocol import GRAD_ITEMS_UNWATCHED, SetGradItems, Snapshot, Step
from rnnviz.core.train import Trainer


def test_the_command_switches_the_itemized_gradients_of_the_recordings():
    cfg = Config(task="charlm", hidden=8, seq_len=12, batch=4, device="cpu")
    run = session(Trainer(cfg), clock=lambda: 0.0, grad_items=False)
    first = next(run)
    assert first.trace.layer(0).grad_items is None
    assert first.trace.meta["grad_items"] == GRAD_ITEMS_UNWATCHED
    shown = run.send(SetGradItems(True))  # recorded again at once, with them
    assert isinstance(shown, Snapshot) and shown.trace is not first.trace
    assert shown.trace.layer(0).grad_items.shape == (12, 12, 8)
    assert shown.trace.meta["grad_items"].startswith("computed")
    run.send(SetGradItems(False))
    hidden = run.send(Step(1))  # the step's recording, shown at once
    assert hidden.step == 1 and hidden.trace.layer(0).grad_items is None
    # the memory reach over training has a gap where no panel watched, not a made-up value
    reach = reach_over_training(hidden.probes.profiles["l0"], REACH_FRACTION)
    assert list(hidden.probes.step) == [0, 0, 1] and reach[1] >= 0
    assert reach[0] != reach[0] and reach[2] != reach[2]  # NaN


def test_lstm_h128_t200_is_within_the_budget():
    """Issue 13: the items for T <= 200 at least; the largest default-size model."""
    from rnnviz.core.grad_items import grad_items_skip_reason

    cfg = Config(task="charlm", cell="lstm", hidden=128, seq_len=200, device="cpu")
    assert grad_items_skip_reason(cfg, 64, list(range(200)), 200) is None
