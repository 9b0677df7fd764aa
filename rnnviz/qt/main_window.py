"""MainWindow: the settings side bar, the panels in docks, the transport bar, the status bar
and the menus, wired to one TrainingRunner.

Data flows one way: runner snapshots go to every panel's `set_snapshot` (cheap: store and
mark dirty) and to the time cursor; one ~60 Hz timer lets one dirty, visible panel redraw per
tick (redraw_ticks.py), so the event loop stays responsive. User input goes back
as `core.protocol` commands through the runner.

The window never imports torch: it paints itself first, then the runner starts the training
process, which imports torch there while the laboratory's panels are built here.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rnnviz.core import protocol
from rnnviz.core.analysis import suggest_clip_threshold
from rnnviz.core.config import Config
from rnnviz.core.presets import Preset
from rnnviz.core.tasks import TASKS
from rnnviz.qt.actions import MENUS, Actions, route_keys_past_spin_boxes
from rnnviz.qt.collector import collect_on_gui_thread
from rnnviz.qt.dialogs import HelpDialog
from rnnviz.qt.dock_layout import DockLayout, panel_docks
from rnnviz.qt.lessons import LessonDock, PresetMenu
from rnnviz.qt.open_files import OpenFiles
from rnnviz.qt.panels import LAB_PANELS, PANELS, ItemizedPanel, MemoryReachPanel, TrainingPanel
from rnnviz.qt.panels.base import Panel
from rnnviz.qt.presentation import PresentationMode
from rnnviz.qt.redraw_ticks import RedrawTicks
from rnnviz.qt.runner import TrainingRunner
from rnnviz.qt.sessions import Sessions
from rnnviz.qt.settings import SettingsPanel
from rnnviz.qt.status import StatusFields
from rnnviz.qt.timeline import TimeCursor
from rnnviz.qt.tokens import cursor_length
from rnnviz.qt.transport import TransportBar
from rnnviz.qt.welcome import WelcomeView
from rnnviz.qt.window_exports import WindowExports

if TYPE_CHECKING:
    from rnnviz.core.protocol import Snapshot

# The panels that draw the itemized gradients: recorded only while one of them is shown.
ITEMIZED_DOCKS = (ItemizedPanel.key, MemoryReachPanel.key)
FIRST_PAINT_WAIT_MS = 2000  # the worker starts after the first paint, or after this
BANNER_STYLE = (
    "#banner { background: #FDECEA; border: 2px solid #D55E00; border-radius: 4px; }"
    "#banner QLabel { color: #5F1500; font-size: 13pt; }"
)


class MainWindow(QMainWindow):
    def __init__(
        self,
        config: Config | None = None,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        collect_on_gui_thread()  # never from the training reader's thread: collector.py
        self.setWindowTitle("rnnviz — watch recurrent networks learn")
        self.store = settings if settings is not None else QSettings("rnnviz", "rnnviz")
        self.snapshot: Snapshot | None = None
        self._started = False  # shown
        self._settled = False  # painted, the worker started: _after_first_paint
        self._closed = False

        self.cursor = TimeCursor(self)
        self.runner = TrainingRunner(self)
        # An unusable config (e.g. a text file that went missing) still opens the window:
        # the side bar shows why and the runner reports it.
        self.settings = SettingsPanel(config or Config())
        self.transport = TransportBar(self.cursor)
        # The core panels show by default; the laboratory's when a preset or the View menu
        # asks for them. Those are built when their dock first shows (their docks exist from
        # the start, so a saved layout can place them): building all 21 took 1.5-3 s of the
        # GUI thread, and most sessions show a few.
        self.panels: list[Panel] = [cls(self.cursor) for cls in PANELS]
        self._last_panel: Panel | None = None
        self.preset: Preset | None = None  # the running preset, None for the user's own model
        self.lesson_dock = LessonDock(self)
        self.preset_menu = PresetMenu(self)

        self._build_central()
        self._build_docks()
        self.presentation = PresentationMode(self, self.panels, hide=(self.settings_dock,))
        self.status = StatusFields(self.statusBar())
        self.exports = WindowExports(self)
        self.open_files = OpenFiles(self)
        self.sessions = Sessions(self)
        self.actions = Actions(self)
        self._build_menus()
        self.transport.describe(self.actions)
        route_keys_past_spin_boxes(self)
        self._connect()

        self.layout_ = DockLayout(self)
        self.resize(self.layout_.default_window_size())
        self.layout_.arrange_default()
        self._layout_restored = self.layout_.restore()
        self.welcome = WelcomeView(self)  # what to do first, over the panels

        self.redraws = RedrawTicks(self.panels, self)

    # ------------------------------------------------------------------ construction

    def _build_central(self) -> None:
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.banner_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner_reset = QPushButton("Reset (R)")
        self.banner_reset.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row = QHBoxLayout(self.banner)
        row.addWidget(self.banner_text, 1)
        row.addWidget(self.banner_reset)
        self.banner.hide()

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.banner)
        layout.addWidget(self.transport)
        # The panels (docks) take all the height; the bar below them only what it needs.
        central.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.settings_dock = QDockWidget("Settings", self)
        self.settings_dock.setObjectName("settings")
        self.settings_dock.setWidget(self.settings)
        self.docks: dict[str, QDockWidget] = panel_docks(self)
        for panel in self.panels:
            self._dock_panel(panel)
        for cls in LAB_PANELS:
            self.docks[cls.key].visibilityChanged.connect(
                lambda shown, key=cls.key: self._on_lab_dock_shown(key, shown)
            )

    def _dock_panel(self, panel: Panel) -> None:
        self.docks[panel.key].setWidget(panel)
        panel.scheduled = True  # self.redraws redraws it, one panel a tick
        if panel.focusPolicy() == Qt.FocusPolicy.NoFocus:
            panel.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a click selects it for Ctrl+E
        if hasattr(panel, "command_requested"):  # it asks the training process (Bottleneck)
            panel.command_requested.connect(self.runner.send)

    def panel(self, key: str) -> Panel:
        """The panel in dock `key`, built now if it was not yet."""
        panel = next((p for p in self.panels if p.key == key), None)
        if panel is None:
            panel = next(cls for cls in LAB_PANELS if cls.key == key)(self.cursor)
            self.panels.append(panel)
            self._dock_panel(panel)
            if self.snapshot is not None:
                panel.set_snapshot(self.snapshot)
            self.presentation.restyle_new([panel])
        return panel

    def _on_lab_dock_shown(self, key: str, shown: bool) -> None:
        # Not before the window is on screen (those wait: _after_first_paint) nor while it
        # closes (leaving presentation mode shows docks again).
        if shown and self._settled and not self._closed:
            self.panel(key)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        menus = {}
        for name in MENUS:
            if name == "Help":
                bar.addMenu(self.preset_menu)  # the lessons before Help
            menus[name] = bar.addMenu(f"&{name}" if name != "Time" else "T&ime")
            menus[name].addActions(self.actions.in_menu(name))
        menus["File"].insertSeparator(self.actions.quit)
        menus["File"].insertMenu(self.actions.save_session, self.sessions.recent_menu)
        view = menus["View"]
        first = view.actions()[0]
        view.insertAction(first, self.settings_dock.toggleViewAction())
        for dock in self.docks.values():
            view.insertAction(first, dock.toggleViewAction())
        view.insertAction(first, self.lesson_dock.toggleViewAction())
        view.insertSeparator(first)

    def _connect(self) -> None:
        self.runner.snapshot.connect(self._on_snapshot)
        self.runner.snapshot.connect(self.lesson_dock.measure)
        self.runner.error.connect(self._on_error)
        self.runner.devices.connect(self.settings.set_devices)
        self.runner.started.connect(self._on_started)
        # the connectivity, as costly as the rest of a recording, only while it can be seen
        self.docks["connectivity"].visibilityChanged.connect(self._on_connectivity_shown)
        for key in ITEMIZED_DOCKS:  # the itemized gradients likewise
            self.docks[key].visibilityChanged.connect(self._on_items_shown)
        self.runner.responding.connect(self._on_responding)
        self.transport.train_toggled.connect(self._on_train_toggled)
        self.transport.step_requested.connect(self.step)
        self.transport.reset_requested.connect(self.reset)
        self.transport.new_seed_requested.connect(self.settings.new_seed)
        self.banner_reset.clicked.connect(self.reset)
        self.settings.learning_rate_changed.connect(self._on_learning_rate)
        self.settings.clipping_changed.connect(self._on_clipping)
        self.settings.apply_requested.connect(self.restart)
        self.settings.suggest_threshold_requested.connect(self.suggest_clip_threshold)
        self.training_panel.temperature_changed.connect(self._on_temperature)
        self.preset_menu.chosen.connect(self.start_preset)
        self.presentation.toggled.connect(self.actions.presentation.setChecked)
        QApplication.instance().focusChanged.connect(self._on_focus_changed)

    # ------------------------------------------------------------------ layout

    @Slot()
    def reset_layout(self) -> None:
        self.layout_.reset()

    # ------------------------------------------------------------------ running

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if not self._started:
            self._started = True
            if not self._layout_restored:
                self.layout_.default_sizes()
            if not self.runner.torch_loaded:
                self.statusBar().showMessage("Loading PyTorch…")
            # at the latest: a window that is not painted (say, minimised) trains all the same
            QTimer.singleShot(FIRST_PAINT_WAIT_MS, self._after_first_paint)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if self._started and not self._settled:  # once this frame is on screen
            QTimer.singleShot(0, self._after_first_paint)

    @Slot()
    def _after_first_paint(self) -> None:
        """The window is on screen: start the worker (it imports torch, a second or two, in
        its own process) and build the laboratory panels a restored layout shows."""
        if self._settled:
            return
        self._settled = True
        self._start_first_run()
        for cls in LAB_PANELS:
            if self.docks[cls.key].isVisible():
                self.panel(cls.key)

    @Slot()
    def _start_first_run(self) -> None:
        if not self._closed and not self.runner.is_alive():
            self.restart(self.settings.applied_config())

    @Slot(object)
    def restart(self, config: Config, preset: Preset | None = None, **runs) -> None:
        """Stop the current run (if any) and start a new model with `config`, paused: the
        user's own, or one of `preset`'s (a saved session's); `runs` go to runner.start."""
        if preset is not None:
            self.show_preset(preset)
        elif self.preset is not None:  # the user's own model: the normal layout again
            self.preset = None
            self.preset_menu.mark(None)
            self.lesson_dock.leave()
            self.layout_.arrange_default()  # closes the laboratory's panels too
            self.layout_.default_sizes()
        self._start(config, **runs)

    def _start(self, config: Config, **runs) -> None:
        self.banner.hide()
        self.status["state"].setText("loading")
        loaded = self.runner.torch_loaded
        self.statusBar().showMessage("Building the model…" if loaded else "Loading PyTorch…")
        self.runner.start(config, **runs)

    @Slot(object)
    def start_preset(self, preset: Preset) -> None:
        """Start `preset`'s runs side by side, show its panels and explanation, and train it
        to its promised picture (then pause)."""
        first, *others = preset.runs
        self.settings.set_config(first.config)
        self.restart(
            first.config,
            preset,
            label=first.label,
            companions=tuple((r.label, r.config) for r in others),
        )
        self.runner.send(protocol.Step(preset.steps))

    def show_preset(self, preset: Preset) -> None:
        """`preset`'s panels and explanation (its runs start separately)."""
        for key in preset.panels:  # built now, so that they draw its first snapshot
            if key in self.docks:
                self.panel(key)
        self.preset = preset
        self.preset_menu.mark(preset.key)
        self.lesson_dock.show_preset(preset)
        self.layout_.arrange_preset(preset)
        self.presentation.rearranged()  # presenting: no side bar, and the preset's docks stay

    @Slot()
    def suggest_clip_threshold(self) -> None:
        """Pascanu's heuristic: norm clipping at the recent average gradient norm."""
        history = self.snapshot.history if self.snapshot is not None else None
        try:
            if history is None:
                raise ValueError("train a few steps first")
            threshold, low, high = suggest_clip_threshold(history.grad_norm)
        except ValueError as e:
            self.statusBar().showMessage(f"No threshold to suggest yet: {e}", 5000)
            return
        self.settings.set_clipping("norm", float(f"{threshold:.2g}"))
        self.statusBar().showMessage(
            f"Norm clipping at {threshold:.2g}, the average gradient norm of the last "
            f"{min(len(history), 200)} steps (Pascanu et al.: {low:.2g} to {high:.2g} work).",
            8000,
        )

    @Slot()
    def step(self) -> None:
        self.runner.send(protocol.Step(1))

    @Slot()
    def reset(self) -> None:
        self.runner.send(protocol.Reset())

    @Slot(bool)
    def _on_train_toggled(self, running: bool) -> None:
        if not self.runner.is_alive():  # e.g. the last start failed: nothing to run
            self.transport.set_training(False)
            return
        self.runner.send(protocol.Run() if running else protocol.Pause())

    @Slot(float)
    def _on_learning_rate(self, lr: float) -> None:
        self.runner.send(protocol.SetLearningRate(lr))

    @Slot(str, float)
    def _on_clipping(self, mode: str, threshold: float) -> None:
        self.runner.send(protocol.SetClipping(mode, threshold))

    @property
    def training_panel(self) -> TrainingPanel:
        return next(p for p in self.panels if isinstance(p, TrainingPanel))

    @Slot(float)
    def _on_temperature(self, temperature: float) -> None:
        self.runner.send(protocol.SetTemperature(temperature))

    @Slot(bool)
    def _on_connectivity_shown(self, shown: bool) -> None:
        self.runner.send(protocol.SetConnectivity(shown))

    @Slot()
    def _on_items_shown(self) -> None:
        shown = any(self.docks[key].isVisible() for key in ITEMIZED_DOCKS)
        self.runner.send(protocol.SetGradItems(shown))

    @Slot(object)
    def _on_started(self, config: Config) -> None:
        self._on_connectivity_shown(self.docks["connectivity"].isVisible())
        self._on_items_shown()
        self.settings.set_config(config)
        self.statusBar().clearMessage()
        if TASKS[config.task].uses_text:  # a new run samples at the temperature the panel shows
            self._on_temperature(self.training_panel.temperature)

    @Slot(object)
    def _on_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        for panel in self.panels:
            panel.set_snapshot(snapshot)
        if snapshot.trace is not None:
            self.cursor.set_length(cursor_length(snapshot.trace))
        self.transport.set_trace(snapshot.trace)
        self.transport.set_training(snapshot.state == "running")
        self.settings.set_step(snapshot.step)
        self.status.show(snapshot)
        if "refused" in snapshot.extras:  # a live setting the trainer could not use
            self.statusBar().showMessage(snapshot.extras["refused"], 8000)
        if snapshot.state == "diverged":
            self._show_banner(  # the message says what happened and what to try
                f"<b>Training diverged.</b> {html.escape(snapshot.message)} "
                "(<b>R</b> resets; the learning rate and clipping are in the side bar.)",
                reset=True,
            )
        elif not self.banner.isHidden() and not self.banner_reset.isHidden():
            self.banner.hide()

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self.statusBar().clearMessage()
        self.status["state"].setText("stopped")
        self.transport.set_training(False)
        self._show_banner(
            f"<b>Could not train:</b> {html.escape(message)}<br>"
            "Change the setting in the side bar and press Apply.",
            reset=False,
        )

    @Slot(bool)
    def _on_responding(self, responding: bool) -> None:
        silent = f"Training process not responding: no word from it for {self.runner.silence_s:g} s"
        if not responding:
            self.statusBar().showMessage(silent)
        elif self.statusBar().currentMessage() == silent:
            self.statusBar().clearMessage()

    def _show_banner(self, text: str, *, reset: bool) -> None:
        if text != self.banner_text.text():
            self.banner_text.setText(text)
            # The main window's layout ignores height-for-width: reserve the wrapped height.
            width = max(300, self.width() - self.settings_dock.width() - 160)
            self.banner_text.setMinimumHeight(self.banner_text.heightForWidth(width))
        self.banner_reset.setVisible(reset)
        self.banner.show()

    # ------------------------------------------------------------------ export

    @Slot(QWidget, QWidget)
    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        panel = _panel_of(new)
        if panel is not None:
            self._last_panel = panel

    def focused_panel(self) -> Panel:
        """The panel holding the keyboard focus, else the last one that did, else the first
        visible one."""
        panel = _panel_of(QApplication.focusWidget()) or self._last_panel
        if panel is not None and panel.isVisible():
            return panel
        return next((p for p in self.panels if p.isVisible()), self.panels[0])

    # ------------------------------------------------------------------ help

    @Slot()
    def show_help(self) -> None:
        if getattr(self, "help_dialog", None) is None:
            self.help_dialog = HelpDialog(self)
        self.help_dialog.show()
        self.help_dialog.activateWindow()

    # ------------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if not self._closed:
            self._closed = True
            self.redraws.stop()
            self.transport.stop_playing()
            self.runner.stop()  # join the worker before any widget goes away
            self.presentation.leave()  # the layout saved is the normal one
            self.layout_.save()
            QApplication.instance().focusChanged.disconnect(self._on_focus_changed)
        super().closeEvent(event)


def _panel_of(widget: QWidget | None) -> Panel | None:
    while widget is not None:
        if isinstance(widget, Panel):
            return widget
        widget = widget.parentWidget()
    return None
