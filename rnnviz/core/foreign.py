"""Open a user's own recurrent model: a PyTorch state_dict, a .safetensors file or an rnnviz
checkpoint, checked key by key and shape by shape before anything is built.

What opens: the state_dict of one plain `nn.RNN` (tanh or ReLU), `nn.LSTM` or `nn.GRU`, any
number of layers, bidirectional or not, with or without biases; bare (`weight_ih_l0`, …) or
under one prefix (`lstm.weight_ih_l0`, as in `model.state_dict()` of a module holding only
that layer). Beside it, a token model's embedding (EMBEDDING_KEYS: `embedding.weight`, …,
(V, E), as `nn.Embedding(V, E).state_dict()` names it under its attribute) is the encoder that
turns token ids into the cells' input, E = I; its V rows are the vocabulary's tokens
(core/foreign_tokens.py reads the text and the vocabulary). The architecture follows from the
keys and shapes:

    weight_ih_l{k}[_reverse]  (G*H, I) for k = 0, (G*H, D*H) above
    weight_hh_l{k}[_reverse]  (G*H, H)          G = 1 RNN, 3 GRU (r, z, n), 4 LSTM (i, f, g, o)
    bias_ih_l{k}, bias_hh_l{k} (G*H,)           absent with bias=False

Torch's gate blocks are in the order cells.py uses, so the weights are copied as they are.
The Elman RNN's activation is not in a state_dict: the caller states it (`nonlinearity`,
tanh unless told), and `describe()` says which was assumed.

An rnnviz checkpoint ({"config", "step", "model"}) opens as its recurrent stack (`rnn.*`):
its input is then the cell input, after the checkpoint's encoder.

Loading never runs code from the file: `torch.load(weights_only=True)` (tensors, numbers,
strings and containers only) or the safetensors reader. A pickle that names a function or a
class is refused with a line that names it. Errors are `ForeignModelError`, one line each.

Shapes: G gate blocks, H hidden, I input, L layers, D directions.
"""

from __future__ import annotations

import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnviz.core.cells import CELLS
from rnnviz.core.config import Config, ConfigError
from rnnviz.core.model import RecurrentModel
from rnnviz.core.safetensors import SafetensorsError, read_safetensors

# A recurrent parameter: prefix, name, layer, direction. weight_hr is an LSTM's projection.
_KEY = re.compile(
    r"^(.*?)(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr|weight_ch)_l(\d+)(_reverse)?$"
)
# Cells a plain PyTorch state_dict can hold, by the number of gate blocks G.
_BY_BLOCKS = {1: "rnn", 3: "gru", 4: "lstm"}
SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")
# What a token model's nn.Embedding is called beside its recurrent layer: the usual attribute
# names (`self.embedding = nn.Embedding(V, E)`), and no other, so that a stray key stays an
# error rather than a guess.
EMBEDDING_KEYS = ("embedding.weight", "embed.weight", "embeddings.weight", "emb.weight")


class ForeignModelError(ValueError):
    """A model file rnnviz cannot open; the message is one line for a person."""


@dataclass(frozen=True, eq=False)
class ForeignModel:
    """A recurrent stack read from a user's file: its shape, and its weights under torch's
    names (weight_ih_l0, …), float32 on the CPU."""

    cell: str  # a key of cells.CELLS
    input_size: int  # I
    hidden: int  # H
    layers: int  # L
    bidirectional: bool
    bias: bool
    nonlinearity: str  # the Elman RNN's activation, as stated by the caller
    state: dict[str, Tensor] = field(repr=False)
    origin: str = "PyTorch state_dict"  # "safetensors", "rnnviz checkpoint (sine, step 500)"
    # a token model's embedding (V, E) with E = input_size, and its key in the file; None:
    # the model reads numbers
    embedding: Tensor | None = field(default=None, repr=False)
    embedding_key: str = ""

    @property
    def vocab_size(self) -> int | None:
        """V, the tokens a token model reads; None for a model of numbers."""
        return None if self.embedding is None else self.embedding.shape[0]

    def describe(self) -> str:
        """One line: "LSTM, 2 layers, bidirectional, input 5, hidden 7"."""
        spec = CELLS[self.cell]
        label = spec.label if self.cell != "rnn" else f"RNN ({self.nonlinearity})"
        parts = [label, f"{self.layers} layer{'s' * (self.layers != 1)}"]
        if self.bidirectional:
            parts.append("bidirectional")
        parts += [f"input {self.input_size}", f"hidden {self.hidden}"]
        if not self.bias:
            parts.append("no bias")
        if self.vocab_size is not None:
            parts.append(f"embedding of {self.vocab_size} tokens")
        return ", ".join(parts)

    def config(self, batch: int = 1, seq_len: int = 2) -> Config:
        """The model's settings as rnnviz states them (the task is a placeholder: an opened
        model has none; the identity encoder passes the user's input to the cells, a token
        model's embedding turns its ids into that input)."""
        tokens = self.embedding is not None
        return Config(
            cell=self.cell,
            nonlinearity=self.nonlinearity,
            hidden=self.hidden,
            layers=self.layers,
            bidirectional=self.bidirectional,
            encoder="embedding" if tokens else "identity",
            embed_dim=self.input_size,
            probe_batch=batch,
            seq_len=max(2, seq_len),
        )

    def build(self, config: Config | None = None) -> RecurrentModel:
        """rnnviz's model with these weights and no head (the recorder's output is then the
        top layer's h_t); bias=False becomes zero biases, which compute the same."""
        torch.manual_seed(0)  # the head's throwaway initialisation: same every time
        model = RecurrentModel(config or self.config(), self.vocab_size or self.input_size, 1)
        model.head = nn.Identity()
        if self.embedding is not None:
            model.encoder.weight.data.copy_(self.embedding)
        state = {n: torch.zeros_like(p) for n, p in model.rnn.named_parameters()}
        state.update(self.state)
        model.rnn.load_state_dict(state)
        return model.eval()


def load_model(path: str | Path, nonlinearity: str = "tanh") -> ForeignModel:
    """Read `path` (.pt/.pth/.bin/.ckpt through torch.load(weights_only=True), .safetensors)
    and check it; ForeignModelError says what does not fit."""
    path = Path(path)
    if nonlinearity not in CELLS["rnn"].nonlinearities:
        raise ForeignModelError(f"nonlinearity must be tanh or relu, got {nonlinearity!r}")
    if not path.is_file():
        raise ForeignModelError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        try:
            arrays = read_safetensors(path)
        except (SafetensorsError, OSError) as e:
            raise ForeignModelError(f"{path.name}: not a readable safetensors file: {e}") from None
        state = {k: torch.from_numpy(a.copy()) for k, a in arrays.items()}
        return from_state_dict(state, nonlinearity, "safetensors")
    obj = _torch_load(path)
    if isinstance(obj, dict) and {"config", "model"} <= set(obj):
        return _from_checkpoint(obj)
    if not isinstance(obj, dict) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise ForeignModelError(f"{path.name}: {_not_a_state_dict(obj)}")
    return from_state_dict(obj, nonlinearity)


def _torch_load(path: Path) -> Any:
    with open(path, "rb") as f:
        magic = f.read(4)
    # torch.save writes a zip archive (older torch: a pickle, which begins with PROTO, 0x80)
    if magic != b"PK\x03\x04" and magic[:1] != b"\x80":
        what = " (it is a numpy .npy file)" if magic == b"\x93NUM" else ""
        raise ForeignModelError(
            f"{path.name}: not a PyTorch file: neither the zip archive torch.save writes nor a "
            f"pickle{what}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols: not the user's
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ForeignModelError(f"{path.name}: {_refusal(str(e))}") from None
    except Exception as e:  # torch reports a corrupt archive as RuntimeError, EOFError, …
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ForeignModelError(
            f"{path.name}: not a PyTorch file torch.load can read ({first})"
        ) from None


def _refusal(message: str) -> str:
    """Why weights_only refused the pickle, in one line (torch's message is a page)."""
    found = re.search(r"GLOBAL ([\w.]+)", message)
    name = found.group(1) if found else None
    if name and name.startswith("torch.nn.modules."):
        return (
            f"a whole pickled module ({name}), which only running code from the file could "
            "rebuild: refused; save its weights instead: torch.save(model.state_dict(), path)"
        )
    if name:
        return f"the pickle calls {name}: loading it would run code from the file; refused"
    detail = re.search(r"Unsupported (operand \d+|[^\n.]+)", message)
    why = f" (unsupported {detail.group(1)})" if detail and "operand" in detail.group(1) else ""
    return f"a pickle that holds more than tensors{why}: refused, nothing from it was run"


def _not_a_state_dict(obj: Any) -> str:
    if not isinstance(obj, dict):
        return f"holds a {type(obj).__name__}, not a state_dict (a dict of tensors)"
    odd = next(k for k, v in obj.items() if not isinstance(v, Tensor))
    return (
        f"not a state_dict: {odd!r} is a {type(obj[odd]).__name__}, not a tensor "
        "(save model.state_dict() alone)"
    )


def from_state_dict(
    state: dict[str, Tensor], nonlinearity: str = "tanh", origin: str = "PyTorch state_dict"
) -> ForeignModel:
    """Infer and check the architecture of a plain nn.RNN/LSTM/GRU state_dict (with a token
    model's embedding beside it)."""
    state, embedding = _without_embedding(state)
    groups: dict[str, list[str]] = {}
    for key in state:
        m = _KEY.match(key)
        if m:
            groups.setdefault(m.group(1), []).append(key)
    if not groups:
        raise ForeignModelError(
            f"no recurrent weights (weight_ih_l0, weight_hh_l0, …) among {_names(state)}"
        )
    if len(groups) > 1:
        found = ", ".join(repr(p.rstrip(".")) if p else "(no prefix)" for p in sorted(groups))
        raise ForeignModelError(f"more than one recurrent module: {found}; save one's state_dict")
    (prefix,) = groups
    # A key of another module (fc.weight) is a module too many; a stray name is an extra key.
    others = [
        k
        for k in state
        if not _KEY.match(k) and (not k.startswith(prefix) or "." in k[len(prefix) :])
    ]
    if others:
        modules = sorted({k.rsplit(".", 1)[0] for k in others})
        raise ForeignModelError(
            f"other modules in the file besides the recurrent layer: {', '.join(modules)} "
            f"({_names(others)}); save only the RNN's state_dict"
        )
    state = {k[len(prefix) :]: v for k, v in state.items()}
    if any(k.startswith("weight_hr") for k in state):
        shape = tuple(state[next(k for k in state if k.startswith("weight_hr"))].shape)
        raise ForeignModelError(
            f"an LSTM with proj_size={shape[0]} (weight_hr_l0 {shape}): projections are not "
            "supported"
        )
    if "weight_hh_l0" not in state or "weight_ih_l0" not in state:
        missing = [k for k in ("weight_ih_l0", "weight_hh_l0") if k not in state]
        raise ForeignModelError(f"missing keys: {', '.join(prefix + k for k in missing)}")
    rows, H = state["weight_hh_l0"].shape if state["weight_hh_l0"].dim() == 2 else (0, 0)
    G = rows // H if H and rows % H == 0 else 0
    if G not in _BY_BLOCKS:
        raise ForeignModelError(
            f"{prefix}weight_hh_l0 has shape {tuple(state['weight_hh_l0'].shape)}: not (G*H, H) "
            "with G = 1 (RNN), 3 (GRU) or 4 (LSTM)"
        )
    cell = _BY_BLOCKS[G]
    I = state["weight_ih_l0"].shape[-1]
    emb_key, emb = embedding or ("", None)
    if emb is not None:
        emb = _checked_embedding(emb_key, emb, state["weight_ih_l0"], prefix)
    found = [m for m in map(_KEY.match, state) if m]
    bidirectional = any(m.group(4) for m in found)
    bias = any(m.group(2).startswith("bias") for m in found)
    layers = 1 + max(int(m.group(3)) for m in found)
    return ForeignModel(
        cell=cell,
        input_size=I,
        hidden=H,
        layers=layers,
        bidirectional=bidirectional,
        bias=bias,
        nonlinearity=nonlinearity,
        state=_checked(state, expected_shapes(cell, I, H, layers, bidirectional, bias), prefix),
        origin=origin,
        embedding=emb,
        embedding_key=emb_key,
    )


def _without_embedding(
    state: dict[str, Tensor],
) -> tuple[dict[str, Tensor], tuple[str, Tensor] | None]:
    """The state without a token model's embedding, and the embedding (key, weight) if any."""
    found = [k for k in EMBEDDING_KEYS if k in state]
    if len(found) > 1:
        raise ForeignModelError(f"more than one embedding: {', '.join(found)}; keep one")
    if not found:
        return state, None
    key = found[0]
    return {k: v for k, v in state.items() if k != key}, (key, state[key])


def _checked_embedding(key: str, emb: Tensor, weight_ih: Tensor, prefix: str) -> Tensor:
    """The embedding as float32, once it is (V, E) with E the recurrent layer's input width."""
    if emb.dim() != 2 or emb.shape[0] == 0:
        raise ForeignModelError(f"{key} has shape {tuple(emb.shape)}: not (V, E), a row a token")
    if emb.shape[1] != weight_ih.shape[-1]:
        raise ForeignModelError(
            f"{key} has shape {tuple(emb.shape)}: its {emb.shape[1]} columns must be the "
            f"recurrent layer's input width, {weight_ih.shape[-1]} ({prefix}weight_ih_l0 "
            f"{tuple(weight_ih.shape)})"
        )
    if not emb.is_floating_point():
        raise ForeignModelError(f"{key} holds {emb.dtype}, not floating point")
    return emb.detach().to(torch.float32).contiguous()


def expected_shapes(
    cell: str, input_size: int, hidden: int, layers: int, bidirectional: bool, bias: bool
) -> dict[str, tuple[int, ...]]:
    """Every parameter a stack of `cell` has, with its shape, under torch's names."""
    spec = CELLS[cell]
    G, H, D = len(spec.blocks), hidden, 2 if bidirectional else 1
    out: dict[str, tuple[int, ...]] = {}
    for k in range(layers):
        for s in ("", "_reverse")[:D]:
            out[f"weight_ih_l{k}{s}"] = (G * H, input_size if k == 0 else D * H)
            out[f"weight_hh_l{k}{s}"] = (G * H, H)
            if bias:
                out[f"bias_ih_l{k}{s}"] = (G * H,)
                out[f"bias_hh_l{k}{s}"] = (G * H,)
            if spec.peephole:
                out[f"weight_ch_l{k}{s}"] = (3 * H,)
    return out


def _checked(
    state: dict[str, Tensor], shapes: dict[str, tuple[int, ...]], prefix: str
) -> dict[str, Tensor]:
    """The state as float32, once every expected key is there with its shape and no other."""
    missing = [prefix + k for k in shapes if k not in state]
    if missing:
        raise ForeignModelError(f"missing keys: {_names(missing)}")
    extra = [prefix + k for k in state if k not in shapes]
    if extra:
        raise ForeignModelError(f"extra keys: {_names(extra)}")
    for k, shape in shapes.items():
        if tuple(state[k].shape) != shape:
            raise ForeignModelError(
                f"{prefix}{k} has shape {tuple(state[k].shape)}, expected {shape} "
                "from weight_ih_l0 and weight_hh_l0"
            )
        if not state[k].is_floating_point():
            raise ForeignModelError(f"{prefix}{k} holds {state[k].dtype}, not floating point")
    return {k: state[k].detach().to(torch.float32).contiguous() for k in shapes}


def _from_checkpoint(ck: dict) -> ForeignModel:
    """An rnnviz checkpoint's recurrent stack."""
    try:
        config = Config.from_dict(ck["config"])
    except (ConfigError, TypeError) as e:
        raise ForeignModelError(f"an rnnviz checkpoint with unusable settings: {e}") from None
    kind = config.model_kind
    if kind != "stack":  # a baseline or an encoder-decoder: no single recurrent stack
        raise ForeignModelError(
            f"an rnnviz checkpoint of a {kind} model ({config.cell} on {config.task}): only "
            "a single recurrent stack opens"
        )
    weights = ck["model"]
    if not isinstance(weights, dict):
        raise ForeignModelError("an rnnviz checkpoint without weights")
    state = {k[4:]: v for k, v in weights.items() if k.startswith("rnn.")}
    if "weight_ih_l0" not in state:
        raise ForeignModelError("an rnnviz checkpoint without rnn.weight_ih_l0")
    I = state["weight_ih_l0"].shape[-1]
    shapes = expected_shapes(
        config.cell, I, config.hidden, config.layers, config.bidirectional, True
    )
    return ForeignModel(
        cell=config.cell,
        input_size=I,
        hidden=config.hidden,
        layers=config.layers,
        bidirectional=config.bidirectional,
        bias=True,
        nonlinearity=config.nonlinearity,
        state=_checked(state, shapes, "rnn."),
        origin=f"rnnviz checkpoint ({config.task}, step {ck.get('step', '?')})",
    )


def _names(keys, most: int = 6) -> str:
    """Up to `most` key names, then how many more."""
    keys = list(keys)
    shown = ", ".join(keys[:most])
    return shown + (f" and {len(keys) - most} more" if len(keys) > most else "")
