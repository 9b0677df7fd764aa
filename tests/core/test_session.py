"""Session files: a saved run opens with the same weights, histories and settings, trains on
exactly as if it had never stopped, survives a writer killed mid-save, and every file that is
not a session of ours is refused in one line without anything being run or changed."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnviz.core.config import Config, ConfigError
from rnnviz.core.resume import capture, restore
from rnnviz.core.session import MANIFEST, Session, SessionError, read_session, write_session
from rnnviz.core.train import Trainer

SMALL = Config(hidden=6, seq_len=10, batch=4, device="cpu")


def trained(config: Config, steps: int) -> Trainer:
    trainer = Trainer(config)
    for _ in range(steps):
        trainer.train_step()
    return trainer


def weights(trainer: Trainer) -> dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in trainer.model.state_dict().items()}


def reopened(path: Path, session: Session) -> Session:
    write_session(path, session)
    return read_session(path)


def test_round_trip_keeps_weights_histories_settings_and_the_view(tmp_path):
    lstm = trained(SMALL.replace(lr=0.02, clip="norm", clip_threshold=0.5), 4)
    lstm.record(jacobians=False)
    gru = trained(SMALL.replace(cell="gru"), 4)
    saved = Session(
        runs=(capture(lstm, "LSTM"), capture(gru, "GRU")),
        preset="side_by_side",
        lesson={"title": "Side by side", "explanation": "Three cells, one task."},
        cursor=7,
        layout=b"\x00\xffdock layout",
    )
    opened = reopened(tmp_path / "run.rnnviz", saved)
    assert (opened.preset, dict(opened.lesson), opened.cursor, opened.layout) == (
        saved.preset,
        dict(saved.lesson),
        7,
        saved.layout,
    )
    for a, b in zip(saved.runs, opened.runs, strict=True):
        assert (b.label, b.config, b.step, b.diverged) == (a.label, a.config, 4, False)
        for group in ("initial", "current", "history", "probes"):
            assert list(getattr(b, group)) == list(getattr(a, group))
            for k, v in getattr(a, group).items():
                np.testing.assert_array_equal(getattr(b, group)[k], v)
        assert b.optimizer_groups[0]["lr"] == a.config.lr
    assert opened.runs[0].config.clip_threshold == 0.5
    assert len(opened.runs[0].probes["step"]) == 1
    # the opened state, put into a new trainer, is the saved trainer
    again = Trainer(opened.runs[0].config)
    restore(again, opened.runs[0])
    assert all(np.array_equal(weights(again)[k], v) for k, v in weights(lstm).items())
    np.testing.assert_array_equal(again.history.view().loss, lstm.history.view().loss)


@pytest.mark.parametrize(
    "config",
    [SMALL, SMALL.replace(optimizer="sgd", clip="value", cell="gru", task="copy", seq_len=12)],
    ids=["adam", "sgd"],
)
def test_an_opened_session_trains_on_exactly_as_an_uninterrupted_run(tmp_path, config):
    uninterrupted = trained(config, 10)
    first_half = trained(config, 5)
    opened = reopened(tmp_path / "half.rnnviz", Session((capture(first_half),))).runs[0]
    resumed = Trainer(opened.config)
    restore(resumed, opened)
    for _ in range(5):
        resumed.train_step()
    assert resumed.step_count == 10
    for k, v in weights(uninterrupted).items():
        np.testing.assert_array_equal(weights(resumed)[k], v, err_msg=k)
    full, cont = uninterrupted.history.view(), resumed.history.view()
    np.testing.assert_array_equal(cont.loss, full.loss)
    np.testing.assert_array_equal(cont.step, np.arange(1, 11))
    # Reset returns to the same initial weights and data stream as a fresh run
    resumed.reset()
    fresh = Trainer(config)
    for k, v in weights(fresh).items():
        np.testing.assert_array_equal(weights(resumed)[k], v)
    resumed.train_step(), fresh.train_step()
    assert resumed.history.view().loss[0] == fresh.history.view().loss[0]


def test_reset_returns_to_the_saved_initial_weights_not_the_seeds():
    """A session keeps its own start: Reset goes there even if this version of rnnviz would
    initialise the seed's model differently."""
    state = capture(trained(SMALL, 2))
    moved = {k: v + 1.0 for k, v in state.initial.items()}
    resumed = Trainer(SMALL)
    restore(resumed, dataclasses.replace(state, initial=moved))
    resumed.reset()
    for k, v in moved.items():
        np.testing.assert_array_equal(weights(resumed)[k], v)


def test_weights_that_do_not_fit_the_settings_are_refused_in_words(tmp_path):
    state = capture(trained(SMALL, 1))
    bigger = Trainer(SMALL.replace(hidden=7))
    before = weights(bigger)
    with pytest.raises(ConfigError, match=r"weights do not fit its settings: .* is \(24, 1\)"):
        restore(bigger, state)
    assert all(np.array_equal(weights(bigger)[k], v) for k, v in before.items())


# ---------------------------------------------------------------------------- writing


# The child process reads the session, then writes it back with `hook` stopping the write
# at one point, where the parent kills it: mid-way through the members, or written whole
# and flushed but not yet renamed over the old file.
CHILD = """
import os, sys, time
import numpy as np
from rnnviz.core import session as s
old = s.read_session(sys.argv[1])
target = {"members": np, "rename": os}[sys.argv[2]]
name = {"members": "save", "rename": "replace"}[sys.argv[2]]
real = getattr(target, name)
def hook(*a, **k):
    if name == "save":
        real(*a, **k)
    print("stopped", flush=True)
    time.sleep(60)
setattr(target, name, hook)
s.write_session(sys.argv[1], s.Session(old.runs, cursor=old.cursor + 1))
"""


@pytest.mark.parametrize("where", ["members", "rename"])
def test_a_writer_killed_mid_save_leaves_the_previous_file_intact(tmp_path, where):
    path = tmp_path / "run.rnnviz"
    write_session(path, Session((capture(trained(SMALL, 2)),), cursor=3))
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), where],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    try:
        assert child.stdout.readline() == "stopped\n"
        assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())  # half-way there
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert path.read_bytes() == before
    assert read_session(path).cursor == 3


def test_a_failed_write_is_one_line_and_leaves_nothing(tmp_path):
    with pytest.raises(SessionError, match="could not write .*no/such"):
        write_session(tmp_path / "no/such/run.rnnviz", Session((capture(trained(SMALL, 0)),)))


# ---------------------------------------------------------------------------- bad files


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("good") / "good.rnnviz"
    write_session(path, Session((capture(trained(SMALL, 3)),)))
    return path.read_bytes()


def rewritten(good: bytes, change) -> bytes:
    """`good` with its members passed through change(name, data) -> data (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
    return out.getvalue()


def with_manifest(good: bytes, **changes) -> bytes:
    def change(name, data):
        if name != MANIFEST:
            return data
        return json.dumps({**json.loads(data), **changes}).encode()

    return rewritten(good, change)


def with_run(good: bytes, **changes) -> bytes:
    run = json.loads(zipfile.ZipFile(io.BytesIO(good)).read(MANIFEST))["runs"][0]
    return with_manifest(good, runs=[{**run, **changes}])


class Payload:
    def __reduce__(self):  # a pickle that runs code when loaded
        return (os.system, ("touch ran",))


def pickled_member(good: bytes) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([Payload()], dtype=object), allow_pickle=True)
    return rewritten(good, lambda n, d: buf.getvalue() if n == "runs/0/current/0.npy" else d)


def flipped(good: bytes) -> bytes:
    data = bytearray(good)
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0x5A for b in data[middle : middle + 16])
    return bytes(data)


BAD = {
    "truncated": (lambda g: g[: len(g) // 2], r"is damaged: the file is incomplete"),
    "corrupt": (flipped, r"is damaged: its contents are corrupt"),
    "foreign": (lambda g: b"\x89PNG\r\n\x1a\n" + bytes(100), r"is not an rnnviz session file$"),
    "other zip": (
        lambda g: rewritten(g, lambda n, d: None if n == MANIFEST else d),
        r"is not an rnnviz session file \(a zip archive without a session manifest\)",
    ),
    "other format": (
        lambda g: with_manifest(g, format="something-else"),
        r"is not an rnnviz session file",
    ),
    "newer": (
        lambda g: with_manifest(g, version=99),
        r"was written by a newer rnnviz \(session format 99; this one reads up to 1\)",
    ),
    "missing member": (
        lambda g: rewritten(g, lambda n, d: None if n == "runs/0/history/1.npy" else d),
        r"is damaged: its part runs/0/history/1.npy is missing",
    ),
    "bad settings": (
        lambda g: with_run(g, config={"hidden": 0}),
        r"holds settings that cannot be used here: hidden size must be",
    ),
    "pickle inside": (pickled_member, r"is damaged: .*allow_pickle=False"),
    "empty": (lambda g: b"", r"is not an rnnviz session file"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_file_gets_one_line_and_changes_nothing(tmp_path, good, kind, monkeypatch):
    make, message = BAD[kind]
    data = make(good)
    path = tmp_path / "bad.rnnviz"
    path.write_bytes(data)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SessionError, match=message) as caught:
        read_session(path)
    text = str(caught.value)
    assert "\n" not in text and text.startswith("bad.rnnviz ")
    assert path.read_bytes() == data
    assert not (tmp_path / "ran").exists()  # the pickle's payload did not run


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(SessionError, match=r"could not read .*nothing.rnnviz: No such file"):
        read_session(tmp_path / "nothing.rnnviz")


def test_the_payload_test_would_see_a_payload_run(tmp_path, monkeypatch):
    """The check above is real: unpickling that member does run its payload."""
    monkeypatch.chdir(tmp_path)
    buf = io.BytesIO(pickle.dumps(Payload()))
    pickle.load(buf)  # noqa: S301 (the point of the test)
    assert (tmp_path / "ran").exists()
