"""The melody model's first and last layers: each note's own row plus its pitch's and its length's.

    x(note)        = E[note] + P[pitch(note)] + L[length(note)]                  (the embedding)
    l_t(note)      = W[note] h_t + b[note]
                     + W_P[pitch(note)] h_t + b_P[pitch(note)]
                     + W_L[length(note)] h_t + b_L[length(note)]                 (the head)

The music task's vocabulary holds every pitch in every length the tunes use, in every key
(core/tasks/music.py); with one row per note, a note the tunes seldom use keeps a row that
training seldom moves. The pitch and length rows are shared by every note with that pitch or
that length, so what the network learns about a D4 quarter note also moves a D4 eighth, and a
rare note starts from its parts. The head is still linear in h_t (its weight per note is the
sum of three rows), so every quantity the recorders differentiate through it keeps its
meaning. Measured on the bundled tunes: README, "Melodies".

`NoteEmbedding.table()` is every note's vector: what the first layer reads, and what the
embedding map projects (a trace records it as `param.encoder.notes`). The notes' own rows keep
the names of the plain layers (`encoder.weight`, `head.weight`, `head.bias`); the parts' are
`encoder.pitch.weight`, `encoder.length.weight`, `head.pitch.*` and `head.length.*`.

Shapes: V symbols, E embedding width, D the head's input width.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from rnnviz.core.note_parts import NoteParts


class NoteEmbedding(nn.Embedding):
    def __init__(self, parts: NoteParts, dim: int) -> None:
        super().__init__(len(parts.midi), dim)
        self.pitch = nn.Embedding(parts.pitch_ids, dim)
        self.length = nn.Embedding(parts.length_ids, dim)
        # the parts of each note: rebuilt from the task, not saved with the weights
        self.register_buffer("pitch_id", parts.pitch_id.clone(), persistent=False)
        self.register_buffer("length_id", parts.length_id.clone(), persistent=False)

    def table(self) -> Tensor:
        """(V, E): every note's vector."""
        return self.weight + self.pitch(self.pitch_id) + self.length(self.length_id)

    def forward(self, ids: Tensor) -> Tensor:
        """(..., E) the vectors of the note ids (...): rows of table(), whose backward is an
        embedding's (three lookups of (..., E) each cost an index_put in the backward pass)."""
        return F.embedding(ids, self.table())


class NoteHead(nn.Linear):
    def __init__(self, parts: NoteParts, width: int) -> None:
        super().__init__(width, len(parts.midi))
        self.pitch = nn.Linear(width, parts.pitch_ids)
        self.length = nn.Linear(width, parts.length_ids)
        self.register_buffer("pitch_id", parts.pitch_id.clone(), persistent=False)
        self.register_buffer("length_id", parts.length_id.clone(), persistent=False)

    def weights(self) -> tuple[Tensor, Tensor]:
        """(V, D) and (V,): each note's row and bias, its own plus its pitch's and length's."""
        p, n = self.pitch, self.length
        weight = self.weight + p.weight[self.pitch_id] + n.weight[self.length_id]
        return weight, self.bias + p.bias[self.pitch_id] + n.bias[self.length_id]

    def forward(self, h: Tensor) -> Tensor:
        """(..., V) the logits of h (..., D): one product with weights() (gathering the
        parts' logits out to (..., V) instead took twice the training step's time)."""
        return F.linear(h, *self.weights())
