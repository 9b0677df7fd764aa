"""Every lecture preset keeps the promise its explanation makes, checked at reduced scale:
the number the explanation names (a gradient ratio, a loss against chance, a gate value) is
measured on a trained run, and every number it quotes is one its figures draw. Full scale is
timed by benchmarks/bench_presets.py."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import torch

from rnnviz.core.analysis import spectrum
from rnnviz.core.claims import check_claim
from rnnviz.core.config import Config, ConfigError
from rnnviz.core.heldout import heldout_score
from rnnviz.core.memory_reach import reach_over_training
from rnnviz.core.notation import parse_notes
from rnnviz.core.presets import (
    list_presets,
    load_preset,
    preset_snapshot,
    run_settings,
    train_preset,
)
from rnnviz.core.tasks.tagging import AMBIGUOUS

# key -> (training steps, Config overrides) small enough for the suite; the claim must hold
REDUCED = {
    "vanishing": (100, {"hidden": 32, "batch": 16}),
    "exploding": (300, {}),
    "irnn": (600, {"seq_len": 50, "hidden": 32}),
    "lstm_memory": (900, {"seq_len": 50, "hidden": 32}),
    "gru_update": (400, {}),
    "forget_bias": (100, {}),
    "charlm": (200, {"hidden": 64, "seq_len": 50}),
    "side_by_side": (800, {"seq_len": 60, "hidden": 32}),
    "composing": (100, {"hidden": 16, "seq_len": 24}),
    "order_matters": (150, {"hidden": 16}),
    "why_bidirectional": (100, {"hidden": 16}),
    "where_gradient": (60, {}),  # a GRU of 32 units reaches far only later
    "bottleneck": (500, {"seq_len": 10, "hidden": 16}),
    "attention_aligns": (400, {"seq_len": 8}),
}


def grad_norms(trace) -> np.ndarray:
    return np.linalg.norm(trace.layer(0).grad_h[0].astype(np.float64), axis=-1)  # (T,)


def recent_loss(trainer, n: int = 50) -> float:
    return float(trainer.history.view().loss[-n:].mean())


@pytest.fixture(scope="module")
def trained():
    """key -> (preset, trainers, traces, snapshot), trained once per module at reduced scale."""
    cache = {}

    def get(key):
        if key not in cache:
            steps, overrides = REDUCED[key]
            preset = load_preset(key)
            with np.errstate(all="ignore"):  # the exploding preset overflows on purpose
                trainers, traces = train_preset(preset, steps, recordings=5, **overrides)
                snapshot = preset_snapshot(preset, trainers, traces)
            cache[key] = (preset, trainers, traces, snapshot)
        return cache[key]

    return get


def test_every_preset_is_covered_and_parses():
    presets = list_presets()
    assert [p.key for p in presets] == sorted(REDUCED, key=lambda k: load_preset(k).order)
    for p in presets:
        assert p.title and len(p.explanation.split()) > 40 and p.steps > 0
        assert 20 < len(p.summary) <= 80 and "\n" not in p.summary  # one line on a button
        assert p.panels and all(r.config.validate() for r in p.runs)
    assert len({p.order for p in presets}) == len(presets)


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        load_preset("nope")


def test_vanishing_gradient_falls_by_orders_of_magnitude_and_loss_stays_at_chance(trained):
    preset, (trainer,), (trace,), snapshot = trained("vanishing")
    g = grad_norms(trace)
    assert 0 < g[0] / g[-1] < 1e-4  # ||dL/dh_0|| / ||dL/dh_T||
    claim = check_claim(preset, snapshot)
    assert f"{g[0] / g[-1]:.1e}" in claim.text  # the true ratio, not a float32 underflow to 0
    chance = trainer.task.chance_loss
    assert chance == pytest.approx(1 / 6)
    assert 0.8 * chance <= recent_loss(trainer) <= 1.5 * chance
    assert check_claim(preset, snapshot).ok


def test_exploding_without_clipping_diverges_and_with_clipping_trains(trained):
    preset, (clipped, free), (trace, _), snapshot = trained("exploding")
    assert free.diverged and "diverged" in free.message
    assert all(torch.isfinite(p).all() for p in free.model.parameters())  # the last finite
    assert not clipped.diverged and clipped.step_count == 300
    h = clipped.history.view()
    assert h.clipped.mean() > 0.2 and (h.grad_norm_clipped <= 0.5 + 1e-4).all()
    assert recent_loss(clipped) < 0.2 * clipped.task.chance_loss
    # the panels follow the clipped run: its gradient grows back through time at rho near 2
    g = grad_norms(trace)
    assert (
        g[0] > g[-1]
        and 1.5 < max(b.radius for b in spectrum(trace.params["weight_hh_l0"], "rnn")) < 3.5
    )
    assert snapshot.runs[0].label == preset.runs[0].label == "norm clipping at 0.5"
    assert check_claim(preset, snapshot).ok
    free.reset()  # Reset recovers the diverged run
    assert not free.diverged and free.train_step()


def test_irnn_learns_the_adding_problem_with_a_steady_gradient(trained):
    preset, (trainer,), (trace,), snapshot = trained("irnn")
    g = grad_norms(trace)
    assert 0.1 < g[0] / g[-1] < 10
    assert recent_loss(trainer) < 0.25 * trainer.task.chance_loss
    assert check_claim(preset, snapshot).ok


def test_lstm_forget_gate_holds_and_the_gradient_reaches_early_timesteps(trained):
    preset, (trainer,), (trace,), snapshot = trained("lstm_memory")
    assert trace.layer(0).gates["f"][0].mean() > 0.8
    g = grad_norms(trace)
    assert g[0] / g[-1] > 1e-3
    assert recent_loss(trainer) < 0.25 * trainer.task.chance_loss
    assert check_claim(preset, snapshot).ok


def test_gru_update_gate_closes_over_unmarked_inputs(trained):
    preset, (trainer,), (trace,), snapshot = trained("gru_update")
    z = trace.layer(0).gates["z"][0].mean(-1)  # (T,) over units
    marked = trace.x_raw[0, :, 1] > 0.5
    assert marked.sum() == 2
    assert z[~marked].mean() - z[marked].mean() > 0.1
    assert check_claim(preset, snapshot).ok


def test_forget_bias_one_carries_a_far_larger_gradient_back(trained):
    preset, trainers, (t0, t1), snapshot = trained("forget_bias")
    r0, r1 = (grad_norms(t)[0] / grad_norms(t)[-1] for t in (t0, t1))
    assert r1 > 1e3 * r0
    f0, f1 = (t.layer(0).gates["f"][0].mean() for t in (t0, t1))
    assert f0 == pytest.approx(0.5, abs=0.05) and f1 == pytest.approx(0.73, abs=0.05)
    assert check_claim(preset, snapshot).ok


def test_char_lm_loss_falls_and_samples_are_text(trained):
    preset, (trainer,), (trace,), snapshot = trained("charlm")
    loss = trainer.history.view().loss
    assert loss[:20].mean() - loss[-50:].mean() > 1.0  # nats per character
    sample = trainer.sample_text(200, 0.8)
    assert len(sample) == 200 and set(sample) <= set(trainer.task.chars)
    assert check_claim(preset, snapshot).ok


def test_side_by_side_gated_cells_learn_and_the_rnn_does_not(trained):
    preset, (rnn, lstm, gru), traces, snapshot = trained("side_by_side")
    chance = rnn.task.chance_loss
    assert recent_loss(rnn) > 0.75 * chance
    assert recent_loss(lstm) < 0.25 * chance and recent_loss(gru) < 0.25 * chance
    ratios = [grad_norms(t)[0] / grad_norms(t)[-1] for t in traces]
    assert ratios[0] < 1e-3 * min(ratios[1:])
    assert [t.cell for t in traces] == ["rnn", "lstm", "gru"]
    assert check_claim(preset, snapshot).ok


def test_composing_a_cold_sample_keeps_close_a_hot_one_wanders(trained):
    preset, (trainer,), _, snapshot = trained("composing")
    (cold, cold_text), (hot, hot_text) = snapshot.extras["samples"]
    assert (cold, hot) == (0.5, 1.5)
    assert melody_stat(hot_text, "pitches") > melody_stat(cold_text, "pitches")
    assert melody_stat(hot_text, "leap") > melody_stat(cold_text, "leap")
    assert len(parse_notes(cold_text)) == len(parse_notes(hot_text)) == 48
    assert check_claim(preset, snapshot).ok


def test_order_matters_the_lstm_turns_at_not_and_the_bag_of_words_hardly_moves(trained):
    preset, _, (lstm, bow), snapshot = trained("order_matters")
    assert (lstm.cell, bow.cell) == ("lstm", "bow")
    words = list(lstm.tokens[0, : int(lstm.input_mask[0].sum())])
    assert "not" in words and lstm.meta["output_vocab"][int(lstm.y[0, len(words) - 1])] == (
        "negative"
    )
    pos = lstm.meta["output_vocab"].index("positive")
    p_lstm, p_bow = (np.asarray(t.evidence)[: len(words), pos] for t in (lstm, bow))
    after_not = words.index("not") + 1
    # the LSTM turns negative at the word after 'not' and stays so; the bag of words cannot
    assert p_lstm[after_not - 1] - p_lstm[after_not] > 0.5 and p_lstm[-1] < 0.5
    assert np.abs(np.diff(p_bow)).max() < np.abs(np.diff(p_lstm)).max()
    assert np.isfinite(np.asarray(lstm.attribution)[: len(words)]).all()  # the strip
    assert check_claim(preset, snapshot).ok


def test_why_bidirectional_the_reverse_direction_tags_the_word_the_next_one_decides(trained):
    preset, _, (both, forward), snapshot = trained("why_bidirectional")
    words = list(both.tokens[0, : int(both.input_mask[0].sum())])
    assert words[2:4] == ["sandy", "taylor"]  # seed 3's probe sentence: 'sandy' is a name
    assert [lt.key for lt in both.layers] == ["l0", "l0_reverse"]
    p = [np.exp(t.y_hat[0, 2]) / np.exp(t.y_hat[0, 2]).sum() for t in (both, forward)]
    assert p[0][both.y[0, 2]] >= 0.9 and p[1][forward.y[0, 2]] <= 0.8
    assert check_claim(preset, snapshot).ok


def test_where_the_gradient_comes_from_the_grus_reaches_far_the_rnns_near(trained):
    preset, _, traces, snapshot = trained("where_gradient")
    reach = [reach_over_training(r.probes.profiles["l0"], 0.01)[-1] for r in snapshot.runs]
    assert reach[0] <= 10 and reach[2] >= 30  # of 49 steps back: the RNN's 5, the GRU's 49
    gru = traces[2].layer(0)
    assert gru.grad_items.shape == (50, 50, 64)  # a loss at every character
    assert check_claim(preset, snapshot).ok


def test_bottleneck_without_attention_long_inputs_fail_and_with_attention_they_hold(trained):
    preset, (bare, attended), _, snapshot = trained("bottleneck")
    assert (bare.config.attention, attended.config.attention) == ("none", "additive")
    curves = snapshot.extras["bottleneck"]
    assert curves.done and [c.label for c in curves.runs] == [r.label for r in preset.runs]
    none, attention = curves.runs
    assert none.lengths == attention.lengths == tuple(range(1, 11))  # 1 .. --seq-len
    assert none.exact[0] >= 0.9 and none.exact[-1] < 0.5 * none.exact[0]
    assert np.mean(attention.exact[5:]) >= np.mean(none.exact[5:]) + 0.3
    # by length, the --report score: weighted by the sequences of each length, it is that
    score = heldout_score(attended.model, attended.task, chunk=256)
    assert np.average(attention.exact, weights=attention.sequences) == pytest.approx(score.value)
    assert sum(attention.sequences) == score.sequences
    assert check_claim(preset, snapshot).ok


def test_attention_aligns_each_output_step_reads_the_mirrored_input(trained):
    preset, _, (trace,), snapshot = trained("attention_aligns")
    assert np.allclose(trace.attn.sum(-1), 1, atol=1e-6)
    hits, steps = (_alignment_values(trace, what) for what in ("mirrored", "decoder steps"))
    assert steps == int(trace.loss_mask.sum()) - len(trace.loss_mask)  # every row but <eos>
    assert hits >= 0.9 * steps
    assert check_claim(preset, snapshot).ok


def _sentence_values(trace, what: str) -> float:
    """The evidence curve's largest move and last value (Evidence over time), or the right
    tag's probability under the word a later word decides (Next-symbol guesses)."""
    n = int(trace.input_mask[0].sum())
    if what == "p":
        t = next(t for t, w in enumerate(trace.tokens[0, :n]) if w in AMBIGUOUS)
        y_hat = trace.y_hat[0, t].astype(np.float64)
        return float(np.exp(y_hat)[trace.y[0, t]] / np.exp(y_hat).sum())
    p = np.asarray(trace.evidence)[:n, trace.meta["output_vocab"].index("positive")]
    return float(np.abs(np.diff(p)).max() if what == "turn" else p[-1])


def _bottleneck_values(snapshot, label: str, what: str) -> float:
    """The Bottleneck panel's points (exact match by input length) of the run `label` (the
    first run's for the lengths), read as its figure shows them."""
    curves = snapshot.extras["bottleneck"].runs
    curve = next((c for c in curves if c.label == label), curves[0])
    lengths, exact = np.array(curve.lengths), np.array(curve.exact)
    half = len(lengths) // 2
    values = {
        "shortest": lengths[0],
        "longest": lengths[-1],
        "short": exact[0],
        "long": exact[-1],
        "half from": lengths[half],
        "long mean": exact[half:].mean(),
        "below half": lengths[exact < 0.5][0] if (exact < 0.5).any() else np.nan,
    }
    return float(values[what])


def _alignment_values(trace, what: str) -> float:
    """The Attention panel's heatmaps, one per probe sequence (padding and the <eos> row
    left out): decoder steps, those whose largest weight is on the mirrored input, the mean
    weight there."""
    hits, weights = 0, []
    for b in range(trace.attn.shape[0]):
        real = trace.tokens_in[b] != "<pad>"
        n = int(real.sum())
        a = trace.attn[b, :n][:, real].astype(np.float64)  # (n, n)
        mirror = n - 1 - np.arange(n)
        hits += int((a.argmax(1) == mirror).sum())
        weights.extend(a[np.arange(n), mirror])
    values = {"mirrored": hits, "decoder steps": len(weights), "mirrored weight": np.mean(weights)}
    return float(values[what])


def drawn(preset, snapshot, name: str) -> float:
    """The value a figure draws for a claim's quote `name` ("loss", "ratio: GRU", …),
    computed here from the snapshot's arrays the way the panels compute what they draw."""
    what, _, label = name.partition(": ")
    runs = snapshot.runs or [snapshot]
    labels = [r.label for r in preset.runs]
    run = runs[labels.index(label)] if label else runs[0]
    history, trace = run.history, run.trace
    # Gradient norms and Side by side: ||dL/dh_t|| over t (the bag of words has no layers)
    g = grad_norms(trace) if trace.layers else np.full(2, np.nan)
    chance = snapshot.chance_loss  # the chance line of the Training panel
    samples = snapshot.extras.get("samples") or 2 * ((None, ""),)  # the music preset's
    values = {
        "ratio": lambda: g[0] / g[-1],
        "decades": lambda: -np.log10(g[0] / g[-1]),
        "loss": lambda: history.loss[-50:].mean(),  # the Training panel's title
        "first loss": lambda: history.loss[:20].mean(),
        "chance": lambda: chance,
        "chance / 4": lambda: chance / 4,
        "chance / 5": lambda: chance / 5,
        "mean f": lambda: trace.layer(0).gates["f"][0].mean(),  # the gate heatmap
        "z unmarked": lambda: (
            trace.layer(0).gates["z"][0].mean(-1)[trace.x_raw[0, :, 1] <= 0.5].mean()
        ),
        "z marked": lambda: (
            trace.layer(0).gates["z"][0].mean(-1)[trace.x_raw[0, :, 1] > 0.5].mean()
        ),
        "rho": lambda: max(b.radius for b in spectrum(trace.params["weight_hh_l0"], trace.cell)),
        "clipped steps": lambda: history.clipped.mean(),  # the gradient-norm plot's title
        "diverged at": lambda: run.step + 1,  # the Side by side legend
        # the Memory reach panel's last point (its legend's "now") at the default 1%
        "reach": lambda: reach_over_training(run.probes.profiles["l0"], 0.01)[-1],
        # the piano roll's composed melodies: distinct pitches and mean |interval|
        **{
            f"{name} {what}": (lambda text=text, what=what: melody_stat(text, what))
            for name, (_, text) in zip(("cold", "hot"), samples, strict=True)
            for what in ("pitches", "leap")
        },
        **{
            what: (lambda what=what: _sentence_values(trace, what)) for what in ("turn", "end", "p")
        },
        **{
            what: (lambda what=what: _bottleneck_values(snapshot, label, what))
            for what in ("shortest", "longest", "short", "long", "half from", "long mean")
        },
        "below half": lambda: _bottleneck_values(snapshot, labels[0], "below half"),
        **{
            what: (lambda what=what: _alignment_values(trace, what))
            for what in ("mirrored", "decoder steps", "mirrored weight")
        },
    }
    return float(values[what]())


# numbers a claim writes that are thresholds or notation, not measurements
CONSTANTS = {"0", "1", "4", "1e-4", "1e-3", "0.8", "0.1", "10", "1000", "20", "50", "5"}
CONSTANTS |= {"0.5", "1.5"}  # the music preset's two temperatures
CONSTANTS |= {"3"}  # where_gradient: the gated cells' reach at least 3x the RNN's


def melody_stat(text: str, what: str) -> float:
    pitches = [n.midi for n in parse_notes(text) if n.midi is not None]
    if what == "pitches":
        return len(set(pitches))
    return float(np.mean(np.abs(np.diff(pitches))))


@pytest.mark.parametrize("key", list(REDUCED))
def test_every_number_a_preset_quotes_is_one_its_figures_draw(trained, key):
    preset, _, _, snapshot = trained(key)
    claim = check_claim(preset, snapshot)
    assert claim.quotes
    rest = claim.text
    for q in claim.quotes:
        assert q.value == pytest.approx(drawn(preset, snapshot, q.name), rel=1e-9), q.name
        assert q.text in rest, q.name
        rest = rest.replace(q.text, " ", 1)
    # nothing else measured hides in the text: what is left is thresholds and notation
    assert set(re.findall(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?", rest)) <= CONSTANTS, rest


def test_explanations_quote_no_stale_number_and_one_notation():
    forget_bias = load_preset("forget_bias").explanation
    assert "thirty" not in forget_bias and "0.5^99" in forget_bias
    for p in list_presets():
        assert "dh_T/" not in p.explanation and "dh_T|" not in p.explanation, p.key


def test_run_settings_name_every_setting_a_preset_changes():
    default = Config()
    skip = {"device", "steps", "probe_batch", "text"}
    for p in list_presets():
        for r in p.runs:
            words = run_settings(r.config)
            for f in dataclasses.fields(Config):
                v = getattr(r.config, f.name)
                if f.name in skip or v == getattr(default, f.name):
                    continue
                shown = format(v, "g") if isinstance(v, float) else str(v)
                shown = f.name if isinstance(v, bool) else shown  # "bidirectional"
                assert shown in words, (p.key, f.name, words)
    exploding = load_preset("exploding").runs[0].config
    assert "sgd lr 0.2, momentum 0.9" in run_settings(exploding)
