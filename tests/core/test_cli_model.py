"""`rnnviz trace --model FILE --input X --out F.npz`, run as a user runs it."""

import json

import numpy as np
import pytest
import torch
from test_cli import assert_one_line_error, rnnviz  # tests/core is on sys.path (rootdir)
from torch import nn

from rnnviz.core.trace import Trace


@pytest.fixture
def files(tmp_path):
    torch.manual_seed(0)
    torch.save(nn.RNN(3, 4, nonlinearity="relu", num_layers=2).state_dict(), tmp_path / "m.pt")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((2, 6, 3)))
    np.save(tmp_path / "wide.npy", np.zeros((6, 5)))
    return tmp_path


def test_trace_of_own_model_opens_in_the_app_format(files):
    args = ["--model", "m.pt", "--input", "x.npy", "--nonlinearity", "relu", "--out", "t.npz"]
    args += ["--jacobian-sequences", "1"]
    result = rnnviz("trace", *args, cwd=files)
    assert result.returncode == 0, result.stderr
    assert "RNN (relu), 2 layers, input 3, hidden 4" in result.stdout
    trace = Trace.load_npz(files / "t.npz")
    assert trace.meta["model"] == "RNN (relu), 2 layers, input 3, hidden 4"
    assert trace.meta["objective"] == "L = ½‖h_n‖²" and trace.meta["nonlinearity"] == "relu"
    assert trace.layer(1).h.shape == (2, 6, 4)
    assert trace.meta["jacobian"] == "computed for the first 1 of 2 sequences"
    assert np.isfinite(trace.layer(0).jacobian_norm[0]).all()
    assert np.isnan(trace.layer(0).jacobian_norm[1]).all()
    assert json.loads(str(np.load(files / "t.npz")["meta"]))["model_file"] == "m.pt"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--model", "m.pt", "--input", "wide.npy"], "wide.npy has 5 values per timestep"),
        (
            ["--model", "x.npy", "--input", "x.npy"],
            "x.npy: not a PyTorch file: neither the zip archive torch.save writes nor a "
            "pickle (it is a numpy .npy file)",
        ),
        (["--model", "m.pt", "--input", "x.npy", "--hidden", "8"], "--hidden does not apply"),
        (["--model", "m.pt"], "--model needs --input"),
        (
            ["--model", "m.pt", "--input", "x.npy", "--jacobian-sequences", "-1"],
            "--jacobian-sequences must be 0 or more, got -1",
        ),
    ],
    ids=["width", "not-a-model", "stray-option", "no-input", "jacobians"],
)
def test_bad_own_model_trace_is_one_line_and_writes_nothing(files, args, says):
    line = assert_one_line_error(rnnviz("trace", *args, "--out", "t.npz", cwd=files))
    assert says in line
    assert not (files / "t.npz").exists()
