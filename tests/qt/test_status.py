"""The status bar counts the recordings that reach the panels: each new trace once, over the
last five seconds, shown while training runs."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtWidgets import QStatusBar

from rnnviz.qt.status import RECORDING_WINDOW_S, StatusFields


def _snapshot(trace, state="running"):
    return SimpleNamespace(
        step=10, runs=(), state=state, loss=0.5, grad_norm=1.0, clip_rate=0.0,
        steps_per_s=100.0, device="cpu", trace=trace,
    )  # fmt: skip


def test_recordings_per_second_count_each_new_trace_once(qtbot):
    bar = QStatusBar()
    qtbot.addWidget(bar)
    now = [0.0]
    fields = StatusFields(bar, clock=lambda: now[0])
    traces = [object() for _ in range(30)]
    for k, trace in enumerate(traces):  # six recordings a second for five seconds
        now[0] = k / 6
        fields.show(_snapshot(trace))
        fields.show(_snapshot(trace))  # the same recording again: not counted twice
    assert fields["recs"].text() == f"{30 / RECORDING_WINDOW_S:.1f} recordings/s"
    now[0] += 3.0  # no new one for 3 s: those from t = 17/6 s on (13) are still in the window
    fields.show(_snapshot(traces[-1]))
    assert fields["recs"].text() == f"{13 / RECORDING_WINDOW_S:.1f} recordings/s"
    fields.show(_snapshot(traces[-1], state="paused"))
    assert fields["recs"].text() == "" and not fields["recs"].isVisibleTo(bar)
