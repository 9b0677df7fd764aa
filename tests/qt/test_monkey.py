"""300 seeded random user actions on the real window: nothing a user does may raise, print an
error or make Qt warn. (Event-loop stalls are timing: benchmarks/bench_monkey.py counts them.)"""

from __future__ import annotations

import pytest
from monkey import Monkey
from PySide6.QtCore import QSettings

from rnnviz.core.config import Config
from rnnviz.qt.main_window import MainWindow

TIMEOUT = 120_000  # ms: a fresh worker imports torch; 20 s at load 8, never reached at rest


@pytest.mark.parametrize("seed", [1])
def test_300_random_actions_raise_nothing_and_warn_nothing(qtbot, tmp_path, seed):
    store = QSettings(str(tmp_path / "rnnviz.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Config(hidden=8, seq_len=20, batch=8, device="cpu"), settings=store)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.runner.snapshot, timeout=TIMEOUT):
        window.show()
    try:
        report = Monkey(window, seed, export_dir=tmp_path / "exports").run(300)
    finally:
        window.close()
    assert not report.exceptions, report.summary() + "\n" + "\n".join(report.exceptions[:10])
    assert not report.warnings, report.summary() + "\n" + "\n".join(report.warnings[:10])
    assert sum(report.actions.values()) == 300
    # the run did what it says: trained, applied settings, exported
    assert report.actions["train/pause"] and report.actions["export"]
    assert any(k.startswith("apply") for k in report.actions)
