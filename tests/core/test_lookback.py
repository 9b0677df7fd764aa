"""The music task's lookback input (core/lookback.py, the model's "lookback" encoder)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.core.config import Config, ConfigError
from rnnviz.core.embedding_map import symbol_vectors
from rnnviz.core.lookback import lookback_ids, lookback_size
from rnnviz.core.model import build_model
from rnnviz.core.record import recorded_params
from rnnviz.core.sampling import sample_ids
from rnnviz.core.tasks import make_task


def _by_hand(x: torch.Tensor, V: int) -> torch.Tensor:
    """The definition step by step: the latest earlier two-note match in the same melody,
    else the latest one-note match (+V), else 0; "|" (0) opens a melody and gets 0."""
    out = torch.zeros_like(x)
    for b, row in enumerate(x.tolist()):
        for t, note in enumerate(row):
            if note == 0:
                continue
            start = max((s for s in range(t) if row[s] == 0), default=0)
            earlier = range(t - 1, start - 1, -1)
            two = [s for s in earlier if s > start and row[s] == note and t > 0
                   and row[t - 1] != 0 and row[s - 1] == row[t - 1]]  # fmt: skip
            one = [s for s in earlier if row[s] == note]
            out[b, t] = row[two[0] + 1] if two else V + row[one[0] + 1] if one else 0
    return out


@pytest.mark.parametrize("T", [1, 2, 9, 64])
@pytest.mark.parametrize("V", [2, 4, 7])
def test_lookback_ids_are_the_definition_step_by_step(T, V):
    g = torch.Generator().manual_seed(100 * T + V)
    x = torch.randint(0, V, (3, T), generator=g)
    got = lookback_ids(x.numpy(), V)
    np.testing.assert_array_equal(got, _by_hand(x, V).numpy())
    assert got.max() < lookback_size(V)


def test_a_repeated_phrase_looks_back_at_its_continuation_and_never_across_melodies():
    """| C D E C D F | C D: at the second D (after C) the tune went on with E last time; at
    the second C the one-note match says D; the next melody starts afresh."""
    C, D, E, F = 1, 2, 3, 4
    V = 5
    x = torch.tensor([[0, C, D, E, C, D, F, 0, C, D]])
    got = lookback_ids(x.numpy(), V)[0].tolist()
    assert got == [0, 0, 0, 0, V + D, E, 0, 0, 0, 0]


def _music_model(**settings):
    cfg = Config(task="music", hidden=8, embed_dim=4, seq_len=20, **settings).validate()
    task = make_task(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, task.input_size, task.output_size, parts=task.note_parts)
    return cfg, task, model.eval()


def test_the_music_task_reads_its_lookback_and_generation_sees_the_same_inputs():
    """Step by step with what came before (generation) the logits are those of the whole
    melody at once (training, the held-out score, the panels); a sample is reproducible."""
    cfg, task, model = _music_model()
    assert cfg.resolved_encoder == "lookback" and model.reads_past
    x = task.heldout().x[:1]  # a held-out melody, from its start
    whole, _ = model.forward_with_state(x)
    logits, hx = model.forward_with_state(x[:, :1])
    steps = [logits]
    for t in range(1, x.shape[1]):
        logits, hx = model.forward_with_state(x[:, t : t + 1], hx, before=x[:, :t])
        steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, 1), whole, rtol=1e-5, atol=1e-5)
    # without what came before, the repeats are not seen: the inputs differ
    alone = torch.cat([model.forward_with_state(x[:, t : t + 1])[0] for t in range(x.shape[1])], 1)
    assert not torch.allclose(alone, whole, atol=1e-4)
    prime = task.prime_ids()
    assert sample_ids(model, prime, 12, 1.0, seed=3) == sample_ids(model, prime, 12, 1.0, seed=3)


def test_the_embedding_panel_shows_each_notes_vector_not_the_lookbacks():
    """What the first layer reads for a note: its own row plus its pitch's and its length's
    (core/note_layers.py), summed here from the three tables by each note's name."""
    _, task, model = _music_model()
    params = recorded_params(model)
    assert params["lookback.weight"].shape[0] == lookback_size(task.input_size)
    found = symbol_vectors(params, task.input_size)
    pitches = {n.midi for n in task.notes if n is not None and n.midi is not None}
    lengths = sorted({n.beats for n in task.notes if n is not None})
    for i, note in enumerate(task.notes):
        pitch = 0 if note is None else 1 if note.midi is None else 2 + note.midi - min(pitches)
        length = 0 if note is None else 1 + lengths.index(note.beats)
        want = (params["encoder.weight"][i] + params["encoder.pitch.weight"][pitch]
                + params["encoder.length.weight"][length])  # fmt: skip
        np.testing.assert_allclose(found.vectors[i], want, rtol=1e-6, atol=1e-6)
    x = torch.arange(task.input_size)[None]
    np.testing.assert_allclose(model.encoder(x)[0].detach().numpy(), found.vectors, atol=1e-6)


def test_the_lookback_encoder_is_for_melodies_and_music_can_do_without():
    with pytest.raises(ConfigError, match="lookback encoder .* music task, not charlm"):
        Config(task="charlm", encoder="lookback").validate()
    _, _, plain = _music_model(encoder="embedding")
    assert not plain.reads_past and not hasattr(plain, "lookback")
    assert not hasattr(plain, "cache")


def test_a_music_checkpoint_without_the_lookback_is_refused_in_one_line(tmp_path, capsys):
    """A music model saved before melodies had a lookback: `sample` names what is missing."""
    from rnnviz import cli

    ck = tmp_path / "m.pt"
    tiny = ["--hidden", "8", "--seq-len", "16", "--batch", "4", "--device", "cpu"]
    assert cli.main(["train", "--task", "music", "--steps", "1", "--save", str(ck), *tiny]) == 0
    saved = torch.load(ck, weights_only=False)
    del saved["model"]["lookback.weight"]
    torch.save(saved, ck)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        cli.main(["sample", "--checkpoint", str(ck)])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "does not fit its own settings: missing lookback.weight (saved by another" in err, err
    assert err.endswith("train it again)"), err
    assert len(err.splitlines()) == 1
