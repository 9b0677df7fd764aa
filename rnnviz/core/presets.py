"""Lecture presets: one-click scenarios stored as TOML files in resources/presets/.

A preset names a configuration (or several, trained side by side), how many steps it needs
to reach its picture, which panels make its point, a one-paragraph explanation, and a claim:
the numbers the explanation promises (e.g. ||dL/dh_0|| / ||dL/dh_{T-1}|| < 1e-4), measured by
core/claims.py on the arrays the preset's figures draw.

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

import tomllib

from rnnviz.core.claims import CLAIMS
from rnnviz.core.config import Config, ConfigError
from rnnviz.core.protocol import RunView
from rnnviz.core.seq2seq.bottleneck import BottleneckWatch


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
    if c.model_kind == "seq2seq":
        parts += [f"decoder {c.decoder_cell}"] if c.decoder_cell else []
        parts += [f"attention {c.attention}"] + ([f"beam {c.beam}"] if c.beam > 1 else [])
    parts += [f"{c.task} T={c.seq_len}", f"batch {c.batch}", f"{c.optimizer} lr {c.lr:g}"]
    parts += [f"momentum {c.momentum:g}"] if c.optimizer == "sgd" else []
    parts += [f"weight decay {c.weight_decay:g}"] if c.weight_decay else []
    parts += [f"clip {c.clip}" + ("" if c.clip == "none" else f" at {c.clip_threshold:g}")]
    parts += [f"seed {c.seed}"]
    return ", ".join(parts)


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
    its samples in `extras` (core/sampling.sample_extras); presets that show the Bottleneck
    panel, every run's bottleneck curve (as the panel's Measure asks the app's session)."""
    main = trainers[0]
    runs = ()
    if preset.compares:
        runs = tuple(
            RunView(r.label, t.step_count, t.diverged, t.history.view(), tr, t.probe_log.view())
            for r, t, tr in zip(preset.runs, trainers, traces, strict=True)
        )
    from rnnviz.core.sampling import sample_extras  # torch, as training

    extras = sample_extras(main, 0.8, 300) if main.task.spec.generates else {}
    if "bottleneck" in preset.panels:
        watch = BottleneckWatch([(r.label, t) for r, t in zip(preset.runs, trainers, strict=True)])
        watch.ask()
        while watch.busy:
            extras = watch.step(extras)
    return main.snapshot(state="paused", trace=traces[0], steps_per_s=0.0, extras=extras, runs=runs)
