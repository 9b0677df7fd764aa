"""Opening a user's own model: state_dicts written by plain PyTorch open, and what rnnviz records
from them equals what nn.LSTM/GRU/RNN compute; every file that does not fit is one line."""

import json
import struct

import numpy as np
import pytest
import torch
from torch import nn

from rnnviz.core.config import Config
from rnnviz.core.foreign import ForeignModelError, from_state_dict, load_model
from rnnviz.core.foreign_trace import read_input, record_foreign
from rnnviz.core.train import Trainer

B, T, I, H = 3, 9, 5, 7


def x_input() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((B, T, I)).astype(np.float32)


def torch_layers(module: nn.RNNBase, x: torch.Tensor) -> dict:
    """Torch's own h_t, c_t and gates of every layer and direction, step by step: each layer
    and direction as a one-layer torch module fed one timestep at a time (the only way to see
    c_t of every t), its gates by torch's documented equations from that module's weights."""
    kind = type(module).__name__
    D = 2 if module.bidirectional else 1
    sd = module.state_dict()
    out, layer_in = {}, x
    for k in range(module.num_layers):
        for d, s in enumerate(("", "_reverse")[:D]):
            kwargs = {"nonlinearity": module.nonlinearity} if kind == "RNN" else {}
            one = type(module)(
                layer_in.shape[-1], H, 1, bias=module.bias, batch_first=True, **kwargs
            )
            one.load_state_dict(
                {n.replace(f"_l{k}{s}", "_l0"): v for n, v in sd.items() if n.endswith(f"_l{k}{s}")}
            )
            w_ih, w_hh = one.weight_ih_l0, one.weight_hh_l0
            b_ih = one.bias_ih_l0 if module.bias else 0
            b_hh = one.bias_hh_l0 if module.bias else 0
            h = torch.zeros(1, B, H)
            c = torch.zeros(1, B, H)
            rec = {n: [None] * T for n in ("h", "c", "i", "f", "g", "o", "r", "z", "n")}
            for t in reversed(range(T)) if d else range(T):
                xt = layer_in[:, t]
                gi, gh = xt @ w_ih.T + b_ih, h[0] @ w_hh.T + b_hh
                if kind == "LSTM":
                    ai, af, ag, ao = (gi + gh).chunk(4, -1)
                    rec["i"][t], rec["f"][t], rec["o"][t] = ai.sigmoid(), af.sigmoid(), ao.sigmoid()
                    rec["g"][t] = ag.tanh()
                    _, (h, c) = one(xt[:, None], (h, c))
                    rec["c"][t] = c[0]
                else:
                    if kind == "GRU":
                        (ir, iz, i_n), (hr, hz, hn) = gi.chunk(3, -1), gh.chunk(3, -1)
                        rec["r"][t], rec["z"][t] = (ir + hr).sigmoid(), (iz + hz).sigmoid()
                        rec["n"][t] = (i_n + rec["r"][t] * hn).tanh()
                    _, h = one(xt[:, None], h)
                rec["h"][t] = h[0]
            out[(k, d == 1)] = {n: torch.stack(v, 1) for n, v in rec.items() if v[0] is not None}
        layer_in = torch.cat([out[(k, d == 1)]["h"] for d in range(D)], -1)
    full, _ = module(x)
    assert torch.allclose(full, layer_in, atol=1e-6)  # the step-by-step reference is torch's
    return out


@pytest.mark.parametrize(
    ("module", "nonlinearity", "described"),
    [
        (
            lambda: nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True),
            "tanh",
            "LSTM, 2 layers, bidirectional, input 5, hidden 7",
        ),
        (
            lambda: nn.GRU(I, H, num_layers=2, batch_first=True),
            "tanh",
            "GRU, 2 layers, input 5, hidden 7",
        ),
        (
            lambda: nn.RNN(I, H, nonlinearity="relu", bias=False, batch_first=True),
            "relu",
            "RNN (relu), 1 layer, input 5, hidden 7, no bias",
        ),
    ],
    ids=["lstm-2-bidirectional", "gru-2", "relu-rnn-no-bias"],
)
def test_plain_pytorch_state_dict_records_what_torch_computes(
    tmp_path, module, nonlinearity, described
):
    torch.manual_seed(0)
    m = module()
    torch.save(m.state_dict(), tmp_path / "mine.pt")
    model = load_model(tmp_path / "mine.pt", nonlinearity=nonlinearity)
    assert model.describe() == described
    x = x_input()
    trace = record_foreign(model, x)
    with torch.no_grad():
        ref = torch_layers(m, torch.from_numpy(x))
    assert len(trace.layers) == len(ref)
    for lt in trace.layers:
        want = ref[(lt.layer, lt.reverse)]
        np.testing.assert_allclose(lt.h, want["h"], atol=1e-5)
        if "c" in want:
            np.testing.assert_allclose(lt.c, want["c"], atol=1e-5)
        assert set(lt.gates) == set(want) - {"h", "c"}
        for g, v in lt.gates.items():
            np.testing.assert_allclose(v, want[g], atol=1e-5, err_msg=f"gate {g} {lt.key}")
    assert trace.meta["model"] == described and trace.meta["objective"] == "L = ½‖h_n‖²"


def test_gradients_are_of_the_stated_scalar():
    """dL/dh_t of L = ½‖h_n‖² (summed over sequences) equals autograd's total gradient through
    torch's own GRU, stepped one timestep at a time so that every h_t can hold its gradient."""
    torch.manual_seed(0)
    m = nn.GRU(I, H, batch_first=True)
    model = from_state_dict(m.state_dict())
    x = x_input()
    trace = record_foreign(model, x, jacobian_sequences=0)
    xt, h, hs = torch.from_numpy(x), torch.zeros(1, B, H), []
    for t in range(T):
        _, h = m(xt[:, t : t + 1], h)
        h.retain_grad()
        hs.append(h)
    (0.5 * h.pow(2).sum()).backward()
    want = torch.stack([h.grad[0] for h in hs], 1)  # (B, T, H)
    np.testing.assert_allclose(trace.layer(0).grad_h, want, atol=1e-5)
    assert "½‖h_n‖²" in trace.meta["loss_definition"]
    unit = record_foreign(model, x, "unit:3", jacobian_sequences=0)
    assert unit.meta["objective"] == "L = h_n[3]"
    np.testing.assert_allclose(unit.layer(0).grad_h[:, -1], np.eye(H)[[3] * B], atol=1e-6)


def write_safetensors(path, tensors: dict) -> None:
    """The format by its specification: u64 header length, JSON header, raw little-endian."""
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    head = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def test_safetensors_opens_like_the_pt(tmp_path):
    torch.manual_seed(0)
    m = nn.LSTM(I, H, batch_first=True)
    write_safetensors(tmp_path / "m.safetensors", m.state_dict())
    model = load_model(tmp_path / "m.safetensors")
    assert model.describe() == "LSTM, 1 layer, input 5, hidden 7" and model.origin == "safetensors"
    x = x_input()
    out, _ = m(torch.from_numpy(x))
    np.testing.assert_allclose(record_foreign(model, x).layer(0).h, out.detach(), atol=1e-5)


def test_prefixed_state_dict_opens(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(I, H)

    torch.save(Net().state_dict(), tmp_path / "net.pt")
    assert load_model(tmp_path / "net.pt").describe() == "LSTM, 1 layer, input 5, hidden 7"


def test_rnnviz_checkpoint_opens_as_its_recurrent_stack(tmp_path):
    trainer = Trainer(Config(cell="gru", hidden=4, layers=2, seq_len=6, batch=2, device="cpu"))
    trainer.save_checkpoint(tmp_path / "ck.pt")
    model = load_model(tmp_path / "ck.pt")
    assert model.describe() == "GRU, 2 layers, input 1, hidden 4"
    assert model.origin == "rnnviz checkpoint (sine, step 0)"
    x = np.random.default_rng(0).standard_normal((2, 6, 1)).astype(np.float32)
    with torch.no_grad():
        out, _ = trainer.model.rnn(torch.from_numpy(x))
    np.testing.assert_allclose(record_foreign(model, x).layer(1).h, out, atol=1e-5)


def test_checkpoint_without_a_single_stack_is_one_line(tmp_path):
    config = Config(task="reverse", hidden=4, seq_len=6, batch=2, device="cpu").validate()
    torch.save({"config": config.to_dict(), "step": 0, "model": {}}, tmp_path / "s2s.pt")
    with pytest.raises(ForeignModelError, match="checkpoint of a seq2seq model .*single"):
        load_model(tmp_path / "s2s.pt")


# ---------------------------------------------------------------------------- bad files


class Payload:
    """A pickle that runs code when loaded: it would create the file `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def sd(**changes):
    torch.manual_seed(0)
    state = dict(nn.LSTM(I, H, num_layers=2).state_dict())
    for k, v in changes.items():
        if v is None:
            state.pop(k)
        else:
            state[k] = v
    return state


def save(tmp_path, obj, name="bad.pt"):
    torch.save(obj, tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: nn.LSTM(I, H, proj_size=3).state_dict(), "proj_size=3 (weight_hr_l0 (3, 7))"),
        (lambda: sd(weight_hh_l1=None), "missing keys: weight_hh_l1"),
        (lambda: sd(bias_ih_l1=None, bias_hh_l1=None), "missing keys: bias_ih_l1, bias_hh_l1"),
        (lambda: sd(h0=torch.zeros(3)), "extra keys: h0"),
        (
            lambda: sd(weight_ih_l1=torch.zeros(28, 5)),
            "weight_ih_l1 has shape (28, 5), expected (28, 7)",
        ),
        (
            lambda: sd(weight_hh_l0=torch.zeros(10, 7)),
            "weight_hh_l0 has shape (10, 7): not (G*H, H)",
        ),
        (
            lambda: {**sd(), "fc.weight": torch.zeros(2, 7), "fc.bias": torch.zeros(2)},
            "other modules in the file besides the recurrent layer: fc (fc.weight, fc.bias)",
        ),
        (
            lambda: {
                **{f"a.{k}": v for k, v in sd().items()},
                **{f"b.{k}": v for k, v in sd().items()},
            },
            "more than one recurrent module: 'a', 'b'",
        ),
        (lambda: {"model": sd(), "epoch": 3}, "not a state_dict: 'model' is a dict"),
        (lambda: [1, 2], "holds a list, not a state_dict"),
        (
            lambda: {"w": torch.zeros(2)},
            "no recurrent weights (weight_ih_l0, weight_hh_l0, …) among w",
        ),
        (
            lambda: sd(weight_ih_l0=torch.zeros(28, 5, dtype=torch.int64)),
            "weight_ih_l0 holds torch.int64",
        ),
        (lambda: nn.LSTM(I, H), "a whole pickled module (torch.nn.modules.rnn.LSTM)"),
    ],
    ids=[
        "proj-size",
        "missing",
        "missing-bias",
        "extra",
        "shape",
        "blocks",
        "other-module",
        "two-rnns",
        "nested",
        "list",
        "no-rnn",
        "int",
        "whole-module",
    ],
)
def test_bad_model_file_is_one_precise_line(tmp_path, make, says):
    path = save(tmp_path, make())
    with pytest.raises(ForeignModelError) as e:
        load_model(path)
    assert says in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("how", ["torch.save", "raw pickle"])
def test_pickle_with_a_payload_is_refused_and_nothing_runs(tmp_path, how):
    import pickle

    marker = tmp_path / "payload-ran"
    path = tmp_path / "evil.pt"
    if how == "torch.save":
        torch.save({"weight_ih_l0": torch.zeros(4, 2), "x": Payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(Payload(marker), protocol=2))
    assert not marker.exists()
    with pytest.raises(ForeignModelError) as e:
        load_model(path)
    assert "refused" in str(e.value) and "\n" not in str(e.value)
    assert not marker.exists()  # the payload did not run
    # ... and it would have: an unsafe load of the same file runs it
    if how == "torch.save":
        torch.load(path, weights_only=False)
    else:
        pickle.loads(path.read_bytes())
    assert marker.exists()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x01\x02", "too short"),
        (struct.pack("<Q", 10**6) + b"{}", "does not fit the file"),
        (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
        (
            struct.pack("<Q", 64)
            + b'{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'.ljust(64),
            "outside the file",
        ),
    ],
    ids=["short", "header-length", "not-object", "truncated"],
)
def test_bad_safetensors_is_one_line(tmp_path, content, says):
    (tmp_path / "m.safetensors").write_bytes(content)
    with pytest.raises(ForeignModelError) as e:
        load_model(tmp_path / "m.safetensors")
    assert says in str(e.value) and "not a readable safetensors file" in str(e.value)


def test_corrupt_pt_is_one_line(tmp_path):
    (tmp_path / "m.pt").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ForeignModelError, match="not a PyTorch file torch.load can read"):
        load_model(tmp_path / "m.pt")


# ---------------------------------------------------------------------------- input


def test_input_npy_and_csv(tmp_path):
    x = x_input()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "one.npy", x[0])
    (tmp_path / "x.csv").write_text("a,b,c,d,e\n" + "\n".join(",".join(map(str, r)) for r in x[0]))
    assert read_input(tmp_path / "x.npy", I).shape == (B, T, I)
    np.testing.assert_array_equal(read_input(tmp_path / "one.npy", I), x[:1])
    np.testing.assert_allclose(read_input(tmp_path / "x.csv", I), x[:1], rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        (
            "w.npy",
            np.zeros((2, 4, 3)),
            "w.npy has 3 values per timestep (shape (2, 4, 3)); the model's input is 5 wide",
        ),
        ("v.npy", np.zeros(4), "v.npy has shape (4,): give [B, T, I] or [T, I]"),
        ("o.npy", np.array([None] * 5, dtype=object), "not a numpy array file"),
        ("n.npy", np.full((4, 5), np.nan), "NaN or infinite"),
        ("w.csv", "1,2,3\n4,5,6\n", "w.csv has 3 values per timestep"),
        ("r.csv", "1,2,3,4,5\n4,5,x,1,1\n", "row 2 is not all numbers"),
    ],
)
def test_bad_input_is_one_line(tmp_path, name, data, says):
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data)
    else:
        np.save(path, data, allow_pickle=True)
    with pytest.raises(ForeignModelError) as e:
        read_input(path, I)
    assert says in str(e.value)
