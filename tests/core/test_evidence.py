"""Evidence over time (many-to-one): the answer after each word, as if the sentence stopped."""

import numpy as np
import torch

from rnnviz.core.config import Config
from rnnviz.core.evidence import evidence_over_time
from rnnviz.core.model import build_model
from rnnviz.core.tasks import make_task
from rnnviz.core.tasks.sentiment import POS
from rnnviz.core.tasks.vocab import PAD_ID, pad, tokenize
from rnnviz.core.train import Trainer


def model_and_batch(**kw):
    cfg = Config(task="sentiment", hidden=6, embed_dim=4, device="cpu", **kw)
    task = make_task(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, task.input_size, task.output_size)
    return model, task.sample(3, torch.Generator().manual_seed(2)).x


def test_a_forward_model_answers_with_the_head_on_h_t():
    model, x = model_and_batch()
    got = evidence_over_time(model, x)
    with torch.no_grad():
        expected = torch.softmax(model(x).double(), -1).numpy()
    data = (x != PAD_ID).numpy()
    np.testing.assert_allclose(got[data], expected[data], rtol=1e-6)
    assert np.isnan(got[~data]).all() and (~data).any()


def test_a_bidirectional_model_answers_as_if_the_sentence_stopped_at_t():
    model, x = model_and_batch(bidirectional=True)
    got = evidence_over_time(model, x)
    with torch.no_grad():
        full = torch.softmax(model(x).double(), -1).numpy()
        for b, n in enumerate((x != PAD_ID).sum(1).tolist()):
            for t in range(n):
                alone = torch.softmax(model(x[b : b + 1, : t + 1])[0, t].double(), -1)
                np.testing.assert_allclose(got[b, t], alone.numpy(), rtol=1e-6)
    # at t = 0 the reverse direction of the whole sentence had read every later word
    assert not np.allclose(got[:, 0], full[:, 0], rtol=1e-3)


def test_the_evidence_turns_at_not():
    trainer = Trainer(Config(task="sentiment", hidden=16, embed_dim=8, device="cpu"))
    for _ in range(150):
        trainer.train_step()
    vocab = trainer.task.vocab
    x = pad([vocab.encode(tokenize(s)) for s in ("the film was bad", "the film was not bad")])
    p_pos = evidence_over_time(trainer.model, x)[..., POS]  # (2, 5)
    assert p_pos[0, 3] < 0.2  # "... was bad": negative
    assert p_pos[1, 4] > 0.8  # "... was not bad": positive, turned by "not"
