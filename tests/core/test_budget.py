"""Limits that hold: settings a laptop cannot train are refused before anything is built, with
the estimate and the limit in the message; the estimate is near what a run really takes; the
Jacobian chain is left out of recordings it does not fit, and the trace says so."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rnnviz.core import budget
from rnnviz.core.config import Config, ConfigError


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"hidden": 513}, "hidden size must be a whole number from 1 to 512, got 513"),
        ({"batch": 4097}, "batch size must be a whole number from 1 to 4096, got 4097"),
        ({"seq_len": 10_001}, "sequence length must be a whole number from 2 to 10000, got 10001"),
        ({"embed_dim": 513}, "embedding size must be a whole number from 1 to 512, got 513"),
    ],
)
def test_a_setting_just_over_its_limit_is_refused(setting, message):
    with pytest.raises(ConfigError, match=message):
        Config(**setting).validate()
    edge = {k: v - 1 for k, v in setting.items()}
    Config(**{"hidden": 8, **edge}).validate()


def test_settings_that_together_exceed_the_memory_budget_are_refused_naming_both():
    fits = Config(hidden=32, seq_len=10_000, batch=32)
    assert budget.check(fits) is None and fits.validate() is fits
    with pytest.raises(ConfigError) as e:
        Config(hidden=64, seq_len=10_000, batch=512).validate()  # each within its own range
    estimate = budget.estimate(Config(hidden=64, seq_len=10_000, batch=512)).memory
    assert f"about {estimate / 1e9:.1f} GB" in str(e.value)
    assert "more than the 2 GB budget" in str(e.value)


def test_a_melody_models_cache_counts_towards_the_memory_budget():
    """The melody cache reads up to CACHE_REACH earlier steps for every step: long windows that
    fit a plain melody model take one with the cache past the budget."""
    long = {"hidden": 32, "seq_len": 10_000, "batch": 8}
    assert budget.check(Config(task="music", encoder="embedding", **long)) is None
    with pytest.raises(ConfigError, match="more than the 2 GB budget"):
        Config(task="music", **long).validate()
    music = budget.estimate(Config(task="music", seq_len=1000)).training
    plain = budget.estimate(Config(task="music", seq_len=1000, encoder="embedding")).training
    assert music > 3 * plain  # the band, more than the LSTM, sets a long window's memory
    Config(task="music").validate()  # the defaults fit


def test_a_training_step_over_the_work_budget_is_refused():
    with pytest.raises(ConfigError, match=r"about 81 GFLOP, more than the 50 GFLOP budget"):
        Config(hidden=512, seq_len=200, batch=64).validate()
    Config(hidden=512, seq_len=100, batch=32).validate()


def test_spectra_over_the_recording_budget_are_refused():
    Config(hidden=512, seq_len=10, batch=2).validate()  # one LSTM layer: 4 blocks of 512²
    with pytest.raises(ConfigError, match=r"L·D·G·H³ = 1.1e\+09 on the spectra of W_hh"):
        Config(hidden=512, seq_len=10, batch=2, layers=2).validate()


@pytest.mark.parametrize(
    "setting", [{"hidden": 4096}, {"batch": 65_536}, {"seq_len": 100_000}]
)  # what was accepted and then took 6 GB or froze the window
def test_the_settings_that_used_to_fail_late_are_refused(setting):
    with pytest.raises(ConfigError):
        Config(**setting).validate()


MEASURE = textwrap.dedent("""
    import json, sys
    import torch
    torch.set_num_threads(1)
    from rnnviz.core.config import Config
    from rnnviz.core.train import Trainer
    def kb(field):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith(field + ":")) * 1024
    warm = Trainer(Config(hidden=4, seq_len=4, batch=2, device="cpu"))  # lazy imports
    warm.train_step(); warm.record(jacobian_sequences=1); del warm
    # The peak from here on: a high-water mark since start-up would hide a run smaller than
    # the imports' own peak (writing 5 to clear_refs resets VmHWM to the current RSS).
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = kb("VmRSS")
    trainer = Trainer(Config(**json.loads(sys.argv[1])))
    trainer.train_step()
    trainer.record()  # as `rnnviz trace` does: the Jacobian chain for every probe sequence
    print(kb("VmHWM") - before)
""")


def test_the_memory_estimate_is_within_a_factor_of_two_of_what_a_run_takes():
    setting = {"hidden": 128, "seq_len": 200, "batch": 64, "device": "cpu"}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(setting)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    measured = int(out.stdout.split()[-1])
    estimate = budget.estimate(Config(**setting)).memory
    assert measured / 2 < estimate < 2 * measured, (estimate, measured)


def test_the_trace_says_when_the_jacobians_are_skipped():
    from rnnviz.core.train import Trainer

    big = Trainer(Config(hidden=256, seq_len=400, batch=2, device="cpu")).record(
        jacobian_sequences=1
    )
    assert big.meta["jacobian"].startswith("skipped: H = 256, T = 400")
    assert "recording budget" in big.meta["jacobian"]
    assert np.isnan(big.layer(0).jacobian_norm).all()
    small = Trainer(Config(hidden=8, seq_len=20, batch=2, device="cpu")).record(
        jacobian_sequences=1
    )
    assert small.meta["jacobian"] == "computed for the first 1 of 4 sequences"
    assert np.isfinite(small.layer(0).jacobian_norm[0]).all()


def test_the_jacobian_chain_fits_for_every_model_of_issue_14():
    """||dh_T/dh_t|| is recorded for every cell at H <= 128, T <= 1000 (one sequence, one
    layer): the panels show it there."""
    from rnnviz.core import budget

    assert budget.jacobian_skip_reason(128, 1000, 1, 1) is None
    assert budget.jacobian_skip_reason(256, 400, 1, 1) is not None
