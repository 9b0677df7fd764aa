"""Shared test set-up: Qt runs headless; small real snapshots for panel tests."""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import threading

import pytest

# Headless Qt on a virtual screen of a laptop's size (the offscreen plugin's default screen is
# 800x800, smaller than anyone runs the app on).
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    _screen = {
        "name": "test",
        "x": 0,
        "y": 0,
        "width": 1600,
        "height": 1000,
        "logicalDpi": 96,
        "logicalBaseDpi": 96,
        "dpr": 1,
    }
    _config = os.path.join(tempfile.mkdtemp(prefix="rnnviz-qt-"), "offscreen.json")
    with open(_config, "w") as f:
        json.dump({"screens": [_screen]}, f)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_config}"
# Tiny models: one intra-op thread is faster than two fighting over a loaded 2-core machine,
# and keeps the suite's timings steady.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def no_thread_left_running():
    """Fail any test that leaves a thread or a child process running (a leaked training
    worker or its reader)."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in leaked:
        t.join(timeout=2.0)
    leaked = [t.name for t in leaked if t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"
    children = multiprocessing.active_children()
    for p in children:
        p.join(timeout=2.0)
    children = [p.name for p in children if p.is_alive()]
    assert not children, f"processes left running: {children}"


@pytest.fixture
def make_snapshot():
    """make_snapshot(steps=5, **config) -> a real Snapshot after `steps` training steps."""
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer

    def make(steps: int = 5, **overrides):
        cfg = Config(**{"hidden": 8, "seq_len": 20, "batch": 8, "device": "cpu", **overrides})
        trainer = Trainer(cfg)
        for _ in range(steps):
            trainer.train_step()
        return trainer.snapshot(state="paused", trace=trainer.record(), steps_per_s=0.0)

    return make
