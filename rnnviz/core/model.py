"""The model: input encoder -> stacked (optionally bidirectional) recurrent layers -> output head.

For the cells PyTorch ships (Elman RNN, LSTM, GRU) the recurrent stack *is* a
`torch.nn.RNN/LSTM/GRU`, so training runs on the fused kernels at full speed and the weights
move both ways with `load_state_dict`. The peephole LSTM and the simplified GRU have no fused
kernel; `ExplicitRecurrent` runs them with the step functions of `cells.py` and lays its
parameters out with the same names (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k},
bias_hh_l{k}, `_reverse` suffix; plus weight_ch_l{k} for the peepholes).

`run_explicit` is the textbook per-timestep loop over any of the five cells. It is the
reference the fast recorder is tested against, and it can add a perturbation to every h_t and
c_t so that autograd reports the total gradient dL/dh_t.

Shapes: B batch, T time, I cell input, H hidden, D directions (1 or 2), O outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnviz.core.cells import CELLS, CellParams, step
from rnnviz.core.config import Config
from rnnviz.core.lookback import lookback_ids, lookback_size
from rnnviz.core.melody_cache import CACHE_SCORES, MelodyCache, melody_cache, with_cache
from rnnviz.core.note_layers import NoteEmbedding, NoteHead
from rnnviz.core.note_parts import NoteParts
from rnnviz.core.tasks import TASKS
from rnnviz.core.tasks.vocab import PAD_ID, sentence_lengths


def fused_class(cell: str) -> type[nn.RNNBase] | None:
    """The torch.nn class that runs `cell` fused, or None for a cell torch lacks."""
    fused = CELLS[cell].fused
    return getattr(nn, fused) if fused else None


class ExplicitRecurrent(nn.Module):
    """A stack of layers of a cell torch does not fuse (the peephole LSTM, the simplified GRU),
    API-compatible with nn.LSTM/nn.GRU."""

    def __init__(
        self, cell: str, input_size: int, hidden_size: int, num_layers: int, bidirectional: bool
    ) -> None:
        super().__init__()
        self.cell, self.nonlinearity = cell, "tanh"
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bidirectional = num_layers, bidirectional
        spec = CELLS[cell]
        G, H, D = len(spec.blocks), hidden_size, 2 if bidirectional else 1
        bound = 1.0 / math.sqrt(H)  # torch's default: U(-1/sqrt(H), 1/sqrt(H)) for every weight
        for k in range(num_layers):
            in_k = input_size if k == 0 else H * D
            for s in ("", "_reverse")[:D]:
                shapes = {
                    "weight_ih": (G * H, in_k),
                    "weight_hh": (G * H, H),
                    "bias_ih": (G * H,),
                    "bias_hh": (G * H,),
                }
                if spec.peephole:
                    shapes["weight_ch"] = (3 * H,)
                for name, shape in shapes.items():
                    w = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
                    self.register_parameter(f"{name}_l{k}{s}", w)

    def forward(self, x: Tensor | PackedSequence, hx=None):
        if not isinstance(x, PackedSequence):
            out, h_n, c_n = run_explicit(self, x, hx=hx)
            return out, ((h_n, c_n) if c_n is not None else h_n)
        x, n = pad_packed_sequence(x, batch_first=True)  # in the batch's own order
        out, h_n, c_n = run_explicit(self, x, hx=hx, lengths=n)
        out = pack_padded_sequence(out, n, batch_first=True, enforce_sorted=False)
        return out, ((h_n, c_n) if c_n is not None else h_n)


def recurrent_stack(config: Config, input_size: int) -> nn.Module:
    """config.layers layers of config.cell (config.hidden units per direction) reading
    `input_size` features, batch first: torch's fused module where torch has the cell, else an
    ExplicitRecurrent. Not yet initialised (`initialise`)."""
    fused = fused_class(config.cell)
    if fused is None:
        return ExplicitRecurrent(
            config.cell, input_size, config.hidden, config.layers, config.bidirectional
        )
    chosen = CELLS[config.cell].nonlinearities
    kwargs = {"nonlinearity": config.nonlinearity} if chosen else {}
    return fused(
        input_size,
        config.hidden,
        num_layers=config.layers,
        batch_first=True,
        bidirectional=config.bidirectional,
        **kwargs,
    )


class Past(NamedTuple):
    """What a model that reads its past (the music task's) reads from the melody's earlier
    notes for each step: the lookback ids (..., T) its encoder embeds (core/lookback.py), and
    the melody cache (..., T, W) its output mixes in (core/melody_cache.py)."""

    lookback: Tensor
    cache: MelodyCache

    def select(self, index) -> Past:
        """The same for `index` of the leading dimensions (a sequence, some of its steps)."""
        return Past(self.lookback[index], self.cache.select(index))


class InputReader(nn.Module):
    """What every model kind that reads a task's raw input shares: the encoder config names.

    A task whose TaskSpec is `padded` right-pads its sentences with <pad> (id 0): the learned
    embedding keeps <pad> at the zero vector (padding_idx: it gets no gradient), and
    `lengths` says how many steps of each sequence are data. A melody model gets its notes'
    `parts` (their pitches and lengths: core/note_parts.py), which its embedding and head
    share among notes (core/note_layers.py); the lookback encoder needs them.
    """

    def __init__(self, config: Config, input_size: int, parts: NoteParts | None = None) -> None:
        super().__init__()
        self.config = config
        self.padded = TASKS[config.task].padded
        self.encoder_kind = config.resolved_encoder
        self.parts = parts
        if self.encoder_kind in ("embedding", "lookback"):
            if parts is not None:  # a melody's notes: their own rows and their parts'
                self.encoder = NoteEmbedding(parts, config.embed_dim)
            else:
                pad = PAD_ID if self.padded else None
                self.encoder = nn.Embedding(input_size, config.embed_dim, padding_idx=pad)
            cell_in = config.embed_dim
            if self.encoder_kind == "lookback":  # core/lookback.py: a table of its own
                if parts is None:
                    raise ValueError("a melody model needs its notes' parts (task.note_parts)")
                self.lookback = nn.Embedding(lookback_size(input_size), config.embed_dim)
        elif self.encoder_kind == "linear":
            self.encoder = nn.Linear(input_size, config.embed_dim)
            cell_in = config.embed_dim
        else:  # one-hot and identity have no parameters
            self.encoder = None
            cell_in = input_size
        self.vocab_size = input_size
        self.cell_input_size = cell_in

    @property
    def reads_past(self) -> bool:
        """Whether x_t depends on the symbols before t (the lookback encoder): a caller that
        feeds a sequence piece by piece (generation) passes what came before as `before`."""
        return self.encoder_kind == "lookback"

    def past_of(self, x_raw: Tensor, before: Tensor | None = None) -> Past | None:
        """What a model that reads_past reads from the melody's earlier notes for x_raw (B, T)
        (its lookback ids, its melody cache), else None. `before` (B, P): the ids x_raw
        continues (generation feeds a melody piecewise)."""
        if not self.reads_past:
            return None
        whole = x_raw if before is None else torch.cat([before, x_raw], dim=1)
        T = x_raw.shape[1]
        back = torch.from_numpy(lookback_ids(whole.cpu().numpy(), self.vocab_size)[:, -T:])
        return Past(back.to(x_raw.device), melody_cache(whole, T, self.parts))

    def encode(
        self, x_raw: Tensor, before: Tensor | None = None, past: Past | None = None
    ) -> Tensor:
        """Raw task input -> layer-0 cell input x_t. (B, T) ids or (B, T, I_raw) -> (B, T, I).
        The lookback encoder's x_t is the note's embedding plus its lookback symbol's
        (core/lookback.py), from `past` if the caller has it, else past_of(x_raw, before)."""
        if self.encoder_kind == "onehot":
            return F.one_hot(x_raw, self.vocab_size).float()
        if self.encoder is None:
            return x_raw
        if self.encoder_kind == "lookback":
            past = self.past_of(x_raw, before) if past is None else past
            return self.encoder(x_raw) + self.lookback(past.lookback)
        return self.encoder(x_raw)

    def lengths(self, x_raw: Tensor) -> Tensor | None:
        """(B,) steps of data per sequence for a padded task, else None (all T are data)."""
        return sentence_lengths(x_raw) if self.padded else None

    def forward(self, x_raw: Tensor, hx=None) -> Tensor:
        y_hat, _ = self.forward_with_state(x_raw, hx)
        return y_hat  # (B, T, O)


class RecurrentModel(InputReader):
    """encoder -> recurrent stack (`self.rnn`) -> output at every timestep (`output`): a linear
    head, and for a model that reads its past the melody cache's scores (`self.cache`)."""

    def __init__(
        self, config: Config, input_size: int, output_size: int, parts: NoteParts | None = None
    ) -> None:
        super().__init__(config, input_size, parts)
        self.rnn = recurrent_stack(config, self.cell_input_size)
        width = config.hidden * self.directions
        # a melody model's head adds each note's pitch's and length's rows (core/note_layers.py)
        self.head = nn.Linear(width, output_size) if parts is None else NoteHead(parts, width)
        if self.reads_past:  # a score per kind and length of match: core/melody_cache.py
            self.cache = nn.Linear(width, CACHE_SCORES)
        initialise(self.rnn, config)

    @property
    def directions(self) -> int:
        return 2 if self.config.bidirectional else 1

    def output(self, out: Tensor, past: Past | None = None) -> Tensor:
        """y_hat (..., O) of the top layer's output out (..., D*H): the head, and for a model
        that reads its past, mixed with the votes of the melody's earlier steps (`past`, from
        past_of: core/melody_cache.py). The one place the outputs are formed: training,
        generation and every recorder call it."""
        y_hat = self.head(out)
        if not self.reads_past:
            return y_hat
        if past is None:
            raise ValueError("a model that reads its past needs what it read for its output")
        return with_cache(y_hat, self.cache(out), past.cache)

    def forward_with_state(self, x_raw: Tensor, hx=None, before: Tensor | None = None):
        """(y_hat (B, T, O), h_n) of x_raw from the state hx; `before`: see past_of."""
        past = self.past_of(x_raw, before)
        x = self.encode(x_raw, before, past)  # (B, T, I)
        n = self.lengths(x_raw)
        if n is None:
            out, hn = self.rnn(x, hx)  # (B, T, D*H)
            return self.output(out, past), hn
        # Packed: each direction reads only the data steps (the reverse one starts at the
        # last word), and h_n is the state after each sequence's last word.
        packed = pack_padded_sequence(x, n.cpu(), batch_first=True, enforce_sorted=False)
        out, hn = self.rnn(packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])  # 0 at pads
        return self.output(out, past), hn

    def cell_params(self, k: int, reverse: bool = False) -> CellParams:
        return cell_params(self.rnn, k, reverse)


def _seq2seq(config: Config, input_size: int, output_size: int) -> nn.Module:
    from rnnviz.core.seq2seq.model import Seq2SeqModel  # it builds on this module

    return Seq2SeqModel(config, input_size, output_size)


def _bag_of_words(config: Config, input_size: int, output_size: int) -> nn.Module:
    from rnnviz.core.bow import BagOfWordsModel  # it builds on this module

    return BagOfWordsModel(config, input_size, output_size)


# Model kinds by name (TaskSpec.model), each a builder (config, input size, output size) ->
# model: the single stack above and the encoder-decoder with attention (core/seq2seq/).
MODEL_KINDS: dict[str, Callable[[Config, int, int], nn.Module]] = {
    "stack": RecurrentModel,
    "seq2seq": _seq2seq,
    "bow": _bag_of_words,
}


def build_model(
    config: Config,
    input_size: int,
    output_size: int,
    kind: str | None = None,
    parts: NoteParts | None = None,
) -> nn.Module:
    """A fresh model of `kind` (default: config.model_kind, the task's or a baseline's) for a
    task with these input and output sizes; a melody model (the single stack with the
    lookback encoder) also takes its notes' `parts` (task.note_parts)."""
    kind = kind or config.model_kind
    if kind == "stack":
        return RecurrentModel(config, input_size, output_size, parts)
    return MODEL_KINDS[kind](config, input_size, output_size)


def cell_params(rnn: nn.Module, k: int, reverse: bool = False) -> CellParams:
    s = f"_l{k}{'_reverse' if reverse else ''}"
    return CellParams(
        weight_ih=getattr(rnn, "weight_ih" + s),
        weight_hh=getattr(rnn, "weight_hh" + s),
        bias_ih=getattr(rnn, "bias_ih" + s),
        bias_hh=getattr(rnn, "bias_hh" + s),
        weight_ch=getattr(rnn, "weight_ch" + s, None),
    )


def cell_name(rnn: nn.Module) -> str:
    if isinstance(rnn, ExplicitRecurrent):
        return rnn.cell
    return next(name for name, spec in CELLS.items() if spec.fused == type(rnn).__name__)


def run_explicit(rnn: nn.Module, x: Tensor, hx=None, perturb=None, record=None, lengths=None):
    """The per-timestep loop: every layer, direction and step through `cells.step`.

    rnn: an nn.RNN/LSTM/GRU or ExplicitRecurrent (only its parameters and shape are used).
    x (B, T, I). hx: None or torch's (L*D, B, H) initial state (a tuple (h, c) for LSTMs).
    perturb: {(k, reverse): (p_h, p_c or None)} tensors (B, T, H) added to h_t (and c_t) as
        they leave step t; with zero perturbations requiring grad, autograd's gradient with
        respect to them is the total BPTT gradient dL/dh_t (dL/dc_t).
    record: a dict to fill with {(k, reverse): {"h": [...], "c": [...], gate: [...]}} lists.
    lengths: None, or (B,) steps of data per right-padded sequence: at a padded step the state
        passes through unchanged and the output is 0, as torch does for a packed sequence.
    Returns out (B, T, D*H), h_n (L*D, B, H), c_n (L*D, B, H) or None.
    """
    cell = cell_name(rnn)
    nonlin = getattr(rnn, "nonlinearity", "tanh")
    has_c = CELLS[cell].cell_state
    B, T, _ = x.shape
    H, L = rnn.hidden_size, rnn.num_layers
    D = 2 if rnn.bidirectional else 1
    if hx is not None:
        h0, c0 = hx if has_c else (hx, None)
    h_n, c_n = [], []
    layer_in = x
    for k in range(L):
        outs = []
        for d in range(D):
            rev = d == 1
            p = cell_params(rnn, k, rev)
            idx = k * D + d
            h = h0[idx] if hx is not None else x.new_zeros(B, H)
            c = (c0[idx] if hx is not None else x.new_zeros(B, H)) if has_c else None
            pert = perturb.get((k, rev)) if perturb else None
            rec = record.setdefault((k, rev), {}) if record is not None else None
            hs = [None] * T
            for t in reversed(range(T)) if rev else range(T):
                state, aux = step(cell, nonlin, layer_in[:, t], (h, c) if has_c else h, p)
                h_new, c_new = state if has_c else (state, None)
                if pert is not None:
                    h_new = h_new + pert[0][:, t]
                    if has_c:
                        c_new = c_new + pert[1][:, t]
                if lengths is None:
                    h, c = h_new, c_new
                    hs[t] = h
                else:
                    data = (t < lengths.to(x.device))[:, None]  # (B, 1)
                    h = torch.where(data, h_new, h)
                    c = torch.where(data, c_new, c) if has_c else None
                    hs[t] = h * data
                if rec is not None:
                    for name, v in {"h": h, "c": c, **aux}.items():
                        if v is not None:
                            rec.setdefault(name, [None] * T)[t] = v
            outs.append(torch.stack(hs, dim=1))  # (B, T, H)
            h_n.append(h)
            c_n.append(c)
        layer_in = torch.cat(outs, dim=-1)  # (B, T, D*H)
    return layer_in, torch.stack(h_n), (torch.stack(c_n) if has_c else None)


@torch.no_grad()
def initialise(rnn: nn.Module, config: Config) -> None:
    """Apply the chosen initialisation, spectral-radius scaling and LSTM forget-gate bias.

    default     torch's U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias
    orthogonal  each W_hh gate block orthogonal, W_ih Xavier-uniform, biases 0
    xavier      Xavier-uniform W_ih and W_hh (per gate block), biases 0
    identity    IRNN (Le, Jaitly & Hinton 2015): each W_hh gate block = I, biases 0
    Then, if spectral_radius is set, every W_hh gate block is rescaled to that spectral radius;
    then, for cells with a forget gate, its bias (b_ih + b_hh) is set to forget_bias if given.
    """
    names = CELLS[config.cell].blocks
    G, H = len(names), config.hidden
    for name, w in rnn.named_parameters():
        if config.init != "default" and name.startswith("bias"):
            w.zero_()
        blocks = (
            w.view(G, H, -1)
            if name.startswith("weight_hh") or name.startswith("weight_ih")
            else None
        )
        if blocks is None:
            continue
        for blk in blocks:
            if name.startswith("weight_hh") and config.init == "orthogonal":
                nn.init.orthogonal_(blk)
            elif name.startswith("weight_hh") and config.init == "identity":
                blk.copy_(torch.eye(H))
            elif config.init in ("xavier", "orthogonal"):
                nn.init.xavier_uniform_(blk)
            if name.startswith("weight_hh") and config.spectral_radius is not None:
                rho = torch.linalg.eigvals(blk.double()).abs().max().item()
                if rho > 0:
                    blk.mul_(config.spectral_radius / rho)
    if "f" in names and config.forget_bias is not None:
        f = slice(names.index("f") * H, (names.index("f") + 1) * H)
        for name, b in rnn.named_parameters():
            if name.startswith("bias_ih"):
                b[f] = config.forget_bias
            elif name.startswith("bias_hh"):
                b[f] = 0.0
