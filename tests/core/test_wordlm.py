"""The word-level language model: P(sentence) as the product of its factors, and sampling
until <eos>."""

import math

import pytest
import torch

from rnnviz.core.config import Config
from rnnviz.core.tasks.vocab import EOS_ID, PAD_ID, UNK_ID, pad
from rnnviz.core.tasks.wordlm import sample_sentence, sentence_probability
from rnnviz.core.train import Trainer


@pytest.fixture(scope="module")
def trainer():
    t = Trainer(Config(task="wordlm", hidden=16, embed_dim=8, batch=16, device="cpu"))
    for _ in range(60):
        t.train_step()
    return t


def test_the_model_reads_eos_first_and_predicts_eos_after_the_last_word(trainer):
    b = trainer.task.sample(8, torch.Generator().manual_seed(0))
    n = (b.x != PAD_ID).sum(1)
    assert (b.x[:, 0] == EOS_ID).all()
    assert (b.y[torch.arange(8), n - 1] == EOS_ID).all()
    torch.testing.assert_close(b.y[:, :-1][b.x[:, 1:] != PAD_ID], b.x[:, 1:][b.x[:, 1:] != PAD_ID])
    assert (b.mask.sum(1) == n).all()


def test_the_probability_of_a_sentence_is_the_product_of_its_factors(trainer):
    task, model = trainer.task, trainer.model
    got = sentence_probability(model, task, "The film was not bad, if you ask me")
    assert got.words[-1] == "<eos>" and got.words[5] == "," and len(got.factors) == 11
    ids = task.vocab.encode(got.words[:-1])
    x, y = pad([[EOS_ID, *ids]]), pad([[*ids, EOS_ID]])
    mask = torch.ones_like(x, dtype=torch.float32)
    with torch.no_grad():
        nll = float(task.loss(model(x), y, mask)) * len(got.factors)  # -ln P, summed
    assert got.log_probability == pytest.approx(-nll, rel=1e-5)
    assert got.probability == pytest.approx(math.prod(got.factors), rel=1e-9)
    assert all(0 < p < 1 for p in got.factors)
    assert sentence_probability(model, task, "the film was zxq").words[3] == "<unk>"


def test_a_trained_model_prefers_a_grammatical_sentence(trainer):
    task, model = trainer.task, trainer.model
    good = sentence_probability(model, task, "the film was good")
    shuffled = sentence_probability(model, task, "good was film the")
    assert good.log_probability > shuffled.log_probability + 3


def test_sampling_draws_known_words_until_eos(trainer):
    task, model = trainer.task, trainer.model
    words = sample_sentence(model, task, 0.5, seed=1)
    assert words == sample_sentence(model, task, 0.5, seed=1)
    assert 0 < len(words) < 50 and not {"<pad>", "<unk>", "<eos>"} & set(words)
    assert set(words) <= set(task.vocab.words)
    assert UNK_ID in task.unsampled_ids
    text = trainer.sample_text(40, 1.0)  # the window's sample: sentences a line each
    assert "\n" in text and "<eos>" not in text
