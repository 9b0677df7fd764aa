"""Shared set-up for the panel tests: one way to put a panel on screen with a snapshot."""

from __future__ import annotations

import gc
import multiprocessing

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from windows import open_window  # tests/qt is on sys.path

from rnnviz.qt import theme
from rnnviz.qt.teardown import release_graphics
from rnnviz.qt.timeline import TimeCursor


@pytest.fixture(autouse=True)
def collect_between_tests():
    """Collect a test's Qt garbage once its widgets are deleted, between tests. Left to chance,
    the collector ran in the middle of the next test's widget construction, and freeing the
    previous window's pyqtgraph items there crashed the interpreter (SIGSEGV, one in ~900
    tests; reproducible under gc.set_threshold(50)). This fixture is set up before qtbot, so
    its teardown runs after qtbot has closed and scheduled the deletion of its widgets."""
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture(scope="session", autouse=True)
def graphics_released_before_exit():
    """As the app does after its event loop: items no scene holds are deleted while the
    interpreter is whole, not during its teardown (rnnviz/qt/teardown.py)."""
    yield
    release_graphics()


@pytest.fixture(scope="session", autouse=True)
def prepared_workers():
    """Training workers forked from one process that has imported torch, instead of a fresh
    interpreter each (the app's way): ~50 windows would otherwise import torch and its compiler
    ~50 times, 5-20 s each on a busy machine. test_runner checks the app's own start method."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        yield
        return
    from rnnviz.qt import runner

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["rnnviz.core.worker", "rnnviz.core.train", "torch._dynamo"])
    warm = ctx.Process(target=int)  # the server imports now, once, not in the first test
    warm.start()
    warm.join()
    runner.START_METHOD, spawn = "forkserver", runner.START_METHOD
    yield
    runner.START_METHOD = spawn


@pytest.fixture
def show_panel(qtbot):
    """show_panel(PanelClass, snapshot=None, *, size=(900, 550), t=0) -> a laid-out panel
    drawing `snapshot` with the time cursor at t.

    The theme is applied once, when the fixture is set up (before the test builds anything).
    With `snapshot` None the panel is only built, sized and shown, as the app opens it; the
    cursor's length is the trace's T where the snapshot has a trace.
    """
    theme.apply()

    def show(panel_class, snapshot=None, *, size=(900, 550), t: int = 0):
        cursor = TimeCursor()
        if snapshot is not None and snapshot.trace is not None:
            cursor.set_length(snapshot.trace.T)
        panel = panel_class(cursor)
        qtbot.addWidget(panel)
        panel.resize(*size)
        panel.show()
        assert panel.isVisible()  # so refresh() would draw without force, as the app does
        if snapshot is not None:
            panel.set_snapshot(snapshot)
            assert panel.refresh(force=True)
        cursor.set(t)
        return panel

    return show


@pytest.fixture
def probed_snapshot():
    """probed_snapshot(record_at, **config) -> a Snapshot with a recording at each step given
    (the probes' history: what the spectrum and gradient-history panels draw)."""
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer

    def make(record_at=(0, 2, 3, 7), **overrides):
        cfg = Config(**{"hidden": 8, "seq_len": 20, "batch": 8, "device": "cpu", **overrides})
        trainer = Trainer(cfg)
        trace = None
        while trainer.step_count <= max(record_at):
            if trainer.step_count in record_at:
                trace = trainer.record(jacobians=False)
            trainer.train_step()
        return trainer.snapshot(state="paused", trace=trace, steps_per_s=0.0)

    return make


@pytest.fixture(scope="session")
def charlm():
    """A real tiny character LM after a few steps, with its sampled text."""
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer

    trainer = Trainer(Config(task="charlm", hidden=12, seq_len=60, batch=8, device="cpu"))
    for _ in range(3):
        trainer.train_step()
    extras = {"sample": trainer.sample_text(80, 0.7), "temperature": 0.7, "sample_step": 3}
    return trainer.snapshot(state="paused", trace=trainer.record(), steps_per_s=0.0, extras=extras)


@pytest.fixture(scope="session")
def side_by_side():
    """RNN, LSTM and GRU of the Side by side preset after 5 steps (small)."""
    from rnnviz.core.presets import load_preset, preset_snapshot, train_preset

    preset = load_preset("side_by_side")
    trainers, traces = train_preset(preset, steps=5, hidden=8, seq_len=20)
    return preset_snapshot(preset, trainers, traces)


@pytest.fixture
def store(tmp_path):
    """A QSettings of our own, as a first-time user has: tests never read or write the
    user's layout."""
    return QSettings(str(tmp_path / "rnnviz.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, store):
    """The window on windows.SMALL with its first snapshot; closed after the test."""
    w = open_window(qtbot, store)
    yield w
    w.close()
