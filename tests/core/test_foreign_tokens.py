"""A token model of one's own: an nn.Embedding beside an nn.LSTM, saved by plain PyTorch, read
on a text with a JSON vocabulary; what rnnviz records equals torch's, with the tokens on the
trace, and every vocabulary that does not fit is one line and exit 2."""

import json

import numpy as np
import pytest
import torch
from test_cli import rnnviz  # tests/core is on sys.path (rootdir)
from torch import nn

from rnnviz.cli import run_command
from rnnviz.core.foreign import ForeignModelError, load_model
from rnnviz.core.foreign_tokens import read_model_input, tokenization
from rnnviz.core.foreign_trace import record_foreign
from rnnviz.core.trace import Trace

CHARS = ["<unk>", "a", "b", "c", " ", "d", "\n"]
WORDS = ["<pad>", "the", "cat", "sat", "on", "mat"]


class TokenLSTM(nn.Module):
    """A learner's model: what `torch.save(model.state_dict())` of it holds opens."""

    def __init__(self, V: int, E: int = 4, H: int = 5, layers: int = 2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.lstm = nn.LSTM(E, H, num_layers=layers, batch_first=True)


@pytest.fixture
def files(tmp_path):
    torch.manual_seed(0)
    torch.save(TokenLSTM(len(CHARS)).state_dict(), tmp_path / "m.pt")
    (tmp_path / "vocab.json").write_text(json.dumps(CHARS), "utf-8")
    (tmp_path / "text.txt").write_text("ab cz\nda\n", "utf-8")  # z: <unk>
    return tmp_path


def torch_states(path, ids: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """h_t and c_t of every layer by torch itself, a step at a time (c_t of every t)."""
    net = TokenLSTM(len(CHARS))
    net.load_state_dict(torch.load(path, weights_only=True))
    x = net.embedding(torch.from_numpy(ids))  # (B, T, E)
    hs, cs = [], []
    for k in range(2):
        one = nn.LSTM(x.shape[-1], 5, batch_first=True)
        one.load_state_dict(
            {
                n.replace(f"_l{k}", "_l0"): v
                for n, v in net.lstm.state_dict().items()
                if n.endswith(f"_l{k}")
            }
        )
        state, h_k, c_k = None, [], []
        for t in range(x.shape[1]):
            _, state = one(x[:, t : t + 1], state)
            h_k.append(state[0][0])
            c_k.append(state[1][0])
        x = torch.stack(h_k, 1)
        hs.append(x.detach().numpy())
        cs.append(torch.stack(c_k, 1).detach().numpy())
    return hs, cs


def test_a_token_model_opens_on_text_and_records_what_torch_computes(files):
    args = ["--model", "m.pt", "--input", "text.txt", "--vocab", "vocab.json", "--out", "t.npz"]
    result = rnnviz("trace", *args, cwd=files)
    assert result.returncode == 0, result.stderr
    assert "LSTM, 2 layers, input 4, hidden 5, embedding of 7 tokens" in result.stdout
    trace = Trace.load_npz(files / "t.npz")
    assert trace.meta["tokenization"] == "chars" and trace.meta["vocab_file"] == "vocab.json"
    # every character a token, the line break inside too; z is not in the vocabulary: <unk>
    assert list(trace.tokens[0]) == ["a", "b", " ", "c", "<unk>", "\n", "d", "a"]
    ids = np.array([[1, 2, 4, 3, 0, 6, 5, 1]])
    np.testing.assert_array_equal(trace.x_raw, ids)
    hs, cs = torch_states(files / "m.pt", ids)
    for k in range(2):
        np.testing.assert_allclose(trace.layer(k).h, hs[k], atol=1e-5)
        np.testing.assert_allclose(trace.layer(k).c, cs[k], atol=1e-5)


def test_words_split_at_whitespace_and_the_vocabulary_decides(tmp_path):
    torch.manual_seed(1)
    net = TokenLSTM(len(WORDS), layers=1)
    torch.save(net.state_dict(), tmp_path / "m.pt")
    (tmp_path / "v.json").write_text(json.dumps(WORDS), "utf-8")
    (tmp_path / "s.txt").write_text("the cat  sat\non the mat", "utf-8")
    assert tokenization(tuple(WORDS)) == "words" and tokenization(tuple(CHARS)) == "chars"
    model = load_model(tmp_path / "m.pt")
    x, vocab, used = read_model_input(tmp_path / "s.txt", model, tmp_path / "v.json")
    assert used == "words" and x.tolist() == [[1, 2, 3, 4, 1, 5]]
    trace = record_foreign(model, x, vocab=vocab)
    assert list(trace.tokens[0]) == "the cat sat on the mat".split()
    out, _ = net.lstm(net.embedding(torch.from_numpy(x)))
    np.testing.assert_allclose(trace.layer(0).h, out.detach().numpy(), atol=1e-5)
    # chars asked for: a character the vocabulary lacks, and no <unk> to stand for it
    with pytest.raises(ForeignModelError, match=r"token 1, 't', is not in the vocabulary"):
        read_model_input(tmp_path / "s.txt", model, tmp_path / "v.json", "chars")


@pytest.mark.parametrize(
    ("vocab", "text", "says"),
    [
        ("['a', 'b']", "ab", "bad.json: not JSON (Expecting value at line 1, column 2)"),
        ('{"a": 0}', "ab", "bad.json holds a JSON dict, not a list of the tokens in id order"),
        (
            json.dumps(CHARS[:-1]),
            "ab",
            "bad.json has 6 tokens, the model's embedding.weight 7 rows (shape (7, 4))",
        ),
        (
            json.dumps(CHARS[1:] + ["e"]),
            "abqa",
            "text.txt: token 3, 'q', is not in the vocabulary, which has no <unk> to stand for it",
        ),
        (
            json.dumps(["a", "b", 3, "c", "d", "e", "f"]),
            "ab",
            "bad.json: entry 2 is 3, not a string",
        ),
        (
            json.dumps(["a", "a", "b", "c", "d", "e", "f"]),
            "ab",
            "'a' is there twice (entries 0 and 1)",
        ),
    ],
    ids=["not-json", "not-a-list", "size", "unknown-token", "not-a-string", "twice"],
)
def test_a_vocabulary_that_does_not_fit_is_one_line(files, capsys, monkeypatch, vocab, text, says):
    monkeypatch.chdir(files)  # in this process: torch is imported once for all of them
    (files / "bad.json").write_text(vocab, "utf-8")
    (files / "text.txt").write_text(text, "utf-8")
    args = ["trace", "--model", "m.pt", "--input", "text.txt", "--vocab", "bad.json"]
    with pytest.raises(SystemExit) as e:
        run_command([*args, "--out", "t.npz", "--threads", "1"])
    assert e.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert says in line
    assert not (files / "t.npz").exists()


def test_numbers_for_a_token_model_and_a_vocabulary_for_numbers_are_one_line(files, tmp_path):
    model = load_model(files / "m.pt")
    np.save(files / "x.npy", np.zeros((3, 4), np.float32))
    with pytest.raises(ForeignModelError, match=r"reads tokens \(embedding.weight \(7, 4\)\)"):
        read_model_input(files / "x.npy", model)
    torch.save(nn.GRU(4, 3).state_dict(), files / "g.pt")
    with pytest.raises(ForeignModelError, match="the model has no embedding"):
        read_model_input(files / "x.npy", load_model(files / "g.pt"), files / "vocab.json")
    wide = TokenLSTM(len(CHARS), E=6).state_dict()
    wide["lstm.weight_ih_l0"] = torch.zeros(20, 4)  # the layer reads 4, the embedding gives 6
    wide["lstm.weight_ih_l1"] = torch.zeros(20, 5)
    torch.save(wide, files / "w.pt")
    with pytest.raises(ForeignModelError, match=r"embedding.weight has shape \(7, 6\): its 6"):
        load_model(files / "w.pt")


def test_tokens_without_a_vocabulary_is_one_line(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    args = ["trace", "--model", "m.pt", "--input", "text.txt", "--tokens", "words"]
    with pytest.raises(SystemExit) as e:
        run_command([*args, "--out", "t.npz"])
    assert e.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("--tokens applies to a token model's text: give its --vocab too")
