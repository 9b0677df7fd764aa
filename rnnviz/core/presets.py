"""Lecture presets: one-click scenarios stored as TOML files in resources/presets/.

A preset names a configuration (or several, trained side by side), how many steps it needs
to reach its picture, which panels make its point, a one-paragraph explanation, and a claim:
a number the explanation promises (e.g. ||dL/dh_0|| / ||dL/dh_T|| < 1e-4), checked by
`check_claim` in the tests and the preset benchmark.

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

from rnnviz.core.analysis import vector_norms
from rnnviz.core.config import Config, ConfigError


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


# ------------------------------------------------------------------------------ claims


@dataclass(frozen=True)
class ClaimResult:
    ok: bool
    text: str  # the promised number, measured, in words


def _grad_ratio(trace) -> float:
    """||dL/dh_0|| / ||dL/dh_{T-1}|| for sequence 0 of the first layer (forward)."""
    g = vector_norms(trace.layer(0).grad_h[0])
    return float(g[0] / g[-1]) if g[-1] > 0 else float("nan")


def _recent_loss(trainer, n: int = 50) -> float:
    h = trainer.history.view()
    return float(np.mean(h.loss[-n:])) if len(h) else float("nan")


def _vanishing(trainers, traces) -> ClaimResult:
    r, loss = _grad_ratio(traces[0]), _recent_loss(trainers[0])
    chance = trainers[0].task.chance_loss
    ok = r < 1e-4 and 0.8 * chance <= loss <= 1.5 * chance
    return ClaimResult(
        ok, f"||dL/dh_0|| / ||dL/dh_T|| = {r:.1e} (< 1e-4); loss {loss:.3f} vs chance {chance:.3f}"
    )


def _exploding(trainers, traces) -> ClaimResult:
    free, clipped = trainers
    chance = clipped.task.chance_loss
    ok = free.diverged and not clipped.diverged and _recent_loss(clipped) < 0.2 * chance
    return ClaimResult(
        ok,
        f"without clipping: {'diverged' if free.diverged else 'did not diverge'}"
        f" at step {free.step_count + 1}; with clipping: loss "
        f"{_recent_loss(clipped):.3f} (a fifth of chance: {0.2 * chance:.3f})",
    )


def _learns(trainers, traces) -> ClaimResult:
    loss, chance = _recent_loss(trainers[0]), trainers[0].task.chance_loss
    r = _grad_ratio(traces[0])
    return ClaimResult(
        loss < 0.25 * chance and 0.1 < r < 10,
        f"loss {loss:.3f} (a quarter of chance: {0.25 * chance:.3f}); "
        f"||dL/dh_0|| / ||dL/dh_T|| = {r:.2g} (between 0.1 and 10)",
    )


def _lstm_memory(trainers, traces) -> ClaimResult:
    lt = traces[0].layer(0)
    f_mean = float(lt.gates["f"][0].mean())
    r, loss = _grad_ratio(traces[0]), _recent_loss(trainers[0])
    chance = trainers[0].task.chance_loss
    ok = f_mean > 0.8 and r > 1e-3 and loss < 0.25 * chance
    return ClaimResult(
        ok,
        f"mean forget gate {f_mean:.2f} (> 0.8); ||dL/dh_0|| / ||dL/dh_T|| = "
        f"{r:.1e} (> 1e-3); loss {loss:.3f} (a quarter of chance: {0.25 * chance:.3f})",
    )


def _gru_update_gate(trainers, traces) -> ClaimResult:
    tr = traces[0]
    z = tr.layer(0).gates["z"][0].mean(-1)  # (T,) mean over units
    marked = tr.x_raw[0, :, 1] > 0.5
    z_skip, z_marked = float(z[~marked].mean()), float(z[marked].mean())
    ok = z_skip - z_marked > 0.1
    return ClaimResult(
        ok,
        f"update gate z (keep the state): {z_skip:.2f} on unmarked inputs, "
        f"{z_marked:.2f} where a value is marked",
    )


def _forget_bias(trainers, traces) -> ClaimResult:
    r0, r1 = _grad_ratio(traces[0]), _grad_ratio(traces[1])
    f0, f1 = (float(tr.layer(0).gates["f"][0].mean()) for tr in traces)
    ok = r1 > 1e3 * r0 and f1 - f0 > 0.15
    return ClaimResult(
        ok,
        f"||dL/dh_0|| / ||dL/dh_T||: bias 0 {r0:.1e}, bias 1 {r1:.1e} (> 1000x); "
        f"mean forget gate {f0:.2f} vs {f1:.2f}",
    )


def _charlm(trainers, traces) -> ClaimResult:
    h = trainers[0].history.view()
    first, last = float(np.mean(h.loss[:20])), _recent_loss(trainers[0])
    return ClaimResult(last < first - 1.0, f"loss {first:.2f} -> {last:.2f} nats per character")


def _side_by_side(trainers, traces) -> ClaimResult:
    rnn, lstm, gru = (_recent_loss(t) for t in trainers)
    chance = trainers[0].task.chance_loss
    ratios = [_grad_ratio(tr) for tr in traces]
    ok = rnn > 0.75 * chance and lstm < 0.25 * chance and gru < 0.25 * chance
    ok = ok and ratios[0] < 1e-3 * min(ratios[1:])
    return ClaimResult(
        ok,
        f"loss RNN {rnn:.3f}, LSTM {lstm:.3f}, GRU {gru:.3f} (chance {chance:.3f}); "
        "||dL/dh_0|| / ||dL/dh_T||: " + ", ".join(f"{r:.1e}" for r in ratios),
    )


CLAIMS: dict[str, Callable[[Sequence, Sequence], ClaimResult]] = {
    "vanishing": _vanishing,
    "exploding": _exploding,
    "learns": _learns,
    "lstm_memory": _lstm_memory,
    "gru_update_gate": _gru_update_gate,
    "forget_bias": _forget_bias,
    "charlm": _charlm,
    "side_by_side": _side_by_side,
}


def check_claim(preset: Preset, trainers: Sequence, traces: Sequence) -> ClaimResult:
    """Measure the preset's promise on trained `trainers` (one per run) and their traces."""
    return CLAIMS[preset.claim](trainers, traces)


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
                trainer.record(jacobians=False)  # for the probe history only
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
    comparisons, every run in `runs`. Char-LM presets carry a text sample in `extras`."""
    from rnnviz.core.train import RunView

    main = trainers[0]
    runs = ()
    if preset.compares:
        runs = tuple(
            RunView(r.label, t.step_count, t.diverged, t.history.view(), tr)
            for r, t, tr in zip(preset.runs, trainers, traces, strict=True)
        )
    extras = {}
    if main.task.spec.uses_text:
        extras = {
            "sample": main.sample_text(300, 0.8),
            "temperature": 0.8,
            "sample_step": main.step_count,
        }
    return main.snapshot(state="paused", trace=traces[0], steps_per_s=0.0, extras=extras, runs=runs)
