"""300 seeded random user actions on the real window: nothing a user does may raise, print an
error or make Qt warn. (Event-loop stalls are timing: benchmarks/bench_monkey.py counts them.)"""

from __future__ import annotations

import pytest
from monkey import Monkey


@pytest.mark.parametrize("seed", [1])
def test_300_random_actions_raise_nothing_and_warn_nothing(window, tmp_path, seed):
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
