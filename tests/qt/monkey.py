"""A seeded monkey for the real window: random user actions, every failure counted.

`Monkey(window, seed).run(n)` performs n actions drawn from what a user does in class: keys
(train / pause, step, reset, the time cursor, play), settings changed and applied, presets,
exports into a temporary folder, presentation mode, docks floated, hidden and shown, and
window resizes. Training runs during about half of them. It counts what a user would see go
wrong:

- exceptions: Python exceptions raised into the event loop (sys.excepthook), and errors that
  pyqtgraph prints instead of raising ("Error sending hover exit event …");
- runs that the training process ended with an unexpected error (the window's error line
  "Training stopped: …"; the traceback is in the training process's log);
- Qt warnings (qInstallMessageHandler);
- numerical warnings in the window's process (RuntimeWarning: a NaN or an overflow drawn, as
  pyqtgraph's "All-NaN slice" for a scatter of NaN), each place once;
- event-loop stalls: a 10 ms timer that fires more than `stall_s` late (an action that holds
  the window's thread that long counts too: the user waits just the same).

Used by tests/qt/test_monkey.py (300 actions in the suite) and benchmarks/bench_monkey.py
(2,000 and more). Modal dialogs are answered at once (`answer_dialogs`): a monkey cannot
click a message box, and a confirmation is part of the action that asked for it.
"""

from __future__ import annotations

import io
import random
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QRect, Qt, QTimer, qInstallMessageHandler
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QComboBox, QMessageBox

from rnnviz.core.worker import STOPPED_BY_ERROR
from rnnviz.qt.export import FigureSize

KEYS = (
    Qt.Key.Key_Space,
    Qt.Key.Key_S,
    Qt.Key.Key_R,
    Qt.Key.Key_Left,
    Qt.Key.Key_Right,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
    Qt.Key.Key_P,
)
# Settings a monkey may apply: small models only, so that a run of thousands of actions
# measures the window, not how long a wide model takes to build.
SMALL = {
    "hidden": (4, 8, 16, 32),
    "layers": (1, 2),
    "seq_len": (10, 20, 40),
    "batch": (4, 8, 16),
    "embed_dim": (4, 8, 16),
    "lr": (1e-3, 1e-2, 0.1),
    "weight_decay": (0.0, 0.2, 1.0),
}
SIZES = ((1280, 720), (1600, 1000), (1920, 1080), (1000, 700))
STDERR_ERRORS = ("Error", "Traceback", "Exception")
# What Qt's offscreen platform says of windows it has no screen for: notices, not bugs.
OFFSCREEN_NOTICES = ("does not support propagateSizeHints", "does not support raise()")


@dataclass
class Report:
    actions: Counter = field(default_factory=Counter)
    exceptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    numerical: list[str] = field(default_factory=list)  # RuntimeWarnings, each place once
    stalls: list[tuple[str, float]] = field(default_factory=list)  # (what held the loop, s)
    max_late_s: float = 0.0
    seconds: float = 0.0
    # the longest delays of the run, stalls or not: (seconds, what), longest first
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def delay(self, seconds: float, what: str, stall_s: float) -> None:
        """Count an event-loop delay: the worst, the eight longest, a stall over stall_s."""
        self.max_late_s = max(self.max_late_s, seconds)
        self.slowest = sorted([*self.slowest, (seconds, what)], reverse=True)[:8]
        if seconds > stall_s:
            self.stalls.append((what, seconds))

    @property
    def failures(self) -> int:
        return len(self.exceptions) + len(self.warnings) + len(self.numerical) + len(self.stalls)

    def summary(self) -> str:
        return (
            f"{sum(self.actions.values())} actions in {self.seconds:.0f} s: "
            f"{len(self.exceptions)} exceptions, {len(self.warnings)} Qt warnings, "
            f"{len(self.numerical)} numerical warnings, "
            f"{len(self.stalls)} stalls > limit (worst event-loop delay {self.max_late_s:.2f} s)"
        )


class _StderrTap(io.TextIOBase):
    """Passes writes through to the real stderr and keeps the lines that report an error."""

    def __init__(self, real, sink: list[str]) -> None:
        self.real, self.sink = real, sink

    def write(self, text: str) -> int:
        if any(word in text for word in STDERR_ERRORS):
            self.sink.append(text.strip()[:500])
        return self.real.write(text)

    def flush(self) -> None:
        self.real.flush()


class Monkey:
    def __init__(self, window, seed: int, export_dir: str | Path | None = None) -> None:
        self.w = window
        self.rng = random.Random(seed)
        self.report = Report()
        self.export_dir = Path(export_dir or tempfile.mkdtemp(prefix="rnnviz-monkey-"))
        self.export_dir.mkdir(parents=True, exist_ok=True)
        self.presets = list(window.preset_menu.preset_actions.values())
        self.ops = [
            (30, self.key),
            (8, self.cursor),
            (10, self.train_toggle),
            (6, self.settings_apply),
            (3, self.preset),
            (3, self.export),
            (3, self.presentation),
            (5, self.dock),
            (4, self.resize),
            (8, self.wait),
        ]

    # -- the actions

    def key(self) -> str:
        key = self.rng.choice(KEYS)
        QTest.keyClick(self.w, key)
        return f"key {Qt.Key(key).name}"

    def cursor(self) -> str:
        T = self.w.cursor.T
        self.w.cursor.set(self.rng.randrange(max(T, 1)))
        return "cursor"

    def train_toggle(self) -> str:
        self.w.actions.train.trigger()
        return "train/pause"

    def settings_apply(self) -> str:
        s = self.w.settings
        choices = ("cell", "task", "optimizer", "clip", "encoder", "init", "bidirectional")
        name = self.rng.choice([*SMALL, *choices])
        widget = getattr(s, name)
        if isinstance(widget, QComboBox):
            widget.setCurrentIndex(self.rng.randrange(widget.count()))
        elif isinstance(widget, QCheckBox):
            widget.setChecked(not widget.isChecked())
        else:
            widget.setValue(self.rng.choice(SMALL[name]))
        s.apply_button.click()
        return f"apply {name}"

    def preset(self) -> str:
        self.rng.choice(self.presets).trigger()
        return "preset"

    def export(self) -> str:
        panel = self.w.focused_panel()
        panel.export(self.export_dir / f"{panel.key}.png", FigureSize(640))
        return "export"

    def presentation(self) -> str:
        self.w.actions.presentation.trigger()
        return "presentation"

    def dock(self) -> str:
        dock = self.rng.choice(list(self.w.docks.values()))
        if dock.isFloating():
            dock.setFloating(False)
        elif not dock.isVisible():
            dock.show()  # a laboratory panel is built as its dock first shows, as from View
        elif self.rng.random() < 0.5:
            dock.hide()
        else:
            dock.setFloating(True)
            dock.setGeometry(QRect(50, 50, 600, 400))
        return "dock"

    def resize(self) -> str:
        if self.w.isFullScreen():
            return "resize (full screen)"
        self.w.resize(*self.rng.choice(SIZES))
        return "resize"

    def wait(self) -> str:
        self._spin(self.rng.choice((0.05, 0.2, 0.5)))
        return "wait"

    # -- the run

    def run(self, n: int, pause_s: float = 0.01, stall_s: float = 2.0) -> Report:
        r = self.report
        weights = [w for w, _ in self.ops]
        previous = qInstallMessageHandler(self._on_qt_message)
        hook, stderr = sys.excepthook, sys.stderr
        sys.excepthook = self._on_exception
        sys.stderr = _StderrTap(stderr, r.exceptions)
        self.w.runner.error.connect(self._on_run_error)
        answers = answer_dialogs()
        caught = warnings.catch_warnings(record=True)
        recorded = caught.__enter__()
        warnings.simplefilter("default", RuntimeWarning)  # each place once
        clock, last, previous_op = QElapsedTimer(), [0], ["start"]
        clock.start()

        def tick() -> None:
            late = (clock.elapsed() - last[0]) / 1000 - 0.01
            last[0] = clock.elapsed()
            if late > 0.1:
                r.delay(late, f"between actions (after {previous_op[0]})", stall_s)

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        timer.start()
        start = time.perf_counter()
        try:
            for _ in range(n):
                _, op = self.rng.choices(self.ops, weights)[0]
                began = time.perf_counter()
                label = op.__name__
                try:
                    label = op()
                    r.actions[label] += 1
                except Exception as e:  # noqa: BLE001 (an action that raises is a finding)
                    r.exceptions.append(
                        f"{op.__name__}: {type(e).__name__}: {e}{where(e.__traceback__)}"
                    )
                took = time.perf_counter() - began
                if op != self.wait:  # (bound methods: a new object each time, never `is`)
                    r.delay(took, label, stall_s)
                previous_op[0] = label
                last[0] = clock.elapsed()  # counted above: not twice
                self._spin(pause_s)
        finally:
            timer.stop()
            r.seconds = time.perf_counter() - start
            answers.restore()
            caught.__exit__(None, None, None)
            r.numerical = [
                f"{w.category.__name__}: {w.message} at {Path(w.filename).name}:{w.lineno}"
                for w in recorded
                if issubclass(w.category, RuntimeWarning)
            ]
            sys.excepthook, sys.stderr = hook, stderr
            self.w.runner.error.disconnect(self._on_run_error)
            qInstallMessageHandler(previous)
        return r

    def _spin(self, seconds: float) -> None:
        """Run the event loop for `seconds` (the window keeps drawing, snapshots arrive)."""
        QTest.qWait(round(1000 * seconds))

    def _on_exception(self, kind, value, tb) -> None:
        self.report.exceptions.append(f"{kind.__name__}: {value}{where(tb)}")

    def _on_run_error(self, message: str) -> None:
        if message.startswith(STOPPED_BY_ERROR):
            self.report.exceptions.append(f"training process: {message[:500]}")

    def _on_qt_message(self, mode, context, message: str) -> None:
        if any(notice in message for notice in OFFSCREEN_NOTICES):
            return
        if mode.name != "QtDebugMsg" and mode.name != "QtInfoMsg":
            self.report.warnings.append(message[:500])


def where(tb, frames: int = 10) -> str:
    """The innermost frames of a traceback, one 'file:line function' each: enough to find
    what raised from a report line."""
    stack = traceback.extract_tb(tb)[-frames:]
    return "".join(f"\n      at {Path(f.filename).name}:{f.lineno} {f.name}" for f in stack)


class answer_dialogs:  # noqa: N801 (used like a context manager's object)
    """Modal message boxes answer at once: Yes to questions, OK to the rest."""

    NAMES = ("question", "information", "warning", "critical")

    def __init__(self) -> None:
        self.saved = {name: getattr(QMessageBox, name) for name in self.NAMES}
        yes = QMessageBox.StandardButton.Yes
        QMessageBox.question = staticmethod(lambda *a, **k: yes)
        for name in self.NAMES[1:]:
            setattr(QMessageBox, name, staticmethod(lambda *a, **k: QMessageBox.StandardButton.Ok))

    def restore(self) -> None:
        for name, f in self.saved.items():
            setattr(QMessageBox, name, f)
