"""Weight-only int8 layers: int8 weights, near-float activations; the self-draft uses them."""

import pytest
import torch
from torch import nn

from specwhisper.decoding.drafters import self_int8
from specwhisper.models import weight_int8
from specwhisper.models.weight_int8 import KERNEL_MAX_ROWS, WeightOnlyInt8Linear

needs_kernel = pytest.mark.skipif(not weight_int8.available(), reason="int8 kernel unavailable")


def _linear(inputs=512, outputs=300, bias=True, seed=0):
    torch.manual_seed(seed)
    linear = nn.Linear(inputs, outputs, bias=bias)
    nn.init.normal_(linear.weight, std=0.05)
    return linear


@needs_kernel
@pytest.mark.parametrize("count", [1, 3, KERNEL_MAX_ROWS, KERNEL_MAX_ROWS + 1, 40])
@pytest.mark.parametrize("bias", [True, False])
def test_close_to_the_float_layer(count, bias):
    """The int8 rounding of each weight is the only real loss: ~0.4 % of a channel's largest
    weight, on the kernel's path (few rows) and on the dense bfloat16 one (many) alike."""
    linear = _linear(bias=bias)
    layer = WeightOnlyInt8Linear(linear)
    x = torch.randn(2, count, 512)
    with torch.inference_mode():
        expected = linear(x)
        got = layer(x)
    assert got.shape == expected.shape and got.dtype == torch.float32
    error = (got - expected).abs().max() / expected.abs().max()
    assert error < 0.02, error


@needs_kernel
def test_the_kernel_path_is_the_dequantized_product():
    linear = _linear()
    layer = WeightOnlyInt8Linear(linear)
    dequantized = layer.weight.float() * layer.scale[:, None]
    x = torch.randn(1, 512)
    with torch.inference_mode():
        expected = x @ dequantized.T + layer.bias
        assert torch.allclose(layer(x), expected, atol=1e-4, rtol=1e-4)


@needs_kernel
def test_every_linear_is_replaced():
    module = nn.Sequential(
        _linear(512, 320), nn.ReLU(), nn.Sequential(_linear(320, 64)), _linear(64, 32)
    )
    weight_int8.weight_only_int8(module)
    kinds = [type(m) for m in module.modules() if isinstance(m, (nn.Linear, WeightOnlyInt8Linear))]
    assert kinds == [WeightOnlyInt8Linear] * 3


@needs_kernel
def test_a_width_the_kernel_cannot_take_is_refused():
    with pytest.raises(ValueError, match="multiple of 32"):
        WeightOnlyInt8Linear(nn.Linear(40, 8))


@pytest.mark.slow
def test_the_self_draft_falls_back_to_dynamic_int8(monkeypatch, tiny_en):
    """Without the kernel (no AVX512-VNNI, no compiler) the draft is PyTorch's dynamic int8."""
    monkeypatch.setattr(weight_int8, "available", lambda: False)
    draft = self_int8.quantized_decoder(tiny_en)
    assert isinstance(draft.proj_out, torch.ao.nn.quantized.dynamic.Linear)
    assert not any(isinstance(m, WeightOnlyInt8Linear) for m in draft.modules())


@pytest.mark.slow
@needs_kernel
def test_the_self_draft_is_weight_only_where_the_kernel_runs(tiny_en):
    draft = self_int8.quantized_decoder(tiny_en)
    assert isinstance(draft.proj_out, WeightOnlyInt8Linear)
    assert not any(type(m) is nn.Linear for m in draft.modules())
