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
    assert not report.numerical, report.summary() + "\n" + "\n".join(report.numerical[:10])
    assert sum(report.actions.values()) == 300
    # the run did what it says: trained, applied settings, exported
    assert report.actions["train/pause"] and report.actions["export"]
    assert any(k.startswith("apply") for k in report.actions)


def test_a_run_that_an_unexpected_error_ended_counts_and_a_refused_setting_does_not(window):
    """The training process's own errors reach the window as its error line, not as an
    exception in the window's process: the monkey counts them from there."""
    from rnnviz.core.worker import STOPPED_BY_ERROR

    said = iter(["hidden size must be a whole number …", f"{STOPPED_BY_ERROR}ValueError: boom"])

    def fail() -> str:
        window.runner.error.emit(next(said))
        return "fail"

    report = _run_only(window, fail, 2)
    assert report.exceptions == ["training process: Training stopped: ValueError: boom"]


def test_a_numerical_warning_counts_once_per_place_and_other_warnings_do_not(window):
    """A RuntimeWarning (pyqtgraph's "All-NaN slice" for a scatter of NaN) is a finding, each
    place once however often it fires; a DeprecationWarning is a library's business."""
    import warnings

    def warn() -> str:
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=1)
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
        return "warn"

    report = _run_only(window, warn, 3)
    assert len(report.numerical) == 1 and "All-NaN slice" in report.numerical[0]
    assert "1 numerical warnings" in report.summary()


def _run_only(window, op, n: int):
    """The monkey's report of `n` actions that are all `op`, the window closed after."""
    monkey = Monkey(window, 0)
    monkey.ops = [(1, op)]
    try:
        return monkey.run(n)
    finally:
        window.close()
