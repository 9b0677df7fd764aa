"""The transport bar: training controls (Train/Pause, Step, Reset, New seed) and the time
controls under the panels (slider over t = 0..T-1, ◀/▶, play with a speed, and a line saying
what the network read and wrote at t).

The bar only emits requests; the main window turns them into commands for the runner. The
time controls write to the shared TimeCursor, which the panels follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rnnviz.qt.timeline import TimeCursor
from rnnviz.qt.tokens import cursor_length

if TYPE_CHECKING:
    from rnnviz.core.trace import Trace
    from rnnviz.qt.actions import Actions


# ---------------------------------------------------------------------------- text at t


def describe_timestep(trace: Trace, t: int, b: int = 0) -> str:
    """What sequence b reads and writes at t, e.g.
    "t = 12 / 99   input: 'e'   output: 'e' (p=0.62), target 'e'".

    Works from the Trace alone (the Task lives in the worker): symbols are labelled with the
    vocabularies in `trace.meta`, classification outputs show the softmax probability of the
    predicted class, regression outputs their values. A step where the loss does not count
    says so.
    """
    T = cursor_length(trace)  # a padded sentence ends at its last word
    t = max(0, min(int(t), T - 1))
    meta = trace.meta
    head = f"t = {t} / {T - 1}"
    in_vocab, out_vocab = meta.get("input_vocab"), meta.get("output_vocab")
    if hasattr(trace, "dec_layers"):  # decoder step t reads the previous target token
        inp = f"'{trace.tokens_out[b, t - 1]}'" if t else "'<bos>'"
    elif in_vocab:
        inp = f"'{in_vocab[int(trace.x_raw[b, t])]}'"
    elif meta.get("task") == "adding":
        value, marker = np.asarray(trace.x_raw[b, t]).reshape(-1)
        inp = f"{value:.2f}, marker {int(marker)}"
    else:
        inp = _values(np.asarray(trace.x_raw[b, t]))
    y_hat = np.asarray(trace.y_hat[b, t], dtype=np.float64).reshape(-1)  # (O,)
    if out_vocab:
        p = np.exp(y_hat - y_hat.max())  # softmax, stable
        p /= p.sum()
        k = int(p.argmax())
        out = f"'{out_vocab[k]}' (p={p[k]:.2f}), target '{out_vocab[int(trace.y[b, t])]}'"
    else:
        out = f"{_values(y_hat)}, target {_values(trace.y[b, t])}"
    if not trace.loss_mask[b, t]:
        out += " (not scored)"
    return f"{head}   input: {inp}   output: {out}"


def _values(a) -> str:
    return ", ".join(_number(v) for v in np.asarray(a, dtype=np.float64).reshape(-1))


def _number(v: float) -> str:
    """0.42, -1.50; 3.92e+19 and 4.00e-05 where two decimals would mislead."""
    return f"{v:.2f}" if v == 0 or 0.01 <= abs(v) < 1e4 else f"{v:.2e}"


# ---------------------------------------------------------------------------- the bar


class TransportBar(QWidget):
    """Training buttons on the left; time slider, stepping, playback and the readout."""

    train_toggled = Signal(bool)  # True: train continuously; False: pause
    step_requested = Signal()
    reset_requested = Signal()
    new_seed_requested = Signal()

    def __init__(self, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transport")
        self.cursor = cursor
        self._trace: Trace | None = None

        self.train_button = QPushButton("Train")
        self.train_button.setCheckable(True)
        self.train_button.toggled.connect(self._on_train_toggled)
        self.step_button = QPushButton("Step")
        self.step_button.clicked.connect(self.step_requested)
        self.reset_button = QPushButton("Reset")
        self.reset_button.clicked.connect(self.reset_requested)
        self.seed_button = QPushButton("New seed")
        self.seed_button.clicked.connect(self.new_seed_requested)

        self.first_button = QToolButton(text="|◀")
        self.first_button.clicked.connect(lambda: cursor.set(0))
        self.last_button = QToolButton(text="▶|")
        self.last_button.clicked.connect(lambda: cursor.set(cursor.T - 1))
        self.back_button = QToolButton(text="◀")
        self.back_button.clicked.connect(lambda: cursor.step(-1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, cursor.T - 1)
        self.slider.setToolTip("Timestep t shown in every panel")
        self.slider.valueChanged.connect(cursor.set)
        self.forward_button = QToolButton(text="▶")
        self.forward_button.clicked.connect(lambda: cursor.step(1))
        self.play_button = QToolButton(text="Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.speed = QSpinBox()
        self.speed.setRange(1, 60)
        self.speed.setValue(10)
        self.speed.setSuffix(" t/s")
        self.speed.setToolTip("Animation speed, timesteps per second")
        self.speed.valueChanged.connect(self._on_speed)
        self.loop = QCheckBox("Loop")
        self.loop.setChecked(True)
        self.loop.setToolTip("Start again at t = 0 after the last timestep, or stop there")
        self.readout = QLabel("t = 0")
        self.readout.setObjectName("timeReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)
        self._on_speed(self.speed.value())

        for w in (
            self.train_button,
            self.step_button,
            self.reset_button,
            self.seed_button,
            self.first_button,
            self.back_button,
            self.forward_button,
            self.last_button,
            self.play_button,
            self.loop,
        ):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the window's shortcuts

        controls = QHBoxLayout()
        for w in (self.train_button, self.step_button, self.reset_button, self.seed_button):
            controls.addWidget(w)
        controls.addSpacing(16)
        controls.addWidget(self.first_button)
        controls.addWidget(self.back_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.forward_button)
        controls.addWidget(self.last_button)
        controls.addWidget(self.play_button)
        controls.addWidget(self.speed)
        controls.addWidget(self.loop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(2)
        layout.addLayout(controls)
        layout.addWidget(self.readout)

        cursor.changed.connect(self._on_time)
        cursor.length_changed.connect(self._on_length)

    # -- state from the window

    def describe(self, actions: Actions) -> None:
        """Tooltips from the window's actions: what each button does and its key."""
        for button, name in (
            (self.train_button, "train"),
            (self.step_button, "step"),
            (self.reset_button, "reset"),
            (self.seed_button, "new_seed"),
            (self.first_button, "first"),
            (self.last_button, "last"),
            (self.back_button, "prev"),
            (self.forward_button, "next"),
            (self.play_button, "play"),
        ):
            button.setToolTip(actions.tooltip(name))

    def set_training(self, running: bool) -> None:
        """Show whether training runs, without emitting train_toggled."""
        self.train_button.blockSignals(True)
        self.train_button.setChecked(running)
        self.train_button.blockSignals(False)
        self.train_button.setText("Pause" if running else "Train")

    def set_trace(self, trace: Trace | None) -> None:
        if trace is not self._trace:
            self._trace = trace
            self._update_readout()

    # -- user actions

    def toggle_training(self) -> None:
        self.train_button.toggle()

    def toggle_play(self) -> None:
        self.play_button.toggle()

    @Slot(bool)
    def _on_train_toggled(self, running: bool) -> None:
        self.train_button.setText("Pause" if running else "Train")
        self.train_toggled.emit(running)

    @Slot(bool)
    def _on_play_toggled(self, playing: bool) -> None:
        self.play_button.setText("Stop" if playing else "Play")
        if playing:
            if self.cursor.t >= self.cursor.T - 1:
                self.cursor.set(0)
            self._timer.start()
        else:
            self._timer.stop()

    @Slot(int)
    def _on_speed(self, per_second: int) -> None:
        self._timer.setInterval(round(1000 / per_second))

    @Slot()
    def _advance(self) -> None:
        if self.cursor.t < self.cursor.T - 1:
            self.cursor.step(1)
        elif self.loop.isChecked():
            self.cursor.set(0)
        else:
            self.play_button.setChecked(False)

    @Slot(int)
    def _on_time(self, t: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(t)
        self.slider.blockSignals(False)
        self._update_readout()

    @Slot(int)
    def _on_length(self, T: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, T - 1)
        self.slider.setValue(self.cursor.t)
        self.slider.blockSignals(False)
        self._update_readout()

    def _update_readout(self) -> None:
        if self._trace is None:
            self.readout.setText(f"t = {self.cursor.t} / {self.cursor.T - 1}")
        else:
            self.readout.setText(describe_timestep(self._trace, self.cursor.t))

    def stop_playing(self) -> None:
        self.play_button.setChecked(False)
