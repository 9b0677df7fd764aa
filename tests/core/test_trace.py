"""Trace NPZ files: what `rnnviz trace` writes, Trace.load_npz reads back unchanged."""

import numpy as np
import pytest

from rnnviz.core.cells import CELLS
from rnnviz.core.config import Config
from rnnviz.core.trace import Trace
from rnnviz.core.train import Trainer


@pytest.mark.parametrize(
    ("cell", "task", "layers", "bidirectional"),
    [(cell, "sine", 1, False) for cell in CELLS] + [("lstm", "copy", 2, True)],
)
def test_a_saved_trace_loads_back_with_equal_arrays_and_meta(
    tmp_path, cell, task, layers, bidirectional
):
    config = Config(
        cell=cell,
        task=task,
        hidden=6,
        layers=layers,
        bidirectional=bidirectional,
        seq_len=8,
        batch=4,
        probe_batch=3,
        device="cpu",
    )
    trainer = Trainer(config)
    trace = trainer.record(jacobian_sequences=1)  # the rest NaN: NaN must survive the trip
    path = tmp_path / "t.npz"
    trace.save_npz(path)

    loaded = Trace.load_npz(path)

    assert dict(loaded.meta) == dict(trace.meta)
    assert loaded.cell == cell and loaded.gate_names == trace.gate_names
    assert [(lt.layer, lt.reverse) for lt in loaded.layers] == [
        (lt.layer, lt.reverse) for lt in trace.layers
    ]
    assert loaded.loss == trace.loss
    saved, read = trace.to_arrays(), loaded.to_arrays()
    assert saved.keys() == read.keys()
    for key, value in saved.items():
        assert read[key].dtype == value.dtype, key
        np.testing.assert_array_equal(read[key], value, err_msg=key)
    assert np.isnan(loaded.layers[0].jacobian_norm[1:]).all()
    assert set(loaded.params) == set(trace.params)
    # Immutable as a recorded Trace is: pyqtgraph keeps references to what panels hand it.
    stored = [a for k, a in read.items() if k not in ("meta", "loss")]  # to_arrays makes these
    assert not any(a.flags.writeable for a in stored)
