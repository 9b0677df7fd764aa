"""File → Open model… and File → Open trace…: show a user's own model, or a recording rnnviz
wrote, in every panel without training.

Open trace reads an NPZ written by `rnnviz trace` (numpy only) and hands the panels a
Snapshot built from it. Open model runs `rnnviz trace --model … --input …` in a child process
(the window never imports torch, and a slow recording must not freeze it), then opens the NPZ
that wrote, so the window and the command line open a model by one path and say the same one
line when it fails.

While a trace is shown the training process is stopped and the training commands are off
(the time cursor, exports and the panels' controls work); Apply in the side bar, a new seed
or a lesson starts training again. A failure is one message, and the window keeps what it
showed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QElapsedTimer,
    QEvent,
    QObject,
    QProcess,
    QTemporaryDir,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from rnnviz.core.config import Config
from rnnviz.core.logs import HistoryLog, ProbeLog
from rnnviz.core.protocol import Snapshot
from rnnviz.core.tasks import TASKS
from rnnviz.core.trace import Trace

if TYPE_CHECKING:
    from rnnviz.qt.main_window import MainWindow

MODEL_FILTER = "Models (*.pt *.pth *.bin *.ckpt *.safetensors);;All files (*)"
INPUT_FILTER = "Sequences (*.npy *.csv);;Text for a token model (*.txt);;All files (*)"
VOCAB_FILTER = "Vocabularies (*.json);;All files (*)"
TOKENIZATIONS = ("auto", "chars", "words")  # core/foreign_tokens.py's (which imports torch)
TRACE_FILTER = "rnnviz traces (*.npz);;All files (*)"
# The commands that train; off while a trace is shown.
TRAINING_COMMANDS = ("train", "step", "reset", "new_seed")


def trace_snapshot(trace: Trace, message: str = "") -> Snapshot:
    """A paused snapshot that holds `trace`, no training history, and the trace as the one
    recording of the probe log."""
    meta = trace.meta
    config = Config(  # what the panels read of a run; not validated: a user's model may be big
        cell=meta["cell"],
        nonlinearity=meta.get("nonlinearity") or "tanh",
        hidden=meta["hidden"],
        layers=meta["layers"],
        bidirectional=meta["bidirectional"],
        task=meta["task"] if meta["task"] in TASKS else Config.task,
        seq_len=trace.T,
        probe_batch=trace.x.shape[0],
    )
    probes = ProbeLog()
    probes.append(trace)  # the one recording: the laboratory's history panels show a point
    return Snapshot(
        config=config,
        device=meta.get("device", "cpu"),
        state="paused",
        step=int(meta.get("step", 0)),
        loss=trace.loss,
        grad_norm=float("nan"),
        grad_norm_clipped=float("nan"),
        clip_rate=0.0,
        steps_per_s=0.0,
        lr=config.lr,
        clip="none",
        clip_threshold=config.clip_threshold,
        history=HistoryLog().view(),
        trace=trace,
        probes=probes.view(),
        message=message,
        extras=MappingProxyType({}),
    )


class OpenFiles(QObject):
    """The window's Open model / Open trace commands. `opened(Snapshot)` follows a success."""

    opened = Signal(object)
    failed = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.showing_trace = False
        self._process: QProcess | None = None
        self._tmp = QTemporaryDir()  # the NPZ a model's recording is written to
        self._clock = QElapsedTimer()
        self.seconds = float("nan")  # how long the last open took, to the panels' snapshot
        window.runner.started.connect(self._on_training)
        window.installEventFilter(self)

    # -- commands

    @Slot()
    def trace_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Open trace", self._folder(), TRACE_FILTER
        )
        if path:
            self._remember(path)
            self.open_trace(path)

    @Slot()
    def model_dialog(self) -> None:
        dialog = OpenModelDialog(self.window, self._folder())
        if dialog.exec() == QDialog.DialogCode.Accepted:
            chosen = dialog.values()
            self._remember(chosen["model"])
            self.open_model(**chosen)

    def open_trace(self, path: str | Path, label: str | None = None) -> bool:
        """Show the trace in `path` in every panel; on failure a message, nothing changed."""
        if not self._clock.isValid():
            self._clock.start()
        try:
            trace = Trace.load_npz(path)
            snapshot = trace_snapshot(trace, f"Opened {label or Path(path).name}")
        except Exception as e:  # a foreign, truncated or older NPZ: whatever numpy raises
            why = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            self._fail(f"{Path(path).name} is not a trace rnnviz can show ({why}).")
            return False
        w = self.window
        w.runner.stop()  # no training snapshot may replace what the user opened
        self.showing_trace = True
        self._set_training_enabled(False)
        w.transport.set_training(False)
        w.status["state"].setText("opened")
        w._on_snapshot(snapshot)
        w.welcome.hide()
        self.seconds = self._clock.elapsed() / 1000
        self._clock.invalidate()
        what = trace.meta.get("model") or f"{trace.meta['cell']} on {trace.meta['task']}"
        w.statusBar().showMessage(
            f"{label or Path(path).name}: {what}, {trace.x.shape[0]} sequences x {trace.T} "
            f"steps, opened in {self.seconds:.1f} s. No training: Apply in the side bar "
            "starts a new model.",
            15000,
        )
        self.opened.emit(snapshot)
        return True

    def open_model(
        self,
        model: str,
        data: str,
        nonlinearity: str = "tanh",
        objective: str = "state",
        vocab: str | None = None,
        tokens: str = "auto",
    ) -> None:
        """Record `model` on `data` (a token model: a text, with the `vocab` file) in a child
        process (`rnnviz trace --model`), then show it; `opened` or `failed` follows."""
        self._stop_process()  # the newer request wins
        self._clock.start()
        out = str(Path(self._tmp.path()) / "model.npz")
        args = ["-m", "rnnviz", "trace", "--model", model, "--input", data, "--out", out]
        args += ["--nonlinearity", nonlinearity, "--objective", objective]
        if vocab:
            args += ["--vocab", vocab, "--tokens", tokens]
        args += ["--jacobian-sequences", "1", "--threads", "1"]  # the panels show sequence 0
        process = QProcess(self)
        process.setProperty("label", Path(model).name)
        process.setProperty("out", out)
        process.finished.connect(self._on_recorded)
        process.errorOccurred.connect(self._on_process_error)
        self._process = process
        self.window.statusBar().showMessage(f"Opening {Path(model).name}…")
        process.start(sys.executable, args)

    # -- the child process

    @Slot(int, QProcess.ExitStatus)
    def _on_recorded(self, code: int, _status: QProcess.ExitStatus) -> None:
        process = self.sender()
        if process is not self._process:
            return
        self._process = None
        process.deleteLater()
        if code == 0:
            self.open_trace(process.property("out"), process.property("label"))
            return
        err = bytes(process.readAllStandardError()).decode("utf-8", "replace").strip()
        line = err.splitlines()[-1] if err else f"the recording ended with status {code}"
        self._fail(line.removeprefix("rnnviz: error: "))

    @Slot(QProcess.ProcessError)
    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.sender() is self._process:
            self._process = None
            self._fail(f"could not start {sys.executable} to read the model")

    def _stop_process(self) -> None:
        """End a recording still running, silently: nobody waits for it any more."""
        process, self._process = self._process, None
        if process is not None:
            process.finished.disconnect(self._on_recorded)
            process.errorOccurred.disconnect(self._on_process_error)
            process.kill()
            process.waitForFinished(1000)
            process.deleteLater()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if obj is self.window and event.type() == QEvent.Type.Close:
            self._stop_process()  # a closed window leaves no recording running
        return False

    # -- state

    @Slot(object)
    def _on_training(self, _config) -> None:
        """A run started (Apply, a lesson): training commands work again."""
        if self.showing_trace:
            self.showing_trace = False
            self._set_training_enabled(True)

    def _set_training_enabled(self, enabled: bool) -> None:
        w = self.window
        for name in TRAINING_COMMANDS:
            w.actions[name].setEnabled(enabled)
        t = w.transport
        for button in (t.train_button, t.step_button, t.reset_button, t.seed_button):
            button.setEnabled(enabled)

    def _fail(self, message: str) -> None:
        self._clock.invalidate()
        self.window.statusBar().clearMessage()
        self.failed.emit(message)
        QMessageBox.warning(self.window, "Could not open", message)

    def _folder(self) -> str:
        return str(self.window.store.value("open/folder", str(Path.home())))

    def _remember(self, path: str) -> None:
        self.window.store.setValue("open/folder", str(Path(path).parent))


class OpenModelDialog(QDialog):
    """The model file, the input (a token model's: a text and its vocabulary), and what a
    state_dict cannot say (an RNN's activation, the scalar whose gradients are shown)."""

    def __init__(self, parent: QWidget, folder: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open model")
        self.folder = folder
        self.model = self._file_row("Model file", MODEL_FILTER)
        self.data = self._file_row("Input sequences", INPUT_FILTER)
        self.vocab = self._file_row("Vocabulary", VOCAB_FILTER)
        self.vocab.setPlaceholderText("a token model's: a JSON list of its tokens in id order")
        self.tokens = QComboBox()
        self.tokens.addItems(TOKENIZATIONS)
        self.tokens.setToolTip(
            "How the text splits into tokens: chars, words (at whitespace), or auto (chars "
            "when every token of the vocabulary but <unk>, <pad>, … is one character)"
        )
        self.nonlinearity = QComboBox()
        self.nonlinearity.addItems(["tanh", "relu"])
        self.nonlinearity.setToolTip("An nn.RNN's activation: a state_dict does not store it")
        self.objective = QLineEdit("state")
        self.objective.setToolTip(
            "The scalar L whose gradients dL/dh_t the panels show: state (½‖h_n‖² of the top "
            "layer's final state) or unit:K (h_n[K])"
        )
        form = QFormLayout(self)
        form.addRow("Model (state_dict, .safetensors, checkpoint)", self.model.parentWidget())
        form.addRow(
            "Input (.npy [B, T, I] or [T, I]; CSV: a row a timestep; a token model: text)",
            self.data.parentWidget(),
        )
        form.addRow("Vocabulary (token models, .json)", self.vocab.parentWidget())
        form.addRow("Tokens of the text", self.tokens)
        form.addRow("nn.RNN activation", self.nonlinearity)
        form.addRow("Gradients of", self.objective)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _file_row(self, title: str, filter_: str) -> QLineEdit:
        row = QWidget(self)
        edit = QLineEdit()
        edit.setMinimumWidth(360)  # room for a path
        browse = QPushButton("Browse…")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        layout.addWidget(browse)

        def pick() -> None:
            path, _ = QFileDialog.getOpenFileName(self, title, edit.text() or self.folder, filter_)
            if path:
                edit.setText(path)

        browse.clicked.connect(pick)
        return edit

    def accept(self) -> None:
        """Only with both files named: the first empty one gets the focus."""
        empty = next((e for e in (self.model, self.data) if not e.text().strip()), None)
        if empty is not None:
            empty.setFocus()
            return
        super().accept()

    def values(self) -> dict[str, str | None]:
        """What was asked for, as OpenFiles.open_model's arguments."""
        return {
            "model": self.model.text().strip(),
            "data": self.data.text().strip(),
            "nonlinearity": self.nonlinearity.currentText(),
            "objective": self.objective.text().strip() or "state",
            "vocab": self.vocab.text().strip() or None,
            "tokens": self.tokens.currentText(),
        }
