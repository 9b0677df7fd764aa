"""What the training process adds to an encoder-decoder's snapshots for the decoding panels
(loop.session calls it): the probe sequences decoded step by step (extras["decoding"], a
tuple of Decoded, one per probe sequence, decoded with the weights of training step
extras["decoding_step"]) and the answer to the
window's latest What-if question (extras["whatif"], a WhatIfAnswer).

Both use the current weights, are decoded again only when the recording or the weights
changed, and at most every `interval` seconds while training runs: a probe batch's beam
search costs a few milliseconds, the training steps it would displace more.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from rnnviz.core.seq2seq.decoding import Pin
from rnnviz.core.seq2seq.model import PAD
from rnnviz.core.seq2seq.steps import decode_steps
from rnnviz.core.seq2seq.whatif import WhatIf, WhatIfAnswer, check_pin, read_input

if TYPE_CHECKING:
    from rnnviz.core.trace import Trace
    from rnnviz.core.train import Trainer

INTERVAL_S = 0.5  # the least time between two decodings of the same kind while training


def answer(trainer: Trainer, question: WhatIf) -> WhatIfAnswer:
    """Decode the question's input with the trainer's current weights and beam width."""
    task, model = trainer.task, trainer.model
    steps = task.out_len + 1
    read, message = read_input(question.text, task.input_vocab, task.in_len)
    message = message or check_pin(question, read, steps)
    if message:
        return WhatIfAnswer(question, read, message, None, trainer.step_count)
    ids = [task.input_vocab.index(c) for c in read]
    x = torch.tensor([[PAD] * (task.in_len - len(ids)) + ids], device=trainer.device)  # (1, N)
    pin = None
    if question.pin_step is not None:
        alpha = torch.zeros(1, task.in_len, device=trainer.device)  # (1, N): 0 on padding
        alpha[0, task.in_len - len(ids) :] = torch.tensor(question.pin_row)
        pin = Pin(question.pin_step, alpha)
    (decoded,) = decode_steps(
        model, x, steps, trainer.config.beam, task.input_vocab, task.output_vocab, pin
    )
    return WhatIfAnswer(question, read, "", decoded, trainer.step_count)


class DecodingWatch:
    """The decoding extras of one trainer's snapshots (module docstring)."""

    def __init__(self, trainer: Trainer, interval: float = INTERVAL_S) -> None:
        self.trainer = trainer
        self.interval = interval
        self.active = trainer.task.spec.model == "seq2seq"
        self.question: WhatIf | None = None
        self._extras: dict[str, Any] = {}
        self._made: dict[str, tuple] = {}  # kind -> what it was made from
        self._at: dict[str, float] = {}  # kind -> when

    def ask(self, question: WhatIf) -> None:
        """A new What-if question: answered in the next snapshot."""
        self.question = question
        self._at.pop("whatif", None)  # a person waits for it: no throttling

    def extras(self, trace: Trace, now: float) -> dict[str, Any]:
        """{"decoding": …, "decoding_step": …, "whatif": …} for a snapshot showing `trace`
        ({} for models that are not encoder-decoders)."""
        if not self.active:
            return {}
        t = self.trainer
        self._update("decoding", (id(trace), t.step_count), now, self._probe)
        self._extras["decoding_step"] = self._made["decoding"][1]
        if self.question is not None:
            self._update("whatif", (self.question, t.step_count), now, self._whatif)
        return dict(self._extras)

    def _update(self, kind: str, source: tuple, now: float, make) -> None:
        if self._made.get(kind) == source or now - self._at.get(kind, -math.inf) < self.interval:
            return
        self._extras[kind] = make()
        self._made[kind], self._at[kind] = source, now

    def _probe(self) -> tuple:
        t = self.trainer
        x = t.probe_batch.x  # (B, N)
        steps = t.probe_batch.y.shape[1]
        vocabs = (t.task.input_vocab, t.task.output_vocab)
        return tuple(decode_steps(t.model, x, steps, t.config.beam, *vocabs))

    def _whatif(self) -> WhatIfAnswer:
        return answer(self.trainer, self.question)
