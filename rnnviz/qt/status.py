"""The status bar's fields: which run, state, step, loss, gradient norm, clipping, speed,
recordings per second and device, and what each says for a snapshot.

Before the first training step there is no loss and no gradient (the snapshot holds NaN):
the bar then says "not trained yet", which a newcomer cannot mistake for a diverged run. A
field with nothing to say (the run, outside a comparison) is hidden rather than left blank.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QStatusBar

if TYPE_CHECKING:
    from rnnviz.core.protocol import Snapshot

FIELDS = (  # name, tooltip
    ("run", "the run of a comparison that the status bar and the panels follow"),
    ("state", "running, paused or diverged"),
    ("step", "training steps since the last reset"),
    ("loss", "loss of the last training batch"),
    ("grad", "‖∇‖: global gradient norm before clipping"),
    ("clip", "fraction of the last 100 steps that were clipped"),
    ("rate", "training steps per second"),
    ("recs", "recordings per second: how often the panels get new values (last 5 s)"),
    ("device", "where the model trains"),
)
NOT_TRAINED = "not trained yet"
RECORDING_WINDOW_S = 5.0  # recordings per second are counted over this many seconds


class StatusFields:
    """One label per field, at the right of `bar`; `fields["state"]` is its label."""

    def __init__(self, bar: QStatusBar, clock: Callable[[], float] = time.monotonic) -> None:
        self.labels: dict[str, QLabel] = {}
        self._clock = clock
        self._trace: object = None  # the last recording seen: a new one is a new object
        self._arrivals: deque[float] = deque()  # when each recent recording arrived
        for name, tip in FIELDS:
            label = QLabel()
            label.setObjectName(f"status_{name}")
            label.setToolTip(tip)
            bar.addPermanentWidget(label)
            self.labels[name] = label
        self.labels["run"].hide()
        self.labels["state"].setText("starting")

    def __getitem__(self, name: str) -> QLabel:
        return self.labels[name]

    def show(self, s: Snapshot) -> None:
        """What snapshot `s` says, field by field."""
        trained = s.step > 0  # at step 0 the loss and ‖∇‖ are NaN: that is no divergence
        now = self._clock()
        if s.trace is not None and s.trace is not self._trace:
            self._trace = s.trace
            self._arrivals.append(now)
        while self._arrivals and now - self._arrivals[0] > RECORDING_WINDOW_S:
            self._arrivals.popleft()
        recs = len(self._arrivals) / RECORDING_WINDOW_S
        texts = {
            # A comparison trains several runs; the first is the one the panels show in detail.
            "run": f"run: {s.runs[0].label}" if s.runs else "",
            "state": s.state,
            "step": f"step {s.step}",
            "loss": f"loss {s.loss:.4g}" if trained else NOT_TRAINED,
            "grad": f"‖∇‖ {s.grad_norm:.3g}" if trained else "",
            "clip": f"clipped {100 * s.clip_rate:.0f}%" if trained else "",
            "rate": f"{s.steps_per_s:.0f} steps/s",
            "recs": f"{recs:.1f} recordings/s" if s.state == "running" else "",
            "device": s.device,
        }
        for name, text in texts.items():
            label = self.labels[name]
            label.setText(text)
            label.setVisible(bool(text))
