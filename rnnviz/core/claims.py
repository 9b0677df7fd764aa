"""Preset claims: the numbers a preset's explanation promises, measured on the arrays its
figures draw (`check_claim`; the Lesson dock, `rnnviz export`, the tests and the preset
benchmark quote them). A preset's TOML names its check by its key in CLAIMS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnviz.core.analysis import spectral_radii, vector_norms
from rnnviz.core.memory_reach import REACH_FRACTION, layer_profile, memory_reach
from rnnviz.core.notation import pitch_range_and_leap
from rnnviz.core.protocol import RunView
from rnnviz.core.sentence_measures import (
    ambiguous_word,
    label,
    largest_turn,
    positive_evidence,
    sentence,
    tag_probability,
)
from rnnviz.core.seq2seq.bottleneck import EXTRAS_KEY as BOTTLENECK
from rnnviz.core.seq2seq.bottleneck import RunCurve
from rnnviz.core.tasks.symbols import PAD

RECENT_STEPS = 50  # the loss a preset quotes, and the Training panel's title, is this mean


def recent_loss(history) -> float:
    """Mean training loss of the last RECENT_STEPS steps (nan before the first step)."""
    return float(np.mean(history.loss[-RECENT_STEPS:])) if len(history) else float("nan")


def gradient_ratio(trace) -> float:
    """||dL/dh_0|| / ||dL/dh_{T-1}|| of probe sequence 0, layer 0 (forward): the ends of the
    curve the Gradient norms and Side by side panels draw."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's huge values
        g = vector_norms(trace.layer(0).grad_h[0])  # (T,)
    return float(g[0] / g[-1]) if g[-1] > 0 else float("nan")


def spectral_radius(trace) -> float:
    """rho(W_hh) of layer 0 at the recording, as the W_hh spectrum panel reads it out (the
    largest over gate blocks)."""
    key = trace.layer(0).key
    return max(spectral_radii(trace.params, trace.cell, [key]).values())


@dataclass(frozen=True)
class Quote:
    """One number a claim quotes: what it is (`name`, e.g. "loss: GRU"), its value as drawn
    in a figure, and how the text writes it."""

    name: str
    value: float
    text: str


@dataclass(frozen=True)
class ClaimResult:
    ok: bool
    text: str  # the promised numbers, measured, in words
    quotes: tuple[Quote, ...] = ()  # every number in `text` that was measured


class _Words:
    """Builds a claim's text, keeping every measured number it writes as a Quote."""

    def __init__(self) -> None:
        self.quotes: list[Quote] = []

    def __call__(self, name: str, value: float, spec: str) -> str:
        text = format(value, spec)
        self.quotes.append(Quote(name, float(value), text))
        return text

    def result(self, ok: bool, text: str) -> ClaimResult:
        return ClaimResult(bool(ok), text, tuple(self.quotes))


RATIO = "||dL/dh_0|| / ||dL/dh_{T-1}||"


def preset_runs(preset, snapshot) -> tuple:
    """The snapshot's runs (RunViews) in the preset's order; a single run as one RunView."""
    if snapshot.runs:
        return tuple(snapshot.runs)
    diverged = snapshot.state == "diverged"
    label = preset.runs[0].label
    return (
        RunView(label, snapshot.step, diverged, snapshot.history, snapshot.trace, snapshot.probes),
    )


def _vanishing(preset, s) -> ClaimResult:
    (run,) = preset_runs(preset, s)
    w, chance = _Words(), s.chance_loss
    r, loss = gradient_ratio(run.trace), recent_loss(run.history)
    ok = r < 1e-4 and 0.8 * chance <= loss <= 1.5 * chance
    return w.result(
        ok,
        f"{RATIO} = {w('ratio', r, '.1e')} (< 1e-4); mean loss of the last {RECENT_STEPS} steps "
        f"{w('loss', loss, '.3f')} vs chance {w('chance', chance, '.3f')}",
    )


def _exploding(preset, s) -> ClaimResult:
    clipped, free = preset_runs(preset, s)  # the clipped run trains on: the panels follow it
    w, chance = _Words(), s.chance_loss
    loss, r = recent_loss(clipped.history), gradient_ratio(clipped.trace)
    rho, share = spectral_radius(clipped.trace), float(clipped.history.clipped.mean())
    ok = free.diverged and not clipped.diverged and loss < 0.2 * chance and r > 1
    where = (
        f"diverged at step {w('diverged at: ' + free.label, free.step + 1, 'd')}"
        if free.diverged
        else ("did not diverge")
    )
    return w.result(
        ok,
        f"without clipping: {where}; with clipping: {w('clipped steps', share, '.0%')} of "
        f"the steps clipped, mean loss of the last {RECENT_STEPS} steps "
        f"{w('loss', loss, '.3f')} (a fifth of chance: {w('chance / 5', 0.2 * chance, '.3f')}), "
        f"and at rho(W_hh) = {w('rho', rho, '.3g')} the gradient grows back through time: "
        f"{RATIO} = {w('ratio', r, '.2g')} (> 1)",
    )


def _learns(preset, s) -> ClaimResult:
    (run,) = preset_runs(preset, s)
    w, chance = _Words(), s.chance_loss
    loss, r = recent_loss(run.history), gradient_ratio(run.trace)
    return w.result(
        loss < 0.25 * chance and 0.1 < r < 10,
        f"mean loss of the last {RECENT_STEPS} steps {w('loss', loss, '.3f')} (a quarter of "
        f"chance: {w('chance / 4', 0.25 * chance, '.3f')}); {RATIO} = {w('ratio', r, '.2g')} "
        "(between 0.1 and 10)",
    )


def mean_gate(trace, gate: str) -> float:
    """The mean of a gate over units and t for probe sequence 0, layer 0: the mean of the gate
    panel's heatmap."""
    return float(trace.layer(0).gates[gate][0].mean())


def _lstm_memory(preset, s) -> ClaimResult:
    (run,) = preset_runs(preset, s)
    w, chance = _Words(), s.chance_loss
    f_mean, r = mean_gate(run.trace, "f"), gradient_ratio(run.trace)
    loss = recent_loss(run.history)
    ok = f_mean > 0.8 and r > 1e-3 and loss < 0.25 * chance
    return w.result(
        ok,
        f"mean forget gate {w('mean f', f_mean, '.2f')} (> 0.8); {RATIO} = "
        f"{w('ratio', r, '.1e')} (> 1e-3); mean loss of the last {RECENT_STEPS} steps "
        f"{w('loss', loss, '.3f')} (a quarter of chance: {w('chance / 4', 0.25 * chance, '.3f')})",
    )


def update_gate_means(trace) -> tuple[float, float]:
    """The GRU's update gate z of probe sequence 0, layer 0, averaged over units: its mean over
    the unmarked and over the marked timesteps of the adding problem."""
    z = trace.layer(0).gates["z"][0].mean(-1)  # (T,)
    marked = trace.x_raw[0, :, 1] > 0.5  # (T,) the marker row of the input
    return float(z[~marked].mean()), float(z[marked].mean())


def _gru_update_gate(preset, s) -> ClaimResult:
    (run,) = preset_runs(preset, s)
    w = _Words()
    z_skip, z_marked = update_gate_means(run.trace)
    return w.result(
        z_skip - z_marked > 0.1,
        f"update gate z (keep the state): {w('z unmarked', z_skip, '.2f')} on unmarked inputs, "
        f"{w('z marked', z_marked, '.2f')} where a value is marked",
    )


def _forget_bias(preset, s) -> ClaimResult:
    zero, one = preset_runs(preset, s)
    w = _Words()
    r0, r1 = gradient_ratio(zero.trace), gradient_ratio(one.trace)
    # Only the first run's gates are drawn (the Gate activations panel): only its mean is quoted.
    f0, f1 = mean_gate(zero.trace, "f"), mean_gate(one.trace, "f")
    ok = r1 > 1e3 * r0 and f1 - f0 > 0.15
    return w.result(
        ok,
        f"{RATIO}: bias 0 {w('ratio: ' + zero.label, r0, '.1e')} (the curve falls "
        f"{w('decades: ' + zero.label, -np.log10(r0), '.0f')} orders of magnitude), bias 1 "
        f"{w('ratio: ' + one.label, r1, '.1e')} (> 1000x); mean forget gate of the bias-0 "
        f"run {w('mean f: ' + zero.label, f0, '.2f')}",
    )


def _charlm(preset, s) -> ClaimResult:
    (run,) = preset_runs(preset, s)
    w = _Words()
    first, last = float(np.mean(run.history.loss[:20])), recent_loss(run.history)
    return w.result(
        last < first - 1.0,
        f"mean loss of the first 20 steps {w('first loss', first, '.2f')}, of the last "
        f"{RECENT_STEPS} {w('loss', last, '.2f')} nats per character",
    )


def _side_by_side(preset, s) -> ClaimResult:
    runs = preset_runs(preset, s)
    w, chance = _Words(), s.chance_loss
    losses = [recent_loss(r.history) for r in runs]
    ratios = [gradient_ratio(r.trace) for r in runs]
    rnn, lstm, gru = losses
    ok = rnn > 0.75 * chance and lstm < 0.25 * chance and gru < 0.25 * chance
    ok = ok and ratios[0] < 1e-3 * min(ratios[1:])
    loss_words = ", ".join(
        f"{r.label} {w('loss: ' + r.label, v, '.3f')}" for r, v in zip(runs, losses, strict=True)
    )
    ratio_words = ", ".join(
        f"{r.label} {w('ratio: ' + r.label, v, '.1e')}" for r, v in zip(runs, ratios, strict=True)
    )
    return w.result(
        ok,
        f"mean loss of the last {RECENT_STEPS} steps: {loss_words} (chance "
        f"{w('chance', chance, '.3f')}); {RATIO}: {ratio_words}",
    )


def _composing(preset, s) -> ClaimResult:
    w = _Words()
    (cold, cold_text), (hot, hot_text) = s.extras["samples"]
    (n_cold, leap_cold), (n_hot, leap_hot) = (
        pitch_range_and_leap(t) for t in (cold_text, hot_text)
    )
    return w.result(
        n_hot > n_cold and leap_hot > leap_cold,
        f"composed at temperature {cold:g}: {w('cold pitches', n_cold, 'd')} pitches, "
        f"{w('cold leap', leap_cold, '.1f')} semitones a step on average; at {hot:g}: "
        f"{w('hot pitches', n_hot, 'd')} pitches, {w('hot leap', leap_hot, '.1f')} "
        "semitones a step",
    )


def _order_matters(preset, s) -> ClaimResult:
    runs, w = preset_runs(preset, s), _Words()
    words, truth = sentence(runs[0].trace), label(runs[0].trace)
    parts, turns = [], []
    for r in runs:
        p = positive_evidence(r.trace)
        turn, t = largest_turn(p)
        turns.append((turn, p[-1]))
        parts.append(
            f"{r.label}: P(positive) moves most, by {w('turn: ' + r.label, turn, '.2f')}, at "
            f"'{words[t]}' and ends at {w('end: ' + r.label, p[-1], '.2f')}"
        )
    (turn, end), (blind_turn, _) = turns[0], turns[1]
    right = (end > 0.5) == (truth == "positive")
    return w.result(
        right and turn > 0.5 and blind_turn < turn,
        f"probe sentence '{' '.join(words)}' ({truth}). " + "; ".join(parts),
    )


def _why_bidirectional(preset, s) -> ClaimResult:
    runs, w = preset_runs(preset, s), _Words()
    words = sentence(runs[0].trace)
    t = ambiguous_word(runs[0].trace)
    if t is None:
        return w.result(False, f"probe sentence '{' '.join(words)}' has no word to decide")
    p = [tag_probability(r.trace, t) for r in runs]
    tag = runs[0].trace.meta["output_vocab"][int(runs[0].trace.y[0, t])]
    quoted = ", ".join(
        f"{r.label} {w('p: ' + r.label, v, '.2f')}" for r, v in zip(runs, p, strict=True)
    )
    return w.result(
        p[0] >= 0.9 and p[1] <= 0.8,
        f"in '{' '.join(words)}', '{words[t]}' is {tag} because of '{words[t + 1]}' after it; "
        f"the probability of its right tag: {quoted}",
    )


CLAIMS: dict[str, Callable[[object, object], ClaimResult]] = {
    "vanishing": _vanishing,
    "exploding": _exploding,
    "learns": _learns,
    "lstm_memory": _lstm_memory,
    "gru_update_gate": _gru_update_gate,
    "forget_bias": _forget_bias,
    "charlm": _charlm,
    "side_by_side": _side_by_side,
    "composing": _composing,
    "order_matters": _order_matters,
    "why_bidirectional": _why_bidirectional,
}


def check_claim(preset, snapshot) -> ClaimResult:
    """Measure the preset's promise on the snapshot its figures show (`preset_snapshot`, or
    the app's at the end of the preset's training): every number quoted is one drawn."""
    return CLAIMS[preset.claim](preset, snapshot)


# ---------------------------------------------------------------------------- encoder-decoder


def long_half(curve: RunCurve) -> tuple[int, float]:
    """The first length of the longer half of the curve's lengths and the mean exact match
    over that half (the right half of the Bottleneck panel's curve)."""
    half = len(curve.lengths) // 2
    return curve.lengths[half], float(np.mean(curve.exact[half:]))


def _bottleneck(preset, s) -> ClaimResult:
    w = _Words()
    curves = s.extras.get(BOTTLENECK)
    if curves is None or not curves.done:
        return w.result(False, "the bottleneck curve is not measured yet (the Bottleneck panel)")
    bare, attended = curves.runs  # without attention first: the preset's order
    lo, hi = bare.lengths[0], bare.lengths[-1]
    # in the order of the text: each quote is written where it is measured
    text = (
        f"held-out exact match from input length {w('shortest', lo, 'd')} to "
        f"{w('longest', hi, 'd')}: "
    )
    text += "; ".join(
        f"{r.label} {w('short: ' + r.label, r.at(lo), '.2f')} → "
        f"{w('long: ' + r.label, r.at(hi), '.2f')}"
        for r in curves.runs
    )
    start, bare_long = long_half(bare)
    attended_long = long_half(attended)[1]
    text += (
        f"; mean over the lengths from {w('half from', start, 'd')} on: {bare.label} "
        f"{w('long mean: ' + bare.label, bare_long, '.2f')}, {attended.label} "
        f"{w('long mean: ' + attended.label, attended_long, '.2f')}"
    )
    below = [n for n, e in zip(bare.lengths, bare.exact, strict=True) if e < 0.5]
    if below:
        length = w("below half", below[0], "d")
        text += f"; {bare.label} first falls below one half at length {length}"
    ok = bare.at(lo) >= 0.9 and bare_long <= 0.5 * bare.at(lo) and attended_long >= bare_long + 0.3
    return w.result(ok, text)


def mirrored_alignment(trace) -> tuple[int, int, float]:
    """Reverse: over every probe sequence's decoder steps (the Attention panel's heatmaps, one
    per sequence; the <eos> row aside), how many put their largest weight on the mirrored
    input position (output step t of n reads input n-1-t), of how many, and the mean weight
    there."""
    hits = total = 0
    weights = []
    for b in range(trace.attn.shape[0]):
        columns = np.flatnonzero(trace.tokens_in[b] != PAD)  # the input, without padding
        n = len(columns)
        a = np.asarray(trace.attn[b, :n][:, columns], dtype=np.float64)  # (n, n)
        mirrored = np.arange(n)[::-1]
        hits += int((a.argmax(-1) == mirrored).sum())
        total += n
        weights.extend(a[np.arange(n), mirrored])
    return hits, total, float(np.mean(weights))


def _attention_aligns(preset, s) -> ClaimResult:
    (run,) = preset_runs(preset, s)
    w = _Words()
    if getattr(run.trace, "attn", None) is None:
        return w.result(False, "this run has no attention to align")
    hits, total, weight = mirrored_alignment(run.trace)
    return w.result(
        hits >= 0.9 * total,
        f"the largest attention weight of {w('mirrored', hits, 'd')} of the "
        f"{w('decoder steps', total, 'd')} decoder steps of the probe sequences (<eos> aside) "
        f"sits on the mirrored input position, with a mean weight there of "
        f"{w('mirrored weight', weight, '.2f')}",
    )


CLAIMS.update(bottleneck=_bottleneck, attention_aligns=_attention_aligns)


def final_reach(run) -> float:
    """The memory reach of layer 0 at the run's last recording (the Memory reach panel's
    last point; its legend's "now"), at the default fraction."""
    return memory_reach(layer_profile(run.trace, run.trace.layer(0)), REACH_FRACTION)


def _where_gradient(preset, s) -> ClaimResult:
    runs, w = preset_runs(preset, s), _Words()
    reach = [final_reach(r) for r in runs]
    rnn, gru = reach[0], reach[-1]
    words = ", ".join(
        f"{r.label} {w('reach: ' + r.label, v, '.0f')}" for r, v in zip(runs, reach, strict=True)
    )
    return w.result(
        gru >= 3 * max(rnn, 1),
        f"memory reach (the largest j − t with ‖∂L_j/∂h_t‖ ≥ {REACH_FRACTION:.0%} of the near "
        f"field): {words} steps; the GRU's at least 3× the RNN's",
    )


CLAIMS["where_gradient"] = _where_gradient
