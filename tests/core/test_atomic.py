"""Outputs are written whole or not at all: a failed write leaves the file the user had."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnviz.core.atomic import write_atomic
from rnnviz.core.config import Config
from rnnviz.core.train import Trainer


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"the user's file")

    def half(f):
        f.write(b"half of the new")
        raise OSError("No space left on device")

    with pytest.raises(OSError):
        write_atomic(path, half)
    assert path.read_bytes() == b"the user's file"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_device_is_written_into_not_replaced():
    write_atomic("/dev/null", lambda f: f.write(b"discarded"))
    assert not Path("/dev/null").is_file()  # still the device


def test_checkpoint_and_trace_round_trip_through_the_atomic_writer(tmp_path):
    import torch

    trainer = Trainer(Config(hidden=4, seq_len=6, batch=2, device="cpu"))
    trainer.train_step()
    trainer.save_checkpoint(tmp_path / "ck.pt")
    state = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert state["step"] == 1
    for name, value in trainer.model.state_dict().items():
        assert torch.equal(state["model"][name], value)
    trace = trainer.record()
    trace.save_npz(tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz") as z:
        assert np.array_equal(z["h_l0"], trace.layers[0].h)
