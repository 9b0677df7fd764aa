"""`rnnviz app` with a first run chosen on the command line: model options, a preset, a
session; what it cannot use is one line and exit 2 before the window opens, never ignored."""

import os
import subprocess
import sys
import textwrap

import pytest

import rnnviz.app
from rnnviz.cli import main
from rnnviz.core.config import Config


@pytest.fixture
def opened(monkeypatch):
    """What `rnnviz app …` hands the window, without opening it."""
    calls = []
    monkeypatch.setattr(rnnviz.app, "main", lambda argv, **kw: calls.append((argv, kw)) or 0)
    return calls


def test_model_options_choose_the_first_run_and_qt_options_pass_through(opened):
    argv = ["app", "--task", "charlm", "--cell", "gru", "--hidden", "16", "-platform", "offscreen"]
    assert main(argv) == 0
    [(qt_args, kw)] = opened
    assert qt_args == ["-platform", "offscreen"]
    assert kw["config"] == Config(task="charlm", cell="gru", hidden=16)
    assert kw["preset"] is None and kw["session"] is None


def test_no_options_leave_the_window_its_default_model(opened):
    assert main(["app", "-platform", "offscreen"]) == 0
    assert opened[0][1]["config"] is None  # the window's own (the settings it saved last)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["app", "--tsak", "charlm"], "unrecognized arguments: --tsak"),
        (["app", "--steps", "5"], "unrecognized arguments: --steps"),  # the app trains on
        (["app", "--hidden", "0"], "hidden size must be"),
        (["app", "--preset", "nosuch"], "unknown preset 'nosuch'"),
        (["--preset", "vanishing", "--cell", "gru"], "--preset sets the model itself"),
        (["app", "--preset", "vanishing", "--session", "s.rnnviz"], "not allowed with"),
    ],
)
def test_what_the_app_cannot_use_is_one_line_and_exit_2(opened, capsys, argv, says):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "-platform", "offscreen"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]
    assert not opened  # the window never opened


# Opens the real window on a preset and reports what it shows once its runs have started.
PRESET_SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from rnnviz.cli import main
    from rnnviz.qt.main_window import MainWindow

    def hook():
        window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
        def on_snapshot(s):
            if window.isVisible() and window.preset is not None:
                c = s.config
                print("preset:", window.preset.key, "cell:", c.cell, c.task, flush=True)
                window.close()
        window.runner.snapshot.connect(on_snapshot)

    app = QApplication(sys.argv)
    QTimer.singleShot(0, hook)
    sys.exit(main(["app", "--preset", "gru_update", "-platform", "offscreen"]))
""")


def test_the_app_opens_on_a_preset_named_on_the_command_line(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", PRESET_SCRIPT], capture_output=True, text=True, timeout=180, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "preset: gru_update cell: gru adding"
