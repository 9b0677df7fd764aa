"""The recorder's numpy tanh: the true value, in place where asked, torch where it must."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.core import elementwise


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tanh_is_within_two_ulp_of_the_exact_value_everywhere(dtype):
    mag = torch.logspace(-40 if dtype == torch.float32 else -300, 2.5, 4001, dtype=torch.float64)
    x = torch.cat([-mag, torch.zeros(1, dtype=torch.float64), mag]).to(dtype)
    exact = torch.tanh(x.double())  # float64 of the rounded inputs
    got = elementwise.tanh(x)
    ulp = torch.finfo(dtype).eps * exact.abs().clamp_min(torch.finfo(dtype).tiny)
    assert got.dtype == dtype
    assert ((got.double() - exact).abs() <= 2 * ulp).all()
    special = torch.tensor([float("inf"), -float("inf"), float("nan")], dtype=dtype)
    assert elementwise.tanh(special)[:2].tolist() == [1.0, -1.0]
    assert elementwise.tanh(special)[2].isnan()


def test_tanh_in_place_on_a_view_changes_the_view_alone():
    a = torch.randn(2, 7, 12)
    before = a.clone()
    view = a[..., 4:8]  # strided, as a gate block of the fused gates
    assert elementwise.tanh_(view) is view
    assert torch.allclose(a[..., 4:8], torch.tanh(before[..., 4:8]), rtol=3e-7, atol=0)
    assert torch.equal(a[..., :4], before[..., :4]) and torch.equal(a[..., 8:], before[..., 8:])


def test_a_tensor_that_needs_a_gradient_keeps_it():
    x = torch.linspace(-2, 2, 9, requires_grad=True)
    elementwise.tanh(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh(x.detach().numpy()) ** 2, rtol=1e-6)


def test_a_dtype_numpy_lacks_goes_to_torch():
    x = torch.linspace(-2, 2, 9, dtype=torch.bfloat16)
    assert torch.equal(elementwise.tanh(x), torch.tanh(x))
    assert torch.equal(elementwise.tanh_(x.clone()), torch.tanh(x))
