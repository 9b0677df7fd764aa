"""The settings side bar: every Config setting as a form, validated as a whole.

Each edit builds a candidate Config with `Config.replace` (which validates); an invalid one is
refused in place, its ConfigError shown in red under the form, and nothing is applied. Learning
rate and clipping apply live (`learning_rate_changed`, `clipping_changed`); everything else
needs a new model and waits for "Apply (new model)", which asks first when training has
progressed past step 0 and then emits `apply_requested(config)`.
"""

from __future__ import annotations

import math
from dataclasses import fields

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rnnviz.core.config import (
    ENCODERS,
    INITS,
    LIVE_FIELDS,
    Config,
    ConfigError,
)

TASK_LABELS = {
    "sine": "Sine wave (next value)",
    "adding": "Adding problem",
    "copy": "Copy memory",
    "charlm": "Character language model",
}
# The cell menu joins `cell` and the Elman RNN's `nonlinearity` ("cell:nonlinearity").
CELL_LABELS = {
    "rnn:tanh": "RNN (tanh)",
    "rnn:relu": "RNN (ReLU)",
    "lstm": "LSTM",
    "peephole-lstm": "Peephole LSTM",
    "gru": "GRU",
    "simple-gru": "Simplified GRU",
}
OPTIMIZER_LABELS = {"sgd": "SGD (momentum)", "adam": "Adam", "rmsprop": "RMSprop"}
CLIP_LABELS = {"none": "none", "norm": "by global norm", "value": "by value"}
LSTM_CELLS = ("lstm", "peephole-lstm")
MAX_SEED = 2**31 - 1


class LogSpinBox(QDoubleSpinBox):
    """A spin box for scale-free positive numbers (learning rate, clip threshold): shows 1e-05 and
    steps along 1, 2, 5, 10, 20, … The minimum is 0 so that typing 0 is refused with a reason
    rather than silently clamped."""

    LADDER = (1.0, 2.0, 5.0)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(20)  # QDoubleSpinBox rounds to this: keep every digit a float has
        self.setRange(0.0, 1e6)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt API)
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt API)
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate  # "1e", "-", "" on the way to a number
        ok = self.minimum() <= value <= self.maximum()
        return QValidator.State.Acceptable if ok else QValidator.State.Intermediate

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt API)
        value = self.value() if self.value() > 0 else 1e-3
        decade = math.floor(math.log10(value) + 1e-9)
        mantissa = value / 10**decade
        rung = max(i for i, m in enumerate(self.LADDER) if m <= mantissa * (1 + 1e-9))
        on_rung = math.isclose(mantissa, self.LADDER[rung], rel_tol=1e-6)
        # Between two rungs, `rung` is the one below: a step down lands on it, not past it.
        index = decade * 3 + rung + steps + (steps < 0 and not on_rung)
        decade, rung = divmod(index, 3)
        self.setValue(min(self.maximum(), self.LADDER[rung] * 10**decade))


class SettingsPanel(QWidget):
    """The side bar. `set_config` shows a running config; `config()` is what the form says."""

    learning_rate_changed = Signal(float)
    clipping_changed = Signal(str, float)  # mode, threshold
    apply_requested = Signal(object)  # the new Config, confirmed by the user
    suggest_threshold_requested = Signal()  # the user asks for Pascanu's clip threshold

    def __init__(self, config: Config | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settings")
        self._applied = config or Config()
        self._loading = False
        self.step = 0  # the running model's step, for the confirmation before Apply

        self.task = _combo(TASK_LABELS)
        self.seq_len = _spin(2, 100_000)
        self.batch = _spin(1, 65_536)
        self.text = QLineEdit()
        self.text.setPlaceholderText("bundled text")
        self.text.setToolTip("A UTF-8 text file to learn (empty: the bundled text)")
        self.text_button = QToolButton(text="…")
        self.text_button.setToolTip("Choose a text file")
        self.text_button.clicked.connect(self._choose_text)

        self.cell = _combo(CELL_LABELS)
        self.hidden = _spin(1, 4096)
        self.layers = _spin(1, 4)
        self.bidirectional = QCheckBox("bidirectional")
        self.encoder = _combo({e: e for e in ENCODERS})
        self.embed_dim = _spin(1, 4096)
        self.init = _combo({i: i for i in INITS})
        self.use_radius = QCheckBox()
        self.use_radius.setToolTip("Rescale each recurrent matrix W_hh to this spectral radius")
        self.radius = _double(0.0, 100.0, 3, 0.1)
        self.use_forget_bias = QCheckBox()
        self.use_forget_bias.setToolTip("LSTM: set the forget-gate bias (else the initialiser's)")
        self.forget_bias = _double(-100.0, 100.0, 2, 0.5)

        self.optimizer = _combo(OPTIMIZER_LABELS)
        self.momentum = _double(0.0, 0.999, 3, 0.05)
        self.lr = LogSpinBox()
        self.lr.setToolTip("Applies live")
        self.clip = _combo(CLIP_LABELS)
        self.clip_threshold = LogSpinBox()
        self.clip_threshold.setToolTip("Applies live: the largest gradient norm or value")
        self.suggest_button = QToolButton(text="suggest")
        self.suggest_button.setToolTip(
            "Norm clipping at the average gradient norm of the recent steps (Pascanu et al. "
            "2013: thresholds from half to ten times the average work)"
        )
        self.suggest_button.clicked.connect(self.suggest_threshold_requested)
        self.device = _combo({})
        self.seed = _spin(0, MAX_SEED)
        self.set_devices([])

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        _section(form, "Task")
        form.addRow("task", self.task)
        form.addRow("length T", self.seq_len)
        form.addRow("batch B", self.batch)
        form.addRow("text file", _row(self.text, self.text_button))
        _section(form, "Model")
        form.addRow("cell", self.cell)
        form.addRow("hidden H", self.hidden)
        form.addRow("layers", _row(self.layers, self.bidirectional))
        form.addRow("encoder", self.encoder)
        form.addRow("embedding", self.embed_dim)
        form.addRow("init", self.init)
        form.addRow("spectral radius", _row(self.use_radius, self.radius))
        form.addRow("forget-gate bias", _row(self.use_forget_bias, self.forget_bias))
        _section(form, "Optimisation", "learning rate and clipping apply live")
        form.addRow("optimiser", self.optimizer)
        form.addRow("momentum", self.momentum)
        form.addRow("learning rate", self.lr)
        form.addRow("clipping", self.clip)
        form.addRow("threshold", _row(self.clip_threshold, self.suggest_button, stretch=False))
        _section(form, "Run")
        form.addRow("device", self.device)
        form.addRow("seed", self.seed)

        self.message = QLabel()  # the reason a value is refused
        self.message.setObjectName("settingsError")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #B00020; font-weight: bold;")
        self.message.hide()
        self.pending = QLabel()  # what Apply would change
        self.pending.setWordWrap(True)
        self.pending.hide()
        self.apply_button = QPushButton("Apply (new model)")
        self.apply_button.setToolTip("Build a new model with these settings and start again")
        self.apply_button.clicked.connect(self.apply)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setToolTip("Show the running model's settings again")
        self.revert_button.clicked.connect(self.revert)

        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.addLayout(form)
        inner_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.pending)
        layout.addLayout(_row(self.apply_button, self.revert_button, stretch=False))

        self._write_form(self._applied)
        for w in self._inputs():
            if isinstance(w, QComboBox):
                w.currentIndexChanged.connect(self._on_edit)
            elif isinstance(w, QCheckBox):
                w.toggled.connect(self._on_edit)
            elif isinstance(w, QLineEdit):
                w.editingFinished.connect(self._on_edit)
            else:
                w.valueChanged.connect(self._on_edit)
        self._on_edit()

    # -- public

    def config(self) -> Config:
        """The settings the form shows, validated (raises ConfigError if they are not usable)."""
        return self._applied.replace(**self._read_form())

    def set_config(self, config: Config) -> None:
        """Show `config` as the running one: the form holds it and nothing is pending."""
        self._applied = config
        self._write_form(config)
        self._on_edit()

    def applied_config(self) -> Config:
        """The running model's settings, including the live changes sent since."""
        return self._applied

    def set_step(self, step: int) -> None:
        self.step = step

    def set_devices(self, devices: list[str]) -> None:
        """Offer 'auto' plus the devices that really exist (the runner reports them)."""
        wanted = self.device.currentData() or self._applied.device
        names = ["auto", *devices]
        if wanted not in names:  # keep what the running config asked for, say it is missing
            names.append(wanted)
        self._loading = True
        self.device.clear()
        for name in names:
            label = "auto (best available)" if name == "auto" else name
            if devices and name not in devices and name != "auto":
                label += " (not available)"
            self.device.addItem(label, name)
        self.device.setCurrentIndex(max(0, self.device.findData(wanted)))
        self._loading = False

    def set_clipping(self, mode: str, threshold: float) -> None:
        """Set clipping in the form; it applies live like a user's edit."""
        self._loading = True
        _select(self.clip, mode)
        self.clip_threshold.setValue(threshold)
        self._loading = False
        self._on_edit()

    def error_text(self) -> str:
        return self.message.text() if not self.message.isHidden() else ""

    def new_seed(self) -> None:
        """Take the next seed and ask for a new model (confirming if training progressed)."""
        self.seed.setValue((self.seed.value() + 1) % (MAX_SEED + 1))
        self._request_new_model(only_if_changed=False)

    @Slot()
    def apply(self) -> None:
        """Ask for a new model with the form's settings (confirming if training progressed)."""
        self._request_new_model(only_if_changed=True)

    def _request_new_model(self, only_if_changed: bool) -> None:
        try:
            candidate = self.config()
        except ConfigError as e:
            self._show_error(str(e))
            return
        if only_if_changed and not self._applied.needs_new_model(candidate):
            return
        if self.step > 0:
            answer = QMessageBox.question(
                self,
                "Start a new model?",
                f"The model has trained for {self.step} steps. A new model starts again from "
                "step 0 and this one is lost.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.apply_requested.emit(candidate)

    @Slot()
    def revert(self) -> None:
        self.set_config(self._applied)

    # -- form <-> Config

    def _inputs(self) -> tuple[QWidget, ...]:
        return (
            self.task,
            self.seq_len,
            self.batch,
            self.text,
            self.cell,
            self.hidden,
            self.layers,
            self.bidirectional,
            self.encoder,
            self.embed_dim,
            self.init,
            self.use_radius,
            self.radius,
            self.use_forget_bias,
            self.forget_bias,
            self.optimizer,
            self.momentum,
            self.lr,
            self.clip,
            self.clip_threshold,
            self.device,
            self.seed,
        )

    def _read_form(self) -> dict:
        cell, _, nonlinearity = self.cell.currentData().partition(":")
        return {
            "task": self.task.currentData(),
            "seq_len": self.seq_len.value(),
            "batch": self.batch.value(),
            "text": self.text.text().strip() or None,
            "cell": cell,
            # other cells ignore the nonlinearity: keep the running value so it is no change
            "nonlinearity": nonlinearity or self._applied.nonlinearity,
            "hidden": self.hidden.value(),
            "layers": self.layers.value(),
            "bidirectional": self.bidirectional.isChecked(),
            "encoder": self.encoder.currentData(),
            "embed_dim": self.embed_dim.value(),
            "init": self.init.currentData(),
            "spectral_radius": self.radius.value() if self.use_radius.isChecked() else None,
            "forget_bias": (self.forget_bias.value() if self.use_forget_bias.isChecked() else None),
            "optimizer": self.optimizer.currentData(),
            "momentum": self.momentum.value(),
            "lr": self.lr.value(),
            "clip": self.clip.currentData(),
            "clip_threshold": self.clip_threshold.value(),
            "device": self.device.currentData(),
            "seed": self.seed.value(),
        }

    def _write_form(self, cfg: Config) -> None:
        self._loading = True
        _select(self.task, cfg.task)
        self.seq_len.setValue(cfg.seq_len)
        self.batch.setValue(cfg.batch)
        self.text.setText(cfg.text or "")
        _select(self.cell, f"rnn:{cfg.nonlinearity}" if cfg.cell == "rnn" else cfg.cell)
        self.hidden.setValue(cfg.hidden)
        self.layers.setValue(cfg.layers)
        self.bidirectional.setChecked(cfg.bidirectional)
        _select(self.encoder, cfg.encoder)
        self.embed_dim.setValue(cfg.embed_dim)
        _select(self.init, cfg.init)
        self.use_radius.setChecked(cfg.spectral_radius is not None)
        self.radius.setValue(1.0 if cfg.spectral_radius is None else cfg.spectral_radius)
        self.use_forget_bias.setChecked(cfg.forget_bias is not None)
        self.forget_bias.setValue(1.0 if cfg.forget_bias is None else cfg.forget_bias)
        _select(self.optimizer, cfg.optimizer)
        self.momentum.setValue(cfg.momentum)
        self.lr.setValue(cfg.lr)
        _select(self.clip, cfg.clip)
        self.clip_threshold.setValue(cfg.clip_threshold)
        if self.device.findData(cfg.device) < 0:
            self.device.addItem(cfg.device, cfg.device)
        _select(self.device, cfg.device)
        self.seed.setValue(cfg.seed)
        self._loading = False

    # -- reacting to edits

    @Slot()
    def _on_edit(self, *_args) -> None:
        if self._loading:
            return
        self._enable_dependent_fields()
        errors = []
        values = self._read_form()
        # Live settings apply on their own, even while another field is being fixed.
        live = {name: values[name] for name in LIVE_FIELDS}
        try:
            running = self._applied.replace(**live)
        except ConfigError as e:
            errors.append(str(e))
        else:
            self._apply_live(running)
        try:  # the rest, with the live settings now running (so each error shows once)
            candidate = self._applied.replace(**{**values, **_live(self._applied)})
        except ConfigError as e:
            errors.append(str(e))
            candidate = None
        if errors:
            self._show_error("\n".join(errors))
        else:
            self.message.hide()
        changed = [] if candidate is None else _changed_fields(self._applied, candidate)
        self.apply_button.setEnabled(bool(changed))
        self.revert_button.setEnabled(bool(changed) or bool(errors))
        self.pending.setVisible(bool(changed))
        self.pending.setText(f"Needs a new model: {', '.join(changed)}" if changed else "")

    def _apply_live(self, running: Config) -> None:
        old, self._applied = self._applied, running
        if running.lr != old.lr:
            self.learning_rate_changed.emit(running.lr)
        if (running.clip, running.clip_threshold) != (old.clip, old.clip_threshold):
            self.clipping_changed.emit(running.clip, running.clip_threshold)

    def _show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
        self.apply_button.setEnabled(False)

    def _enable_dependent_fields(self) -> None:
        charlm = self.task.currentData() == "charlm"
        self.text.setEnabled(charlm)
        self.text_button.setEnabled(charlm)
        self.embed_dim.setEnabled(self.encoder.currentData() in ("auto", "embedding", "linear"))
        self.radius.setEnabled(self.use_radius.isChecked())
        lstm = self.cell.currentData() in LSTM_CELLS
        self.use_forget_bias.setEnabled(lstm)
        self.forget_bias.setEnabled(lstm and self.use_forget_bias.isChecked())
        self.momentum.setEnabled(self.optimizer.currentData() == "sgd")
        self.clip_threshold.setEnabled(self.clip.currentData() != "none")

    @Slot()
    def _choose_text(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Text to learn", self.text.text(), "Text files (*.txt);;All files (*)"
        )
        if path:
            self.text.setText(path)
            self._on_edit()


def _live(config: Config) -> dict:
    return {name: getattr(config, name) for name in LIVE_FIELDS}


def _changed_fields(old: Config, new: Config) -> list[str]:
    return [
        f.name
        for f in fields(Config)
        if f.name not in LIVE_FIELDS and getattr(old, f.name) != getattr(new, f.name)
    ]


def _combo(items: dict) -> QComboBox:
    box = QComboBox()
    # Let the side bar be narrow: long item texts must not set its minimum width.
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(8)
    for data, label in items.items():
        box.addItem(label, data)
    return box


def _select(box: QComboBox, data) -> None:
    index = box.findData(data)
    if index >= 0:
        box.setCurrentIndex(index)


def _spin(lo: int, hi: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setKeyboardTracking(False)  # one edit per number typed, not one per digit
    box.setAccelerated(True)
    return box


def _double(lo: float, hi: float, decimals: int, step: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setKeyboardTracking(False)
    return box


def _row(*widgets: QWidget, stretch: bool = True) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        row.addWidget(w, 1 if stretch and i == len(widgets) - 1 else 0)
    return row


def _section(form: QFormLayout, title: str, note: str = "") -> None:
    label = QLabel(title)
    label.setStyleSheet("font-weight: bold; padding-top: 6px;")
    if note:
        label.setToolTip(note)
        label.setText(f"{title} <span style='font-weight: normal; color: gray;'>({note})</span>")
        label.setWordWrap(True)
    form.addRow(label)
