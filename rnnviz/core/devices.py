"""The devices rnnviz runs models on: which this machine has, the one a config names, and the
one a model is on."""

from __future__ import annotations

import torch
from torch import nn


def available_devices() -> list[str]:
    """The devices this machine can really train on, best first."""
    out = []
    if torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return [*out, "cpu"]


def resolve_device(name: str) -> str:
    """'auto' -> the best available device; an unavailable one is a ConfigError."""
    from rnnviz.core.config import ConfigError  # not at the top: config imports the tasks,
    # whose models' helpers import this module

    devices = available_devices()
    if name == "auto":
        return devices[0]
    if name not in devices:
        raise ConfigError(
            f"device {name!r} is not available here (available: {', '.join(devices)})"
        )
    return name


def device_of(model) -> torch.device:
    """Where `model`'s inputs must go: the device of its parameters (the CPU for a model
    without any, or a stand-in that is no nn.Module)."""
    first = next(model.parameters(), None) if isinstance(model, nn.Module) else None
    return torch.device("cpu") if first is None else first.device
