"""The settings side bar: every Config setting as a form, validated as a whole.

Each edit builds a candidate Config with `Config.replace` (which validates: the same rules and
words as the command line). A refused value stays in its field with the reason in red beside
it (refusals.py finds which fields a reason is about), and nothing is applied. Learning rate and
clipping apply live (`learning_rate_changed`, `clipping_changed`); everything else needs a new
model and waits for "Apply (new model)", which asks first when training has progressed past
step 0 and then emits `apply_requested(config)`. A new model of another task starts at that
task's learning rate and weight decay (TaskSpec) unless the user set them.
"""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rnnviz.core.config import ENCODERS, INITS, LIVE_FIELDS, Config, ConfigError, task_defaults
from rnnviz.core.tasks import TASKS
from rnnviz.qt.form import combo, refusal_note, row, section, select, whole_number
from rnnviz.qt.number_field import NumberField
from rnnviz.qt.settings_choices import (
    CELL_LABELS,
    TASK_LABELS,
    has_forget_gate,
    nonlinearity_chosen,
    unused_settings,
)
from rnnviz.qt.settings_data import DataField
from rnnviz.qt.settings_seq2seq import Seq2SeqFields

OPTIMIZER_LABELS = {"sgd": "SGD (momentum)", "adam": "Adam", "rmsprop": "RMSprop"}
CLIP_LABELS = {"none": "none", "norm": "by global norm", "value": "by value"}
MAX_SEED = 2**31 - 1  # the largest a spin box holds: "New seed" wraps here


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
        self._edited = ""  # the setting edited last: a reason about several shows beside it
        self._placed: dict[str, str | None] = {}  # reason -> the setting it shows beside
        self.step = 0  # the running model's step, for the confirmation before Apply

        self.task = combo(TASK_LABELS)
        self.seq_len = whole_number()
        self.batch = whole_number()
        self.text = QLineEdit()
        self.text.setPlaceholderText("bundled text")
        self.text.setToolTip("A UTF-8 text file to learn (empty: the bundled text)")
        self.text_button = QToolButton(text="…")
        self.text_button.setToolTip("Choose a text file")
        self.text_button.clicked.connect(self._choose_text)
        self.data = DataField(self)  # the user's data for sentiment and music

        self.cell = combo(CELL_LABELS)
        self.hidden = whole_number()
        self.layers = whole_number()
        self.bidirectional = QCheckBox("bidirectional")
        self.encoder = combo({e: e for e in ENCODERS})
        self.embed_dim = whole_number()
        self.init = combo({i: i for i in INITS})
        self.use_radius = QCheckBox()
        self.use_radius.setToolTip("Rescale each recurrent matrix W_hh to this spectral radius")
        self.radius = NumberField(step=0.1)
        self.use_forget_bias = QCheckBox()
        self.use_forget_bias.setToolTip("LSTM: set the forget-gate bias (else the initialiser's)")
        self.forget_bias = NumberField(step=0.5)
        self.seq2seq = Seq2SeqFields()  # attention, beam, decoder cell: encoder-decoder tasks

        self.optimizer = combo(OPTIMIZER_LABELS)
        self.momentum = NumberField(step=0.05)
        self.lr = NumberField()
        self.lr.setToolTip("Applies live")
        self.weight_decay = NumberField(step=0.05)
        self.weight_decay.setToolTip("Each step shrinks every weight by learning rate × this")
        self.clip = combo(CLIP_LABELS)
        self.clip_threshold = NumberField()
        self.clip_threshold.setToolTip("Applies live: the largest gradient norm or value")
        self.suggest_button = QToolButton(text="suggest")
        self.suggest_button.setToolTip(
            "Norm clipping at the average gradient norm of the recent steps (Pascanu et al. "
            "2013: thresholds from half to ten times the average work)"
        )
        self.suggest_button.clicked.connect(self.suggest_threshold_requested)
        self.device = combo({})
        self.seed = whole_number()
        self.set_devices([])

        # the model settings a cell may have no use for (settings_choices.unused_settings)
        self._model_fields = {
            "layers": self.layers,
            "bidirectional": self.bidirectional,
            "spectral_radius": self.use_radius,
        }
        self._tips = {name: w.toolTip() for name, w in self._model_fields.items()}

        # (label, field, the settings it shows) or a section title: the form, top to bottom
        rows = (
            ("Task",),
            ("task", self.task, ("task",)),
            ("length T", self.seq_len, ("seq_len",)),
            ("batch B", self.batch, ("batch",)),
            ("text file", row(self.text, self.text_button), ("text",)),
            *self.data.rows(),
            ("Model",),
            ("cell", self.cell, ("cell", "nonlinearity")),
            ("hidden H", self.hidden, ("hidden",)),
            ("layers", self.layers, ("layers",)),
            ("", self.bidirectional, ("bidirectional",)),
            ("encoder", self.encoder, ("encoder",)),
            ("embedding", self.embed_dim, ("embed_dim",)),
            ("init", self.init, ("init",)),
            ("spectral radius", row(self.use_radius, self.radius), ("spectral_radius",)),
            ("forget-gate bias", row(self.use_forget_bias, self.forget_bias), ("forget_bias",)),
            *self.seq2seq.rows(),
            ("Optimisation", "learning rate and clipping apply live"),
            ("optimiser", self.optimizer, ("optimizer",)),
            ("momentum", self.momentum, ("momentum",)),
            ("learning rate", self.lr, ("lr",)),
            ("weight decay", self.weight_decay, ("weight_decay",)),
            ("clipping", self.clip, ("clip",)),
            (
                "threshold",
                row(self.clip_threshold, self.suggest_button, stretch=False),
                ("clip_threshold",),
            ),
            ("Run",),
            ("device", self.device, ("device",)),
            ("seed", self.seed, ("seed",)),
        )
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.notes: dict[str, QLabel] = {}  # setting -> the note under its row
        for entry in rows:
            if len(entry) < 3:
                section(self.form, *entry)
                continue
            label, field, names = entry
            note = refusal_note()
            self.form.addRow(label, field)
            self.form.addRow(note)
            self.form.setRowVisible(note, False)
            self.notes.update(dict.fromkeys(names, note))

        self.message = refusal_note()  # a reason about no field of the form (rare)
        self.message.setObjectName("settingsError")
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
        inner_layout.addLayout(self.form)
        inner_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(inner)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.pending)
        layout.addLayout(row(self.apply_button, self.revert_button, stretch=False))

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
        values = self._read_form()
        return self.data.checked(
            self._applied.replace(**{**values, **task_defaults(self._applied, values)}),
            self._applied,
        )

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
        select(self.clip, mode)
        self.clip_threshold.setValue(threshold)
        self._loading = False
        self._on_edit()

    def error_text(self) -> str:
        """Every reason shown now, one a line (empty when the form is usable)."""
        notes = dict.fromkeys([*self.notes.values(), self.message])  # each note once, in order
        return "\n".join(note.text() for note in notes if note.text())

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
        except ConfigError:
            self._show_refusals(self.data.refusals(self._read_form(), self._applied))
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

    def _inputs(self) -> dict[QWidget, str]:
        """Each input and the setting it edits."""
        return {
            self.task: "task",
            self.seq_len: "seq_len",
            self.batch: "batch",
            self.text: "text",
            **self.data.inputs(),
            self.cell: "cell",
            self.hidden: "hidden",
            self.layers: "layers",
            self.bidirectional: "bidirectional",
            self.encoder: "encoder",
            self.embed_dim: "embed_dim",
            self.init: "init",
            self.use_radius: "spectral_radius",
            self.radius: "spectral_radius",
            self.use_forget_bias: "forget_bias",
            self.forget_bias: "forget_bias",
            self.optimizer: "optimizer",
            self.momentum: "momentum",
            self.lr: "lr",
            self.weight_decay: "weight_decay",
            self.clip: "clip",
            self.clip_threshold: "clip_threshold",
            self.device: "device",
            self.seed: "seed",
            **self.seq2seq.inputs(),
        }

    def _read_form(self) -> dict:
        cell, _, nonlinearity = self.cell.currentData().partition(":")
        return {
            "task": self.task.currentData(),
            "seq_len": self.seq_len.value(),
            "batch": self.batch.value(),
            "text": self.text.text().strip() or None,
            **self.data.read(self.task.currentData()),
            "cell": cell,
            # other cells ignore the nonlinearity: keep the running value so it is no change
            "nonlinearity": nonlinearity or self._applied.nonlinearity,
            "hidden": self.hidden.value(),
            "layers": self.layers.value(),
            # a model without directions (the bag of words) is read as forward only
            "bidirectional": self.bidirectional.isChecked() and self.bidirectional.isEnabled(),
            "encoder": self.encoder.currentData(),
            "embed_dim": self.embed_dim.value(),
            "init": self.init.currentData(),
            "spectral_radius": self.radius.value() if self.radius.isEnabled() else None,
            "forget_bias": (self.forget_bias.value() if self.use_forget_bias.isChecked() else None),
            "optimizer": self.optimizer.currentData(),
            "momentum": self.momentum.value(),
            "lr": self.lr.value(),
            "weight_decay": self.weight_decay.value(),
            "clip": self.clip.currentData(),
            "clip_threshold": self.clip_threshold.value(),
            "device": self.device.currentData(),
            "seed": self.seed.value(),
            **self.seq2seq.read(self.task.currentData(), self._applied),
        }

    def _write_form(self, cfg: Config) -> None:
        self._loading = True
        select(self.task, cfg.task)
        self.seq_len.setValue(cfg.seq_len)
        self.batch.setValue(cfg.batch)
        self.text.setText(cfg.text or "")
        self.data.write(cfg)
        chosen = nonlinearity_chosen(cfg.cell)  # the menu entry names the nonlinearity too
        select(self.cell, f"{cfg.cell}:{cfg.nonlinearity}" if chosen else cfg.cell)
        self.hidden.setValue(cfg.hidden)
        self.layers.setValue(cfg.layers)
        self.bidirectional.setChecked(cfg.bidirectional)
        select(self.encoder, cfg.encoder)
        self.embed_dim.setValue(cfg.embed_dim)
        select(self.init, cfg.init)
        self.use_radius.setChecked(cfg.spectral_radius is not None)
        self.radius.setValue(1.0 if cfg.spectral_radius is None else cfg.spectral_radius)
        self.use_forget_bias.setChecked(cfg.forget_bias is not None)
        self.forget_bias.setValue(1.0 if cfg.forget_bias is None else cfg.forget_bias)
        select(self.optimizer, cfg.optimizer)
        self.momentum.setValue(cfg.momentum)
        self.lr.setValue(cfg.lr)
        self.weight_decay.setValue(cfg.weight_decay)
        select(self.clip, cfg.clip)
        self.clip_threshold.setValue(cfg.clip_threshold)
        if self.device.findData(cfg.device) < 0:
            self.device.addItem(cfg.device, cfg.device)
        select(self.device, cfg.device)
        self.seed.setValue(cfg.seed)
        self.seq2seq.write(cfg)
        self._loading = False

    # -- reacting to edits

    @Slot()
    def _on_edit(self, *_args) -> None:
        if self._loading:
            return
        self._edited = self._inputs().get(self.sender(), self._edited)
        self._enable_dependent_fields()
        values = self._read_form()
        # Live settings apply on their own, even while another field is being fixed.
        live = {name: values[name] for name in LIVE_FIELDS}
        try:
            running = self._applied.replace(**live)
        except ConfigError:
            pass  # the refusal shows beside the field
        else:
            self._apply_live(running)
        try:  # the rest, with the live settings now running
            own = task_defaults(self._applied, values)
            candidate = self._applied.replace(**{**values, **_live(self._applied), **own})
        except ConfigError:
            candidate, own = None, {}
        found = self.data.refusals(values, self._applied)
        self._show_refusals(found)
        changed = [] if candidate is None else _changed_fields(self._applied, candidate)
        changed = [name for name in changed if name not in own]
        if own:
            said = " and ".join(f"{_SAID[name]} {value:g}" for name, value in own.items())
            changed.append(f"the {values['task']} task's {said}")
        self.apply_button.setEnabled(bool(changed) and not found)
        self.revert_button.setEnabled(bool(changed) or bool(found))
        self.pending.setVisible(bool(changed))
        self.pending.setText(f"Needs a new model: {', '.join(changed)}" if changed else "")

    def _apply_live(self, running: Config) -> None:
        old, self._applied = self._applied, running
        if running.lr != old.lr:
            self.learning_rate_changed.emit(running.lr)
        if (running.clip, running.clip_threshold) != (old.clip, old.clip_threshold):
            self.clipping_changed.emit(running.clip, running.clip_threshold)

    def _show_refusals(self, found: list[tuple[str, tuple[str, ...]]]) -> None:
        """Each reason beside a field it is about: where it already shows, else beside the
        field edited last if it is among them, else the first in the form; under the form if
        it is about none."""
        texts: dict[QLabel, list[str]] = {note: [] for note in self.notes.values()}
        texts[self.message] = []
        placed = {}
        for reason, about in found:
            shown = [name for name in about if name in self.notes]
            name = next(
                (n for n in (self._placed.get(reason), self._edited) if n in shown),
                next(iter(shown), None),
            )
            placed[reason] = name
            texts[self.notes[name] if name else self.message].append(reason)
        self._placed = placed
        for note, reasons in texts.items():
            note.setText("\n".join(reasons))
            if note is self.message:
                note.setVisible(bool(reasons))
            else:
                self.form.setRowVisible(note, bool(reasons))
        if found:
            self.apply_button.setEnabled(False)

    def _enable_dependent_fields(self) -> None:
        learns_text = TASKS[self.task.currentData()].uses_text
        self.text.setEnabled(learns_text)
        self.text_button.setEnabled(learns_text)
        self.embed_dim.setEnabled(
            self.encoder.currentData() in ("auto", "embedding", "lookback", "linear")
        )
        cell = self.cell.currentData().partition(":")[0]
        unused = unused_settings(cell, self.task.currentData())  # disabled, the reason says why
        for name, field in self._model_fields.items():
            field.setEnabled(name not in unused)
            field.setToolTip(unused.get(name, self._tips[name]))
        self.radius.setEnabled(self.use_radius.isEnabled() and self.use_radius.isChecked())
        forget_gate = has_forget_gate(cell)
        self.use_forget_bias.setEnabled(forget_gate)
        self.forget_bias.setEnabled(forget_gate and self.use_forget_bias.isChecked())
        self.momentum.setEnabled(self.optimizer.currentData() == "sgd")
        self.clip_threshold.setEnabled(self.clip.currentData() != "none")
        self.seq2seq.show_for(self.form, self.task.currentData())
        self.data.show_for(self.form, self.task.currentData())

    @Slot()
    def _choose_text(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Text to learn", self.text.text(), "Text files (*.txt);;All files (*)"
        )
        if path:
            self.text.setText(path)
            self._on_edit()


_SAID = {"lr": "learning rate", "weight_decay": "weight decay"}  # TASK_DEFAULTS in words


def _live(config: Config) -> dict:
    return {name: getattr(config, name) for name in LIVE_FIELDS}


def _changed_fields(old: Config, new: Config) -> list[str]:
    return [
        f.name
        for f in fields(Config)
        if f.name not in LIVE_FIELDS and getattr(old, f.name) != getattr(new, f.name)
    ]
