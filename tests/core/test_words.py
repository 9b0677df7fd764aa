"""Words (issue 10): vocabulary and padding, the sentiment and tagging data, the user's TSV,
the order-blind baseline, and the trace's tokens and input mask."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnviz.cli import build_parser
from rnnviz.core.config import Config, ConfigError
from rnnviz.core.model import build_model
from rnnviz.core.record_words import record_batch
from rnnviz.core.tasks import make_task
from rnnviz.core.tasks.sentiment import (
    LABELS,
    bundled_sentences,
    bundled_split,
    order_blind_bound,
    read_labelled,
)
from rnnviz.core.tasks.tagging import AMBIGUOUS, PER, TAGS
from rnnviz.core.tasks.vocab import EOS_ID, PAD_ID, UNK_ID, Vocab, pad, tokenize
from rnnviz.core.trace import Trace


def small(task: str, **kw) -> Config:
    return Config(task=task, hidden=6, embed_dim=5, batch=8, device="cpu", **kw)


def test_vocabulary_reserves_pad_unk_eos_and_pads_to_the_right():
    v = Vocab([tokenize("Not bad, not bad at all"), tokenize("good")])
    assert v.words[:3] == ("<pad>", "<unk>", "<eos>") and (PAD_ID, UNK_ID, EOS_ID) == (0, 1, 2)
    assert v.words[3:5] == ("bad", "not")  # by falling frequency
    assert v.encode(["bad", "great"]) == [v.index["bad"], UNK_ID]
    x = pad([[5, 6, 7], [8]])
    assert x.tolist() == [[5, 6, 7], [8, 0, 0]]


def test_sentiment_sentences_and_a_split_where_order_decides():
    sentences = {s for group in bundled_sentences() for s, _ in group}
    assert len(sentences) >= 500
    train, held = bundled_split()
    assert not {e.words for e in train} & {e.words for e in held}
    task = make_task(small("sentiment"))
    batch = task.heldout()
    # an order-blind model cannot beat 75% on the held-out sentences; balanced labels
    assert order_blind_bound(batch) == pytest.approx(0.75, abs=0.01)
    assert abs(float(batch.y[:, 0].float().mean()) - 0.5) < 0.05
    assert task.heldout_baseline(batch) == order_blind_bound(batch)
    words = [tuple(e.words) for e in held]
    assert ("the", "film", "was", "not", "bad") in {w[-5:] for w in words} or any(
        "not" in w for w in words
    )


def test_the_loss_counts_only_the_last_word():
    task = make_task(small("sentiment"))
    b = task.sample(16, torch.Generator().manual_seed(0))
    n = (b.x != PAD_ID).sum(1)
    assert len(set(n.tolist())) > 1, "the batch has sentences of different lengths"
    assert b.mask.sum(1).tolist() == [1.0] * 16
    assert b.mask[torch.arange(16), n - 1].tolist() == [1.0] * 16


@pytest.mark.parametrize(
    ("cell", "bidirectional", "encoder"),
    [("lstm", True, "embedding"), ("peephole-lstm", True, "onehot"), ("gru", False, "embedding")],
)
def test_padding_is_never_computed_as_data(cell, bidirectional, encoder):
    """Each sentence's outputs in a padded batch equal its outputs alone: neither direction
    reads <pad> (the reverse one starts at the last word)."""
    cfg = small("sentiment", cell=cell, bidirectional=bidirectional, encoder=encoder)
    task = make_task(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, task.input_size, task.output_size)
    b = task.sample(6, torch.Generator().manual_seed(1))
    y_hat = model(b.x)
    for i, n in enumerate((b.x != PAD_ID).sum(1).tolist()):
        alone = model(b.x[i : i + 1, :n])
        torch.testing.assert_close(y_hat[i : i + 1, :n], alone, rtol=1e-5, atol=1e-6)
    if encoder == "embedding":
        assert not model.encoder.weight[PAD_ID].any()  # <pad> embeds as zeros


def write(tmp_path, data: bytes):
    path = tmp_path / "reviews.tsv"
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\n  \n", "has no sentences"),
        (b"positive\tgood film\nnegative bad film\n", "line 2: expected label<TAB>sentence"),
        (b"positive\tgood\nhappy\tnice\n", "line 2: unknown label 'happy'"),
        ("positive\tcaf\xe9\nnegative\tbad\n".encode("latin-1"), "is not UTF-8 text (line 1)"),
        (b"positive\tgood\npositive\tnice\n", "has only positive sentences"),
        (b"negative\t \n", "line 1: expected label<TAB>sentence"),
    ],
)
def test_a_bad_data_file_is_one_clear_line(tmp_path, data, says):
    with pytest.raises(ConfigError) as e:
        read_labelled(write(tmp_path, data))
    assert says in str(e.value) and "\n" not in str(e.value)


def test_the_users_sentences_train_with_every_tenth_held_out(tmp_path):
    lines = [f"{LABELS[i % 2]}\tthe film was {'good' if i % 2 else 'bad'} {i}" for i in range(25)]
    task = make_task(small("sentiment", data=write(tmp_path, "\n".join(lines).encode())))
    assert task.sentences == 23 and len(task.heldout()) == 2
    assert task.heldout().x.tolist()[0][-1] == UNK_ID  # "9": a word training never had


def test_the_cli_refuses_a_bad_data_file_in_one_line(tmp_path):
    path = write(tmp_path, b"positive\tgood\npositive\tfine\n")
    r = subprocess.run(
        [sys.executable, "-m", "rnnviz", "train", "--task", "sentiment", "--data", path],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"rnnviz: error: data file {path} has only positive sentences; it needs both "
        "negative and positive"
    ]


def test_the_bag_of_words_is_blind_to_order():
    cfg = small("sentiment", cell="bow")
    task = make_task(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, task.input_size, task.output_size)
    ids = torch.tensor(task.vocab.encode(tokenize("the film was good at first but bad in the end")))
    swapped = torch.tensor(
        task.vocab.encode(tokenize("the film was bad at first but good in the end"))
    )
    torch.testing.assert_close(model(ids[None])[0, -1], model(swapped[None])[0, -1])
    x = pad([ids.tolist(), ids[:4].tolist()])
    # the output at t is the mean so far; padding is not part of the mean
    torch.testing.assert_close(model(x)[1, 3], model(ids[None, :4])[0, 3])
    assert (
        "bow"
        in next(
            a for a in build_parser()[1]["train"]._actions if "--cell" in a.option_strings
        ).choices
    )
    with pytest.raises(ConfigError, match="reads words"):
        Config(task="sine", cell="bow").validate()
    trace = record_batch(model, task, task.sample(3, torch.Generator().manual_seed(0)))
    assert (
        trace.layers == () and trace.gate_names == () and trace.y_hat.shape[:2] == trace.x_raw.shape
    )


@pytest.mark.parametrize("task", ["copy", "charlm", "sentiment", "tagging", "wordlm", "music"])
def test_the_bag_of_words_trains_on_every_task_that_takes_it(task):
    """Every task whose inputs are symbols takes the baseline; on music it averages the notes
    themselves, the lookback (which reads their order) left out."""
    from rnnviz.core.train import Trainer

    trainer = Trainer(small(task, cell="bow", seq_len=20))
    assert trainer.train_step() and trainer.step_count == 1
    assert trainer.record().layers == ()
    if task == "music":
        assert trainer.config.resolved_encoder == "embedding"
        with pytest.raises(ConfigError, match="lookback encoder reads their order"):
            small(task, cell="bow", encoder="lookback").validate()


def test_tagging_scores_the_words_a_later_word_decides():
    task = make_task(small("tagging"))
    b = task.heldout()
    scored = b.mask > 0
    words = np.asarray(task.input_vocab)[b.x[scored]]
    assert set(words) <= set(AMBIGUOUS) and scored.sum(1).max() == 1
    assert float((b.y[scored] == PER).float().mean()) == 0.5  # half names: a guess is 50%
    assert task.output_vocab == TAGS and task.heldout_baseline(b) == pytest.approx(0.5, abs=0.05)
    # the word after it decides: "teddy" before a surname is a name, before "bears" it is not
    sentences = [np.asarray(task.input_vocab)[row[row > 0]] for row in b.x]
    first = next(i for i, s in enumerate(sentences) if "teddy" in s)
    at = list(sentences[first]).index("teddy")
    assert (b.y[first, at] == PER) == (sentences[first][at + 1] not in AMBIGUOUS["teddy"])


def test_the_trace_has_tokens_an_input_mask_and_nothing_at_padding(tmp_path):
    cfg = small("sentiment", bidirectional=True, layers=2)
    task = make_task(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, task.input_size, task.output_size)
    b = task.sample(4, torch.Generator().manual_seed(3))
    trace = record_batch(model, task, b)
    n = (b.x != PAD_ID).sum(1).numpy()
    assert (trace.input_mask.sum(1) == n).all()
    pads = trace.input_mask == 0
    assert pads.any() and (trace.tokens[pads] == "<pad>").all()
    for lt in trace.layers:
        assert not lt.h[pads].any() and not lt.grad_h[pads].any() and not lt.c[pads].any()
        assert np.isnan(lt.jacobian_norm[pads]).all()
        assert np.isfinite(lt.jacobian_norm[~pads]).all()
    trace.save_npz(tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz") as z:
        assert z["tokens"].tolist() == trace.tokens.tolist()
        np.testing.assert_array_equal(z["input_mask"], trace.input_mask)
    meta = Trace.load_npz(tmp_path / "t.npz").meta
    assert meta["input_vocab"][:3] == ["<pad>", "<unk>", "<eos>"]
    assert meta["output_vocab"] == list(LABELS) and meta["pad_id"] == PAD_ID
