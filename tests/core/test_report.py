"""The held-out score and `rnnviz train --report`: sequences never trained on, the true metric,
its baseline, and a report file written whole."""

import collections
import json
import math

import pytest
import torch
from cli_run import rnnviz  # tests/core is on sys.path

from rnnviz.core.config import Config, ConfigError
from rnnviz.core.heldout import heldout_score
from rnnviz.core.report import heldout_text, training_report, write_json
from rnnviz.core.tasks import TASKS, make_task
from rnnviz.core.tasks.base import HELDOUT_SEED
from rnnviz.core.tasks.charlm import CharLMTask
from rnnviz.core.train import Trainer

SMALL = ["--hidden", "8", "--seq-len", "12", "--batch", "4", "--device", "cpu"]


def trained(steps: int, **config) -> Trainer:
    trainer = Trainer(Config(device="cpu", **config))
    for _ in range(steps):
        assert trainer.train_step()
    return trainer


# ---------------------------------------------------------------------------- the report


@pytest.mark.parametrize("task", list(TASKS))
def test_report_is_written_for_every_task_with_sane_values(tmp_path, task):
    out = tmp_path / "report.json"
    seq_len = str(max(12, TASKS[task].min_seq_len))  # padded tasks need their longest sentence
    small = [*SMALL[:2], "--seq-len", seq_len, *SMALL[4:]]
    r = rnnviz("train", "--task", task, "--steps", "20", *small, "--report", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text("utf-8"))
    assert set(report) == {"task", "cell", "step", "loss", "heldout"}
    assert (report["task"], report["cell"], report["step"]) == (task, "lstm", 20)
    assert math.isfinite(report["loss"]) and report["loss"] >= 0
    h = report["heldout"]
    assert set(h) == {"metric", "value", "baseline", "sequences"}
    assert h["metric"] == TASKS[task].heldout.metric
    assert h["sequences"] >= 1 and math.isfinite(h["value"]) and math.isfinite(h["baseline"])
    expected_baseline = {"adding": 1 / 6, "copy": 1 / 8}
    if task in expected_baseline:
        assert h["baseline"] == pytest.approx(expected_baseline[task])
    if h["metric"] == "accuracy":
        assert 0 <= h["value"] <= 1
    assert f"held-out {h['metric']}" in r.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary file left


def test_an_unwritable_report_path_fails_before_training(tmp_path):
    r = rnnviz(
        "train", "--steps", "5", *SMALL, "--report", str(tmp_path / "no" / "r.json"), cwd=tmp_path
    )
    assert r.returncode == 2
    assert "cannot write the report" in r.stderr and "no directory" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""  # not even the header: no training


def test_a_trained_sine_model_beats_repeating_the_last_value():
    report = training_report(trained(300, task="sine", hidden=16))
    h = report["heldout"]
    assert h["metric"] == "mse" and h["sequences"] == 1024
    assert h["value"] < 0.25 * h["baseline"], h
    assert report["step"] == 300 and report["loss"] < h["baseline"]
    assert " beats the baseline, repeating the last value: " in heldout_text(report)
    untrained = training_report(trained(0, task="sine", hidden=16))
    assert " does not beat the baseline" in heldout_text(untrained)
    assert untrained["loss"] is None  # no step yet: null, not NaN (which JSON lacks)


def test_write_json_replaces_a_file_whole(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("old", encoding="utf-8")
    write_json(path, {"a": 1.5})
    assert json.loads(path.read_text("utf-8")) == {"a": 1.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    with pytest.raises(ValueError):  # NaN is not JSON; the old file stays
        write_json(path, {"a": float("nan")})
    assert json.loads(path.read_text("utf-8")) == {"a": 1.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


# ---------------------------------------------------------------------------- true numbers


def test_copy_accuracy_is_the_fraction_of_recalled_symbols():
    trainer = trained(30, task="copy", hidden=16, seq_len=12, batch=16)
    score = heldout_score(trainer.model, trainer.task, chunk=5)
    batch = trainer.task.heldout()
    with torch.no_grad():
        guess = trainer.model(batch.x).argmax(-1)  # (B, T), all sequences at once
    n = trainer.task.n_copy
    right = (guess[:, -n:] == batch.y[:, -n:]).sum().item()
    assert score.value == pytest.approx(right / (len(batch) * n), abs=1e-12)
    assert score.baseline == 1 / 8 and score.sequences == len(batch) == 1024


def test_charlm_score_is_the_nll_of_the_held_out_tail_and_its_unigram_baseline():
    trainer = trained(30, task="charlm", hidden=16, seq_len=40, batch=8)
    task = trainer.task
    text = task.text
    held = max(2, int(len(text) * 0.1))
    tail = text[-held:]
    score = heldout_score(trainer.model, task, chunk=3)
    # The tail read in consecutive windows of T predictions, each character after the first
    # predicted once; what is left over (fewer than T characters) is not scored.
    T = 40
    n = (len(tail) - 1) // T
    ids = task.encode(tail)
    nll, count = 0.0, 0
    with torch.no_grad():
        for k in range(n):
            x, y = ids[k * T : (k + 1) * T], ids[k * T + 1 : (k + 1) * T + 1]
            logp = torch.log_softmax(trainer.model(x[None])[0].double(), -1)  # (T, V)
            nll -= logp[torch.arange(T), y].sum().item()
            count += T
    assert score.sequences == n and score.value == pytest.approx(nll / count, rel=1e-9)
    scored = collections.Counter(tail[1 : n * T + 1])
    entropy = -sum(c / (n * T) * math.log(c / (n * T)) for c in scored.values())
    assert score.baseline == pytest.approx(entropy, rel=1e-12)


def test_the_score_does_not_depend_on_how_the_sequences_are_sliced():
    trainer = trained(10, task="adding", hidden=8, seq_len=20)
    one = heldout_score(trainer.model, trainer.task, chunk=1024)
    sliced = heldout_score(trainer.model, trainer.task, chunk=7)
    assert sliced.value == pytest.approx(one.value, rel=1e-12)
    assert one.baseline == 1 / 6


# ---------------------------------------------------------------------------- never trained on


def test_charlm_training_never_sees_the_held_out_tail():
    # "Z" occurs only in the last tenth: the model can read it, no training batch holds it.
    text = "abc abd acd bcd\n" * 20 + "Z" * 20  # 340 characters, the last 34 held out
    task = CharLMTask(16, text)
    z = task.chars.index("Z")
    assert task.split == len(text) - 34
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        b = task.sample(32, gen)
        assert not bool((b.x == z).any()) and not bool((b.y == z).any())
    assert bool((task.heldout().y == z).any())


def test_charlm_trainer_batches_come_from_the_first_nine_tenths(monkeypatch):
    trainer = Trainer(Config(task="charlm", hidden=8, seq_len=30, batch=16, device="cpu"))
    task, batches = trainer.task, []
    sample = task.sample
    monkeypatch.setattr(task, "sample", lambda *a: batches.append(sample(*a)) or batches[-1])
    for _ in range(20):
        trainer.train_step()
    assert len(batches) == 20
    head = task.text[: task.split]
    for b in batches:
        for x, y in zip(b.x, b.y, strict=True):
            assert task.decode(torch.cat([x, y[-1:]])) in head


@pytest.mark.parametrize("seed", [-1, 2**63, HELDOUT_SEED])
def test_no_training_seed_reaches_the_held_out_stream(seed):
    with pytest.raises(ConfigError, match="seed"):
        Config(seed=seed).validate()


@pytest.mark.parametrize("task", ["sine", "adding", "copy"])
def test_held_out_sequences_are_the_same_every_time_and_not_the_first_training_batch(task):
    t = make_task(Config(task=task, seq_len=12))
    a, b = t.heldout(), t.heldout()
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    first = t.sample(32, torch.Generator().manual_seed(0))
    assert not torch.equal(a.x[:32], first.x)
