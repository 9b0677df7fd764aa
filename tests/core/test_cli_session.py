"""`rnnviz train --save-session` and `rnnviz [app] --session`: the file a lecturer trains at
home and opens in class, and one line (exit 2) for a session that cannot be written or
opened, said before any training and before a window opens. In-process: the CLI's own code."""

from __future__ import annotations

import pytest

from rnnviz.cli import main
from rnnviz.core.session import read_session

SMALL = ["--hidden", "8", "--seq-len", "12", "--batch", "4", "--device", "cpu", "--threads", "1"]


def one_line_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err.strip()


def test_train_saves_a_session_that_opens_at_its_step(tmp_path, capsys):
    path = tmp_path / "home.rnnviz"
    assert main(["train", *SMALL, "--steps", "6", "--lr", "0.02", "--save-session", str(path)]) == 0
    assert f"saved session {path} (step 6)" in capsys.readouterr().out
    (run,) = read_session(path).runs
    assert (run.step, run.config.lr, len(run.history["loss"])) == (6, 0.02, 6)


def test_a_session_that_cannot_be_written_or_opened_is_one_line(tmp_path, capsys):
    nowhere = tmp_path / "no" / "such.rnnviz"
    line = one_line_error(capsys, ["train", *SMALL, "--steps", "1", "--save-session", str(nowhere)])
    assert (
        line == f"rnnviz: error: cannot write the session {nowhere}: no directory {nowhere.parent}"
    )
    bad = tmp_path / "bad.rnnviz"
    bad.write_bytes(b"PK\x03\x04 cut short")
    for argv in (["--session", str(bad)], ["app", "-platform", "offscreen", "--session", str(bad)]):
        assert (
            one_line_error(capsys, argv)
            == "rnnviz: error: bad.rnnviz is damaged: the file is incomplete"
        )
    assert (
        one_line_error(capsys, ["app", "--session"])
        == "rnnviz: error: argument --session: expected one argument (see `rnnviz app --help`)"
    )
