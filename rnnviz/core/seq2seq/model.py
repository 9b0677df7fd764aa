r"""The encoder-decoder model (Sutskever et al. 2014; with attention, Luong et al. 2015).

.. math::
    h_j = \mathrm{Encoder}(x_j, h_{j-1})                       j = 1 … n   (any cell, L layers,
                                                                            D directions)
    s_0 = [\overrightarrow{h}_n; \overleftarrow{h}_1]            per layer   (the bridge)
    s_t = \mathrm{Decoder}(E y_{t-1}, s_{t-1})                   t = 1 … T   (y_0 = <bos>)
    c_t, \alpha_t = \mathrm{Attention}(s_t, h_{1..n})                        (attention.py)
    \hat{y}_t = W_o [s_t; c_t] + b_o       (\hat{y}_t = W_o s_t + b_o without attention)

where E embeds the previous output token: the target's under teacher forcing (training, the
trace), the model's own at inference (decoding.py). The decoder has L layers of D·H units, so
that its start state is the encoder's final state, both directions side by side, and its
state s_t and the encoder's h_j have one width (dot attention needs it). An LSTM decoder
after an encoder without a cell state starts from c_0 = 0; an LSTM encoder's c is dropped
before a decoder without one.

Token ids: the encoder reads symbol ids with <pad> = 0 (masked out of attention); the decoder
predicts O classes, the last of which is <eos>, and reads id O as <bos>.

Parameters: `rnn` is the encoder stack, named as the single stack's (its trace keys are
today's); `dec_rnn` the decoder stack; `embed` and `dec_embed` the two embeddings;
`attention` (None for none) and the read-out `head`.

Shapes: B batch, N encoder steps, T decoder steps, H hidden per direction, D directions,
E embedding, O output classes.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnviz.core.cells import CELLS
from rnnviz.core.config import Config
from rnnviz.core.model import initialise, recurrent_stack
from rnnviz.core.seq2seq.attention import attend, build_attention
from rnnviz.core.seq2seq.decoding import beam_search

PAD = 0  # the encoder's padding id


class Seq2SeqModel(nn.Module):
    """Encoder stack -> bridge -> decoder stack -> attention -> read-out (module docstring)."""

    def __init__(self, config: Config, input_size: int, output_size: int) -> None:
        super().__init__()
        self.config = config
        D = 2 if config.bidirectional else 1
        self.encoder_kind = config.resolved_encoder
        self.vocab_size, self.output_size = input_size, output_size
        if self.encoder_kind == "embedding":
            self.embed = nn.Embedding(input_size, config.embed_dim)
            cell_in = config.embed_dim
        else:  # one-hot: no parameters
            self.embed = None
            cell_in = input_size
        self.cell_input_size = cell_in
        self.rnn = recurrent_stack(config, cell_in)
        # The decoder: one direction of D·H units, of its own cell (default: the encoder's).
        self.dec_config = dataclasses.replace(
            config,
            cell=config.decoder_cell or config.cell,
            hidden=D * config.hidden,
            bidirectional=False,
        )
        self.dec_embed = nn.Embedding(output_size + 1, config.embed_dim)  # + <bos>
        self.dec_rnn = recurrent_stack(self.dec_config, config.embed_dim)
        width = D * config.hidden
        self.attention = build_attention(config.attention, width, width)
        self.head = nn.Linear(width * (1 if self.attention is None else 2), output_size)
        initialise(self.rnn, config)
        initialise(self.dec_rnn, self.dec_config)

    @property
    def directions(self) -> int:
        return 2 if self.config.bidirectional else 1

    @property
    def bos(self) -> int:
        return self.output_size

    @property
    def eos(self) -> int:
        return self.output_size - 1

    # -- the encoder

    def encode(self, x_raw: Tensor) -> Tensor:
        """Input ids -> the encoder's layer-0 input: (B, N) -> (B, N, I)."""
        if self.embed is None:
            return F.one_hot(x_raw, self.vocab_size).float()
        return self.embed(x_raw)

    def bridge(self, h_n: Tensor, c_n: Tensor | None):
        """The encoder's final states (L·D, B, H) -> the decoder's start state: per layer the
        directions side by side, (L, B, D·H); a tuple (h, c) for a decoder with a cell state."""
        LD, B, H = h_n.shape
        D = self.directions

        def join(a: Tensor) -> Tensor:
            return a.view(LD // D, D, B, H).permute(0, 2, 1, 3).reshape(LD // D, B, D * H)

        h0 = join(h_n)
        if not CELLS[self.dec_config.cell].cell_state:
            return h0
        return h0, (join(c_n) if c_n is not None else torch.zeros_like(h0))

    def start(self, x_raw: Tensor) -> tuple[Tensor, object, Tensor]:
        """Run the encoder: (encoder states (B, N, D·H), decoder start state, source mask
        (B, N) True where the input is real)."""
        out, hn = self.rnn(self.encode(x_raw))  # (B, N, D*H)
        h_n, c_n = hn if isinstance(hn, tuple) else (hn, None)
        return out, self.bridge(h_n, c_n), x_raw != PAD

    # -- the decoder

    def decoder_inputs(self, y: Tensor) -> Tensor:
        """Teacher forcing: the targets shifted right behind <bos>. (B, T) -> (B, T)."""
        return torch.cat([torch.full_like(y[:, :1], self.bos), y[:, :-1]], 1)

    def readout(self, s: Tensor, h: Tensor, src_mask: Tensor, alpha: Tensor | None = None):
        """Decoder states s (B, T, D·H) and encoder states h (B, N, D·H) -> logits (B, T, O),
        context (B, T, D·H) and attention (B, T, N); both None without attention. A given
        `alpha` (B, T, N) replaces the attention's own weights (a pinned row: seq2seq/steps.py)."""
        if self.attention is None:
            return self.head(s), None, None
        if alpha is None:
            context, alpha = attend(self.attention.scores(s, h), h, src_mask)
        else:
            context = alpha @ h
        return self.head(torch.cat([s, context], -1)), context, alpha

    def forward(self, x_raw: Tensor, y: Tensor) -> Tensor:
        """Teacher forcing: x_raw (B, N) input ids, y (B, T) targets -> logits (B, T, O)."""
        h, state, src_mask = self.start(x_raw)
        s, _ = self.dec_rnn(self.dec_embed(self.decoder_inputs(y)), state)  # (B, T, D*H)
        return self.readout(s, h, src_mask)[0]

    def step(self, tokens: Tensor, state, h: Tensor, src_mask: Tensor, alpha: Tensor | None = None):
        """One decoder step from the previous tokens (B,): (logits (B, O), new state,
        attention (B, N) or None). A given `alpha` (B, N) is used as this step's attention."""
        s, state = self.dec_rnn(self.dec_embed(tokens)[:, None], state)  # (B, 1, D*H)
        forced = None if alpha is None else alpha[:, None]  # (B, 1, N)
        logits, _, alpha = self.readout(s, h, src_mask, forced)
        return logits[:, 0], state, (alpha[:, 0] if alpha is not None else None)

    @torch.no_grad()
    def decode(self, x_raw: Tensor, steps: int, beam: int | None = None) -> Tensor:
        """Output ids (B, steps) without the targets: greedy for beam 1, else beam search of
        that width (default: config.beam)."""
        return beam_search(self, x_raw, steps, beam or self.config.beam)
