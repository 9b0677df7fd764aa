"""Tasks: batch layout, the task-specific facts each batch must satisfy, and the one loss."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnviz.core.config import Config, ConfigError
from rnnviz.core.tasks import TASKS, make_task
from rnnviz.core.tasks.base import Task, masked_loss
from rnnviz.core.tasks.charlm import CharLMTask
from rnnviz.core.tasks.synthetic import AddingTask, CopyTask

TASK_NAMES = ("sine", "adding", "copy", "charlm")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def task(name: str, T: int, **kw) -> Task:
    return make_task(Config(task=name, seq_len=T, **kw))


@pytest.mark.parametrize("name", TASK_NAMES)
@pytest.mark.parametrize("T", [4, 37])
def test_batch_shapes_and_dtypes(name, T):
    t = task(name, T)
    b = t.sample(5, gen())
    if t.symbols_in:
        assert b.x.shape == (5, T) and b.x.dtype == torch.int64
        assert 0 <= int(b.x.min()) and int(b.x.max()) < t.input_size
        assert len(t.input_vocab) == t.input_size
    else:
        assert b.x.shape == (5, T, t.input_size) and b.x.dtype == torch.float32
    if t.kind == "classification":
        assert b.y.shape == (5, T) and b.y.dtype == torch.int64
        assert 0 <= int(b.y.min()) and int(b.y.max()) < t.output_size
        assert len(t.output_vocab) == t.output_size
    else:
        assert b.y.shape == (5, T, t.output_size) and b.y.dtype == torch.float32
    assert b.mask.shape == (5, T) and b.mask.dtype == torch.float32
    assert set(b.mask.unique().tolist()) <= {0.0, 1.0}
    if t.shape == "many-to-one":
        assert b.mask[:, :-1].sum() == 0 and bool((b.mask[:, -1] == 1).all())
    # The loss a model's output (B, T, O) gets is a finite scalar.
    loss = t.loss(torch.zeros(5, T, t.output_size), b.y, b.mask)
    assert loss.shape == () and math.isfinite(loss.item())


@pytest.mark.parametrize("name", TASK_NAMES)
def test_same_generator_seed_gives_same_batch(name):
    t = task(name, 20)
    a, b, c = t.sample(4, gen(7)), t.sample(4, gen(7)), t.sample(4, gen(8))
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and torch.equal(a.mask, b.mask)
    assert not torch.equal(a.x, c.x)


def test_sine_target_is_next_input():
    b = task("sine", 30).sample(8, gen())
    assert torch.equal(b.y[:, :-1], b.x[:, 1:])
    assert b.x.abs().max() <= 1.0 and b.mask.sum() == 8 * 30


@pytest.mark.parametrize("T", [2, 3, 10, 101])
def test_adding_has_one_marker_per_half_and_sums_them(T):
    b = AddingTask(T).sample(256, gen())
    values, markers = b.x[..., 0], b.x[..., 1]  # (B, T)
    assert bool(((values >= 0) & (values <= 1)).all())
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    assert bool((markers[:, : T // 2].sum(1) == 1).all())
    assert bool((markers[:, T // 2 :].sum(1) == 1).all())
    torch.testing.assert_close(b.y[:, -1, 0], (values * markers).sum(1))


def test_adding_chance_loss_is_what_constant_one_scores():
    t = AddingTask(20)
    b = t.sample(200_000, gen())
    loss = t.loss(torch.ones_like(b.y), b.y, b.mask).item()
    assert t.chance_loss == pytest.approx(1 / 6)
    assert loss == pytest.approx(1 / 6, abs=0.003)


def test_sine_chance_loss_is_what_constant_zero_scores():
    t = task("sine", 50)
    b = t.sample(50_000, gen())
    assert t.loss(torch.zeros_like(b.y), b.y, b.mask).item() == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("T", [4, 5, 11, 60])
def test_copy_targets_are_the_input_symbols_after_the_delimiter(T):
    t = CopyTask(T)
    n = t.n_copy
    assert 1 <= n <= 5 and t.delay == T - 2 * n - 1 >= 0
    b = t.sample(64, gen())
    assert bool((b.x[:, :n] < 8).all())  # data symbols A..H
    assert bool((b.x[:, n : T - n - 1] == t.blank).all())
    assert bool((b.x[:, T - n - 1] == t.delimiter).all())
    assert bool((b.x[:, T - n :] == t.blank).all())
    assert torch.equal(b.y[:, T - n :], b.x[:, :n])
    assert bool((b.mask[:, T - n :] == 1).all()) and b.mask[:, : T - n].sum() == 0
    assert t.output_vocab[int(b.y[0, -1])] == t.input_vocab[int(b.x[0, n - 1])]


def test_copy_rejects_too_short_sequences():
    with pytest.raises(ConfigError, match="at least 4"):
        CopyTask(3)


def test_charlm_target_is_input_shifted_by_one_and_codec_round_trips():
    t = task("charlm", 64)
    b = t.sample(16, gen())
    assert torch.equal(b.x[:, 1:], b.y[:, :-1])
    assert bool((b.mask == 1).all())
    # Every window is a real stretch of the text.
    assert t.decode(torch.cat([b.x[0], b.y[0, -1:]])) in t.text
    s = 'Alice said "Why?" (quite\nso) [Aside]'
    assert t.decode(t.encode(s)) == s
    assert t.encode(s).dtype == torch.int64


def test_charlm_vocabulary_and_labels():
    t = CharLMTask(3, "ab a\nb")
    assert t.chars == ("\n", " ", "a", "b")
    assert t.input_vocab == t.output_vocab == ("⏎", "␣", "a", "b")
    assert t.input_size == t.output_size == 4
    # The unigram distribution of the text trained on ("ab a": the last two are held out),
    # whose entropy is chance.
    p = torch.tensor([1, 2, 1]) / 4
    assert t.chance_loss == pytest.approx(float(-(p * p.log()).sum()))
    with pytest.raises(ValueError, match="'z'"):
        t.encode("az")


def test_bundled_text_has_structure_to_track():
    text = task("charlm", 50).text
    assert 20_000 <= len(text.encode("utf-8")) <= 60_000
    for ch in "\"'()[]\n:":
        assert ch in text
    assert text.count("(") == text.count(")") and text.count("[") == text.count("]")


def test_user_text_file_is_used(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("hello world", encoding="utf-8")
    t = task("charlm", 8, text=str(p))
    assert t.text == "hello world"
    # The last two characters are held out: the one window left to train on is "hello wor".
    b = t.sample(3, gen())
    assert {t.decode(x) for x in b.x} == {"hello wo"} and {t.decode(y) for y in b.y} == {"ello wor"}


def test_bad_text_files_raise_clear_config_errors(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("abcdefghij", encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match="has 10 characters; after the last 2 are held out for the held-out score, 8 are "
        "left to train on, and the sequence length 10 needs at least 11",
    ):
        task("charlm", 10, text=str(short))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ConfigError, match="empty"):
        task("charlm", 10, text=str(empty))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\u00e9 au lait, encore".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        task("charlm", 10, text=str(latin1))
    with pytest.raises(ConfigError, match="not found"):
        task("charlm", 10, text=str(tmp_path / "missing.txt"))


def test_unknown_task_is_rejected():
    with pytest.raises(ConfigError, match="task must be one of"):
        make_task(Config(task="parity"))


def test_masked_regression_loss_ignores_masked_steps_and_matches_mse():
    y_hat, y = torch.randn(3, 6, 2, generator=gen(1)), torch.randn(3, 6, 2, generator=gen(2))
    mask = torch.zeros(3, 6)
    mask[0, 1] = mask[1, 5] = mask[2, 0] = mask[2, 3] = 1.0
    loss = masked_loss("regression", y_hat, y, mask)
    keep = mask.bool()
    torch.testing.assert_close(loss, F.mse_loss(y_hat[keep], y[keep]))
    changed = torch.where(keep[..., None], y_hat, y_hat + 100.0)
    torch.testing.assert_close(masked_loss("regression", changed, y, mask), loss)


def test_masked_classification_loss_ignores_masked_steps_and_matches_cross_entropy():
    y_hat = torch.randn(4, 5, 7, generator=gen(1))
    y = torch.randint(0, 7, (4, 5), generator=gen(2))
    mask = (torch.rand(4, 5, generator=gen(3)) < 0.5).float()
    mask[0, 0] = 1.0
    loss = masked_loss("classification", y_hat, y, mask)
    keep = mask.bool()
    torch.testing.assert_close(loss, F.cross_entropy(y_hat[keep], y[keep]))
    changed = torch.where(keep[..., None], y_hat, -y_hat * 30)
    torch.testing.assert_close(masked_loss("classification", changed, y, mask), loss)


def test_describe_input_and_output():
    adding = task("adding", 10)
    assert adding.describe_input(torch.tensor([0.534, 1.0])) == "0.53, marker 1"
    assert adding.describe_output(torch.tensor([0.414]), torch.tensor([0.4])) == "ŷ=0.41  y=0.40"
    sine = task("sine", 10)
    assert sine.describe_input(torch.tensor([-0.126])) == "-0.13"
    copy = CopyTask(10)
    assert copy.describe_input(torch.tensor(9)) == ":"
    logits = torch.log(torch.tensor([0.1, 0.62, 0.28, 0, 0, 0, 0, 0, 0]) + 1e-12)
    assert copy.describe_output(logits, torch.tensor(1)) == "'B' (p=0.62), target 'B'"
    charlm = CharLMTask(3, "ab a\nb")
    assert charlm.describe_input(1) == "␣"
    assert "target '⏎'" in charlm.describe_output(torch.zeros(4), 0)


def test_loss_definition_states_the_mask():
    assert "only at the last step" in task("adding", 10).loss_definition
    assert "(y_hat - y)^2" in task("sine", 10).loss_definition
    assert "cross-entropy" in task("charlm", 10).loss_definition
    assert "last 5 steps" in task("copy", 20).loss_definition


def test_batch_to_moves_every_tensor():
    b = task("copy", 8).sample(2, gen()).to("meta")
    assert b.x.device.type == b.y.device.type == b.mask.device.type == "meta"


def next_input_fraction(t: Task, b) -> float:
    """Of the scored steps with an input after them, the fraction whose target is that input."""
    scored = b.mask[:, :-1].bool()
    if t.symbols_in and t.kind == "classification":
        inputs = np.asarray(t.input_vocab, dtype=object)[b.x[:, 1:].numpy()]
        targets = np.asarray(t.output_vocab, dtype=object)[b.y[:, :-1].numpy()]
        same = torch.from_numpy((inputs == targets).astype(bool))
    elif not t.symbols_in and b.x.shape[-1] == b.y.shape[-1]:
        same = (b.x[:, 1:] == b.y[:, :-1]).all(-1)
    else:
        return 0.0
    return float(same[scored].float().mean()) if scored.any() else 0.0


@pytest.mark.parametrize("name", [n for n, spec in TASKS.items() if spec.model == "stack"])
def test_a_task_whose_targets_are_its_next_inputs_refuses_a_reverse_direction(name):
    """A bidirectional model on next-value prediction reads the answer (its reverse direction
    has seen x_{t+1} when it predicts y_t = x_{t+1}): such tasks say so and refuse it."""
    t = task(name, 24)
    predicts_next = next_input_fraction(t, t.sample(16, gen())) > 0.5  # wordlm: 0.93, <eos>
    assert TASKS[name].predicts_next == predicts_next
    two_way = Config(task=name, seq_len=24, bidirectional=True)
    if predicts_next:
        with pytest.raises(ConfigError, match="a reverse direction would read it as input"):
            two_way.validate()
    else:
        assert two_way.validate() is two_way
