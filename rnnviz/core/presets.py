"""Lecture presets: one-click scenarios stored as TOML files in resources/presets/.

A preset names a configuration (or several, trained side by side), how many steps it needs
to reach its picture, which panels make its point, a one-paragraph explanation, and a claim:
the numbers the explanation promises (e.g. ||dL/dh_0|| / ||dL/dh_{T-1}|| < 1e-4), measured by
`check_claim` on the arrays the preset's figures draw (the Lesson dock, `rnnviz export`, the
tests and the preset benchmark quote them).

File format (one file per preset, the file stem is its key):

    title = "Vanishing gradients"
    summary = "One line for the start view's button"
    order = 1                      # position in menus
    steps = 300                    # training steps to the promised picture
    panels = ["gradients", "factors", "gradient_history", "training"]
    claim = "vanishing"            # name of a check in CLAIMS
    explanation = "One paragraph (a multi-line TOML string)."
    [config]                       # Config fields; the rest keep their defaults
    cell = "rnn"
    [[runs]]                       # optional: several runs compared, each overriding [config]
    label = "RNN"
    cell = "rnn"
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import tomllib

from rnnviz.core.analysis import spectral_radii, vector_norms
from rnnviz.core.config import Config, ConfigError
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


@dataclass(frozen=True)
class PresetRun:
    label: str
    config: Config


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    summary: str  # one line: what the lesson shows (the start view's button)
    order: int
    explanation: str
    steps: int
    panels: tuple[str, ...]
    claim: str
    runs: tuple[PresetRun, ...]  # the first run is the one the panels show in detail

    @property
    def config(self) -> Config:
        return self.runs[0].config

    @property
    def compares(self) -> bool:
        return len(self.runs) > 1


def _parse(key: str, text: str) -> Preset:
    try:
        data = tomllib.loads(text)
        base = dict(data.get("config", {}))
        runs_data = data.get("runs") or [{"label": data["title"]}]
        runs = []
        for r in runs_data:
            r = dict(r)
            label = r.pop("label")
            runs.append(PresetRun(label, Config.from_dict({**base, **r})))
        if data["claim"] not in CLAIMS:
            raise ConfigError(f"unknown claim {data['claim']!r}")
        return Preset(
            key=key,
            title=data["title"],
            summary=data["summary"],
            order=int(data.get("order", 99)),
            explanation=" ".join(data["explanation"].split()),
            steps=int(data["steps"]),
            panels=tuple(data["panels"]),
            claim=data["claim"],
            runs=tuple(runs),
        )
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"preset {key!r} is malformed: {e}") from None


def list_presets() -> list[Preset]:
    """Every bundled preset, in menu order."""
    folder = resources.files("rnnviz.resources.presets")
    presets = [
        _parse(f.name.removesuffix(".toml"), f.read_text("utf-8"))
        for f in folder.iterdir()
        if f.name.endswith(".toml")
    ]
    return sorted(presets, key=lambda p: (p.order, p.key))


def load_preset(key: str) -> Preset:
    presets = {p.key: p for p in list_presets()}
    if key not in presets:
        raise ConfigError(f"unknown preset {key!r} (known: {', '.join(presets)})")
    return presets[key]


def run_settings(config: Config) -> str:
    """One run's settings in a line: every one that shapes what its figures show."""
    c = config
    parts = [f"{c.cell} ({c.nonlinearity})" if c.cell == "rnn" else c.cell, f"hidden {c.hidden}"]
    parts += [f"{c.layers} layers"] if c.layers > 1 else []
    parts += ["bidirectional"] if c.bidirectional else []
    parts += [f"encoder {c.encoder}"] if c.encoder != "auto" else []
    parts += [f"embedding {c.embed_dim}"] if c.task == "charlm" or c.encoder != "auto" else []
    parts += [f"init {c.init}"] if c.init != "default" else []
    parts += [f"spectral radius {c.spectral_radius:g}"] if c.spectral_radius else []
    parts += [f"forget bias {c.forget_bias:g}"] if c.forget_bias is not None else []
    parts += [f"{c.task} T={c.seq_len}", f"batch {c.batch}", f"{c.optimizer} lr {c.lr:g}"]
    parts += [f"momentum {c.momentum:g}"] if c.optimizer == "sgd" else []
    parts += [f"clip {c.clip}" + ("" if c.clip == "none" else f" at {c.clip_threshold:g}")]
    parts += [f"seed {c.seed}"]
    return ", ".join(parts)


# ------------------------------------------------------------------------------ claims

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


def preset_runs(preset: Preset, snapshot) -> tuple:
    """The snapshot's runs (RunViews) in the preset's order; a single run as one RunView."""
    if snapshot.runs:
        return tuple(snapshot.runs)
    diverged = snapshot.state == "diverged"
    label = preset.runs[0].label
    return (RunView(label, snapshot.step, diverged, snapshot.history, snapshot.trace),)


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


CLAIMS: dict[str, Callable[[Preset, object], ClaimResult]] = {
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


def check_claim(preset: Preset, snapshot) -> ClaimResult:
    """Measure the preset's promise on the snapshot its figures show (`preset_snapshot`, or
    the app's at the end of the preset's training): every number quoted is one drawn."""
    return CLAIMS[preset.claim](preset, snapshot)


PROBE_ONLY = "skipped: a recording for the probe history"


def train_preset(
    preset: Preset,
    steps: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    recordings: int = 50,
    **overrides,
) -> tuple[list, list]:
    """Train every run of `preset` headless for `steps` (default: the preset's).

    `overrides` change every run's Config (tests shrink hidden sizes this way). `progress`
    is called with (steps done, steps in all) over all runs. The probe batch is recorded
    about `recordings` times along the way, so the probe history (gradient norms over t and
    W_hh spectral radii by training step) has a course to show. Returns (trainers, traces):
    the trainers (a diverged run stops early, as in the app) and a fresh trace of each.
    """
    from rnnviz.core.train import Trainer  # torch is imported only when training

    steps = preset.steps if steps is None else steps
    total = steps * len(preset.runs)
    every = max(1, steps // max(1, recordings))
    trainers, traces = [], []
    for k, run in enumerate(preset.runs):
        trainer = Trainer(run.config.replace(**overrides) if overrides else run.config)
        for i in range(steps):
            if i % every == 0:
                # for the probe history only (radii, gradient norms): no connectivity
                trainer.record(jacobians=False, skip_connectivity=PROBE_ONLY)
            if not trainer.train_step():
                break
            if progress is not None and (i + 1) % 10 == 0:
                progress(k * steps + i + 1, total)
        trainers.append(trainer)
        traces.append(trainer.record(jacobian_sequences=1))
    if progress is not None:
        progress(total, total)
    return trainers, traces


def preset_snapshot(preset: Preset, trainers: Sequence, traces: Sequence):
    """The Snapshot the app would show after `train_preset`: the first run in detail and, for
    comparisons, every run in `runs`. Presets of a task that generates (char LM, music) carry
    its samples in `extras` (core/sampling.sample_extras)."""
    main = trainers[0]
    runs = ()
    if preset.compares:
        runs = tuple(
            RunView(r.label, t.step_count, t.diverged, t.history.view(), tr)
            for r, t, tr in zip(preset.runs, trainers, traces, strict=True)
        )
    from rnnviz.core.sampling import sample_extras  # torch, as training

    extras = sample_extras(main, 0.8, 300) if main.task.spec.generates else {}
    return main.snapshot(state="paused", trace=traces[0], steps_per_s=0.0, extras=extras, runs=runs)
