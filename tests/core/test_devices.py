"""Which devices a run may use, and where a model's inputs go."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnviz.core.config import ConfigError
from rnnviz.core.devices import available_devices, device_of, resolve_device


def test_a_models_inputs_go_to_the_device_of_its_parameters():
    assert device_of(nn.Linear(2, 2).to("meta")) == torch.device("meta")
    assert device_of(nn.Linear(2, 2)) == torch.device("cpu")
    assert device_of(nn.ReLU()) == torch.device("cpu")  # no parameters
    assert device_of(object()) == torch.device("cpu")  # a stand-in for a model


def test_auto_is_the_best_device_here_and_a_missing_one_is_a_config_error():
    devices = available_devices()
    assert devices[-1] == "cpu" and resolve_device("auto") == devices[0]
    assert resolve_device("cpu") == "cpu"
    missing = [d for d in ("cuda", "mps") if d not in devices]
    if not missing:
        pytest.skip("this machine has every device")
    with pytest.raises(ConfigError, match="not available here"):
        resolve_device(missing[0])
