"""What if (core/seq2seq/whatif.py, live.py): a typed input is decoded by the session with the
current weights, a pinned row is decoded from, and what cannot be decoded is one line."""

from __future__ import annotations

import pytest
import torch

from rnnviz.core.config import Config
from rnnviz.core.loop import session
from rnnviz.core.seq2seq.decoded import Decoded
from rnnviz.core.seq2seq.decoding import beam_search
from rnnviz.core.seq2seq.whatif import WhatIf, WhatIfAnswer, check_pin, read_input, reweighted
from rnnviz.core.train import Trainer

DATES = " ,-./0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize(
    ("text", "read", "message"),
    [
        ("Thursday January 26 1995", "thursday january 26 1995", ""),
        ("05/03/79", "05/03/79", ""),
        ("26 Jän 1995!", "", "Unknown characters 'ä', '!': this model reads only"),
        ("x" * 31, "", "The input has 31 characters; this model reads at most 30"),
        ("", "", "Type an input"),
    ],
)
def test_a_typed_input_is_read_or_refused_in_one_line(text, read, message):
    got, why = read_input(text, ("<pad>", *DATES), 30)
    assert got == read and why.startswith(message) and "\n" not in why


def test_symbol_strings_are_read_in_upper_case():
    assert read_input("abca", ("<pad>", *"ABCDEFGH"), 5) == ("ABCA", "")


def answer_to(steps, question: WhatIf) -> WhatIfAnswer:
    return steps.send(question).extras["whatif"]


def test_the_session_decodes_a_typed_date_with_the_current_weights_and_pins_a_row():
    trainer = Trainer(Config(task="dates", hidden=8, batch=8, device="cpu", beam=2))
    for _ in range(3):
        trainer.train_step()
    steps = session(trainer)
    first = next(steps)
    probe = first.extras["decoding"]
    assert len(probe) == trainer.config.probe_batch and isinstance(probe[0], Decoded)
    assert first.extras["decoding_step"] == 3 and "whatif" not in first.extras

    got = answer_to(steps, WhatIf("Thursday January 26 1995"))
    assert got.read == "thursday january 26 1995" and got.message == "" and got.step == 3
    task = trainer.task
    ids = [task.input_vocab.index(c) for c in got.read]
    x = torch.tensor([[0] * (task.in_len - len(ids)) + ids])
    assert list(got.decoded.ids) == beam_search(trainer.model, x, task.out_len + 1, 2)[0].tolist()
    assert got.decoded.inputs == tuple(got.read) and got.decoded.width == 2

    row = tuple(1.0 if i == 2 else 0.0 for i in range(len(got.read)))
    pinned = answer_to(steps, WhatIf(got.read, pin_step=1, pin_row=row))
    assert pinned.decoded.pinned == 1 and pinned.decoded.attn[1] == row
    assert pinned.decoded.attn[0] == got.decoded.attn[0]

    refused = answer_to(steps, WhatIf("26 jän 1995"))
    assert refused.decoded is None and refused.message.startswith("Unknown character 'ä'")
    bad_pin = answer_to(steps, WhatIf("1995-01-26", pin_step=1, pin_row=(1.0,)))
    assert bad_pin.decoded is None and "pinned row has 1 weights" in bad_pin.message
    steps.close()


def test_a_single_stack_has_no_decoding_extras():
    trainer = Trainer(Config(task="copy", hidden=8, seq_len=8, batch=8, device="cpu"))
    steps = session(trainer)
    assert "decoding" not in next(steps).extras
    assert "whatif" not in steps.send(WhatIf("abc")).extras
    steps.close()


@pytest.mark.parametrize(
    ("row", "j", "weight", "expected"),
    [
        ((0.5, 0.3, 0.2), 0, 0.8, (0.8, 0.12, 0.08)),  # the others keep their 3 : 2
        ((1.0, 0.0, 0.0), 0, 0.4, (0.4, 0.3, 0.3)),  # all others 0: shared equally
        ((0.2, 0.8), 1, 1.7, (0.0, 1.0)),  # dragged past the top: clipped to 1
        ((0.2, 0.8), 1, -0.5, (1.0, 0.0)),
        ((1.0,), 0, 0.3, (1.0,)),  # one input character takes it all
    ],
)
def test_a_dragged_weight_keeps_the_row_a_distribution(row, j, weight, expected):
    got = reweighted(row, j, weight)
    assert got == pytest.approx(expected) and sum(got) == pytest.approx(1.0, abs=1e-12)
    assert check_pin(WhatIf("x" * len(row), 0, got), "x" * len(row), 3) == ""
