"""Itemized BPTT (core/grad_items.py): dL_j/dh_t of each loss term of probe sequence 0 adds
up to the recorded dL/dh_t, is zero where causality says so, and equals a direct autograd
computation of each L_j through the textbook loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.core.cells import CELLS
from rnnviz.core.config import Config
from rnnviz.core.grad_items import grad_items_skip_reason
from rnnviz.core.model import run_explicit
from rnnviz.core.record import record_trace
from rnnviz.core.record_words import record_batch
from rnnviz.core.trace import Trace
from rnnviz.core.train import Trainer


def _trained(**kw) -> Trainer:
    cfg = Config(**{"hidden": 5, "seq_len": 9, "batch": 4, "device": "cpu", **kw})
    trainer = Trainer(cfg)
    trainer.train_step()
    return trainer


def _direct(trainer: Trainer, j: int) -> dict:
    """dL_j/dh_t of sequence 0 by one autograd pass of the explicit loop, L_j the term of the
    batch's masked loss at (0, j): the loss with every other mask entry 0, renormalised."""
    model, batch = trainer.model, trainer.probe_batch
    cfg = model.config
    x = model.encode(batch.x).detach()  # (B, T, I)
    B, T = x.shape[:2]
    has_c = CELLS[cfg.cell].cell_state
    pert = {
        (k, d == 1): (
            torch.zeros(B, T, cfg.hidden, requires_grad=True),
            torch.zeros(B, T, cfg.hidden) if has_c else None,
        )
        for k in range(cfg.layers)
        for d in range(model.directions)
    }
    out, _, _ = run_explicit(model.rnn, x, perturb=pert)
    only = torch.zeros_like(batch.mask)
    only[0, j] = batch.mask[0, j]
    y_hat = model.output(out, model.past_of(batch.x))
    L_j = trainer.task.loss(y_hat, batch.y, only) * only.sum() / batch.mask.sum()
    grads = torch.autograd.grad(L_j, [ph for ph, _ in pert.values()])
    return {key: g[0].numpy() for key, g in zip(pert, grads, strict=True)}  # (T, H) each


@pytest.mark.parametrize(
    "cell, layers, bidirectional, task",
    # (a bidirectional model on whole sentences: next-value tasks refuse a reverse direction)
    [(cell, *shape) for cell in CELLS for shape in ((1, False, "sine"), (2, True, "tagging"))]
    # loss steps only where the copy is recalled: items enter late, in no step's every row
    + [("lstm", 2, True, "copy"), ("gru", 2, False, "copy")]
    # a melody's outputs mix in the melody cache (model.output)
    + [("lstm", 1, False, "music")],
)
def test_items_add_up_obey_causality_and_match_autograd(cell, layers, bidirectional, task):
    trainer = _trained(task=task, cell=cell, layers=layers, bidirectional=bidirectional)
    trace = record_trace(
        trainer.model, trainer.task, trainer.probe_batch, jacobians=False, connectivity=False
    )
    steps = np.flatnonzero(trace.loss_mask[0])
    T = trace.T
    assert trace.meta["grad_items"].startswith("computed")
    direct = {j: _direct(trainer, j) for j in (steps[0], steps[len(steps) // 2], steps[-1])}
    for lt in trace.layers:
        items = lt.grad_items  # (T_loss, T, H)
        assert items.shape == (len(steps), T, trace.meta["hidden"])
        np.testing.assert_allclose(items.sum(0), lt.grad_h[0], rtol=0, atol=1e-6)
        t = np.arange(T)
        later = t[None, :] > steps[:, None]  # (T_loss, T): h_t after the loss step j
        # causality: in the top layer (and in every layer of a one-way stack) L_j does not
        # depend on the states the direction reaches after step j
        if lt.layer == layers - 1 or not bidirectional:
            unreachable = (~later if lt.reverse else later) & (t[None, :] != steps[:, None])
            assert (items[unreachable] == 0).all()
            assert (np.abs(items[~unreachable]).sum(-1) > 0).all()
        for j, grads in direct.items():
            row = int(np.searchsorted(steps, j))
            np.testing.assert_allclose(
                items[row], grads[(lt.layer, lt.reverse)], rtol=1e-4, atol=1e-7
            )


def test_many_to_one_has_one_item_the_whole_gradient(tmp_path):
    trainer = _trained(task="adding", cell="gru", seq_len=12)
    trace = trainer.record(jacobians=False)
    items = trace.layer(0).grad_items
    assert items.shape == (1, 12, 5)
    np.testing.assert_allclose(items[0], trace.layer(0).grad_h[0], rtol=0, atol=1e-7)
    path = tmp_path / "t.npz"
    trace.save_npz(path)
    with np.load(path) as z:
        assert z["grad_items_l0"].shape == (1, 12, 5)  # the key README's table documents
    np.testing.assert_array_equal(Trace.load_npz(path).layer(0).grad_items, items)


def test_padded_sentences_itemize_sequence_0_from_its_own_length():
    trainer = _trained(task="tagging", cell="lstm", seq_len=9, bidirectional=True)
    trace = record_batch(
        trainer.model, trainer.task, trainer.probe_batch, jacobians=False, connectivity=False
    )
    steps = np.flatnonzero(trace.loss_mask[0])
    for lt in trace.layers:
        assert lt.grad_items.shape[:2] == (len(steps), trace.T)
        np.testing.assert_allclose(lt.grad_items.sum(0), lt.grad_h[0], rtol=0, atol=1e-6)


def test_over_budget_is_skipped_with_a_reason():
    cfg = Config(task="charlm", hidden=512, seq_len=1000, device="cpu")
    why = grad_items_skip_reason(cfg, 64, list(range(1000)), 1000)
    assert why.startswith("skipped") and "over the recording budget" in why
    trainer = _trained(task="sine", cell="rnn")
    trace = trainer.record(jacobians=False)
    assert trace.meta["grad_items"].startswith("computed")
    off = record_trace(trainer.model, trainer.task, trainer.probe_batch, grad_items=False)
    assert off.meta["grad_items"] == "skipped: not asked for"
    assert off.layer(0).grad_items is None and "grad_items_l0" not in off.to_arrays()
