"""The word-level language model: the probability of a sentence as the lecture writes it,

    P(w_1, …, w_n) = P(w_1) P(w_2 | w_1) … P(w_n | w_1 … w_{n-1}) P(<eos> | w_1 … w_n)

learned as next-word prediction on the sentiment grammar's sentences (tasks/sentiment.py).
The model reads <eos> first (the end of the sentence before: where a sentence starts), then
the words; at step t it predicts word t+1, at the last word <eos>:

    x:  <eos>  the   film  was  good
    y:  the    film  was   good <eos>

`sentence_probability` gives each factor and their product for a sentence a user types (a word
the vocabulary lacks reads as <unk>); `sample_sentence` draws words until <eos>. Every tenth
sentence is held out; the held-out score is the NLL per predicted word against the unigram
NLL of the held-out words.

Shapes: B batch, T time (words, <eos> included), V vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from rnnviz.core.devices import device_of
from rnnviz.core.tasks.base import Batch
from rnnviz.core.tasks.charlm import unigram_nll
from rnnviz.core.tasks.sentences import Example, SentenceTask
from rnnviz.core.tasks.sentiment import bundled_sentences
from rnnviz.core.tasks.vocab import EOS, EOS_ID, PAD_ID, UNK_ID, tokenize

if TYPE_CHECKING:
    from rnnviz.core.config import Config

HELDOUT_EVERY = 10  # every tenth sentence is held out


class WordLMTask(SentenceTask):
    """Predict the next word of a sentence, and <eos> after its last."""

    name = "wordlm"
    mask_rule = "at every word and the <eos> after the last (padding never)"
    unsampled_ids = (PAD_ID, UNK_ID)  # a sample is made of words the model knows

    @classmethod
    def from_config(cls, config: Config) -> WordLMTask:
        sentences = [s for group in bundled_sentences() for s, _ in group]
        examples = [Example((EOS, *tokenize(s)), ()) for s in sentences]
        held = examples[HELDOUT_EVERY - 1 :: HELDOUT_EVERY]
        train = [e for i, e in enumerate(examples) if i % HELDOUT_EVERY != HELDOUT_EVERY - 1]
        return cls(config.seq_len, train, held)

    def targets(self, example: Example) -> Sequence[int]:
        return [*self.vocab.encode(example.words[1:]), EOS_ID]

    def heldout_baseline(self, batch: Batch) -> float:
        return unigram_nll(batch.y[batch.mask > 0], self.output_size)

    def prime_ids(self, prime: str | None = None) -> torch.Tensor:
        """(P,) ids a sample starts from: <eos>, then `prime`'s words."""
        return torch.tensor([EOS_ID, *self.vocab.encode(tokenize(prime or ""))])

    def decode(self, ids: Sequence[int]) -> str:
        """Words with spaces, each <eos> ending a line."""
        words = self.vocab.decode(ids)
        return " ".join(words).replace(f" {EOS} ", "\n").replace(EOS, "\n").strip(" ")


@dataclass(frozen=True)
class SentenceProbability:
    words: tuple[str, ...]  # as the model read them (<unk> for an unknown word), then <eos>
    factors: tuple[float, ...]  # P(word_t | the words before it), one per word and <eos>

    @property
    def log_probability(self) -> float:
        """ln P(sentence) = sum_t ln P(word_t | words before), in nats."""
        return float(sum(math.log(p) if p > 0 else -math.inf for p in self.factors))

    @property
    def probability(self) -> float:
        return math.exp(self.log_probability)


@torch.no_grad()
def sentence_probability(model: nn.Module, task: WordLMTask, sentence: str) -> SentenceProbability:
    """Each factor P(w_t | w_1 … w_{t-1}) of `sentence` and <eos>, and their product
    (`model` run on its own device)."""
    device = device_of(model)
    ids = task.vocab.encode(tokenize(sentence))  # (n,)
    x = torch.tensor([[EOS_ID, *ids]], device=device)  # (1, n+1)
    was_training = model.training
    model.eval()
    try:
        p = torch.softmax(model(x)[0].cpu().double(), -1)  # (n+1, V) (MPS: no float64)
    finally:
        model.train(was_training)
    targets = torch.tensor([*ids, EOS_ID], device=p.device)  # (n+1,)
    factors = p[torch.arange(len(targets), device=p.device), targets]
    return SentenceProbability(tuple(task.vocab.decode(targets.tolist())), tuple(factors.tolist()))


@torch.no_grad()
def sample_sentence(
    model: nn.Module,
    task: WordLMTask,
    temperature: float = 1.0,
    *,
    seed: int = 0,
    max_words: int = 50,
) -> list[str]:
    """Words drawn one at a time from softmax(logits / temperature), each fed back, until
    <eos> (not included) or `max_words` (`model` run on its own device)."""
    device = device_of(model)
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    words: list[str] = []
    try:
        logits, hx = model.forward_with_state(torch.tensor([[EOS_ID]], device=device))
        while len(words) < max_words:
            z = logits[0, -1].cpu().double() / temperature  # (V,) (MPS has no float64)
            z[list(task.unsampled_ids)] = -torch.inf
            nxt = int(torch.multinomial(torch.softmax(z, -1), 1, generator=gen))
            if nxt == EOS_ID:
                break
            words.append(task.vocab.words[nxt])
            logits, hx = model.forward_with_state(torch.tensor([[nxt]], device=device), hx)
    finally:
        model.train(was_training)
    return words
