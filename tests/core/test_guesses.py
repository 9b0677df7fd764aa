"""The top-5 next-symbol guesses of a recording against torch's softmax and topk."""

from __future__ import annotations

import numpy as np
import torch

from rnnviz.core.config import Config
from rnnviz.core.guesses import top_guesses
from rnnviz.core.train import Trainer


def test_top_guesses_are_torchs_softmax_topk_of_the_recorded_outputs():
    trainer = Trainer(Config(task="charlm", hidden=8, seq_len=30, batch=4, device="cpu"))
    for _ in range(3):
        trainer.train_step()
    trace = trainer.record(jacobians=False)
    logits, y = trace.y_hat[0], trace.y[0]  # (T, O), (T,)
    g = top_guesses(logits, y)
    p = torch.softmax(torch.tensor(logits, dtype=torch.float64), -1)
    target = torch.tensor(y)
    values, ids = p.topk(5, -1)
    np.testing.assert_allclose(g.p, values.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(g.ids, ids.numpy())
    assert (np.diff(g.p, axis=1) <= 0).all()  # most likely first
    np.testing.assert_allclose(g.target_p, p[torch.arange(30), target].numpy())
    rank = (p > p[torch.arange(30), target][:, None]).sum(-1).numpy()
    np.testing.assert_array_equal(g.target_rank, rank)


def test_ties_small_vocabularies_and_divergence():
    logits = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, 9.0], [np.nan, 0.0, 1.0]])
    g = top_guesses(logits, np.array([2, 2, 0]))
    assert g.ids.shape == (3, 3)  # fewer symbols than five: all of them
    np.testing.assert_array_equal(g.ids[0], [0, 1, 2])  # ties: the lower id first
    np.testing.assert_allclose(g.p[0], 1 / 3)
    assert g.target_rank[0] == 2 and g.target_rank[1] == 0
    assert np.isnan(g.p[2]).all() and np.isnan(g.target_p[2])
