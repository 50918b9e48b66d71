"""The native attention computes each token alone: what PyTorch's attention gives (to float32
rounding), and bit for bit the same whatever else shares the call."""

import pytest
import torch
import torch.nn.functional as F

from specwhisper import kernels

pytestmark = pytest.mark.skipif(
    not kernels.available(), reason=f"native kernels unavailable: {kernels.unavailable_reason()}"
)
ROWS, HEADS, SLOTS, HEAD_DIM = 3, 4, 150, 64


def _inputs(dtype=torch.float32):
    generator = torch.Generator().manual_seed(0)
    keys = torch.randn(ROWS, HEADS, SLOTS, HEAD_DIM, generator=generator).to(dtype)
    values = torch.randn(ROWS, HEADS, SLOTS, HEAD_DIM, generator=generator).to(dtype)
    query = torch.randn(6, HEADS * HEAD_DIM, generator=generator) * HEAD_DIM**-0.5
    return query, keys, values


def _reference(query, keys, values, slots, positions):
    out = []
    for token, row in enumerate(slots):
        end = positions[token] + 1 if positions is not None else SLOTS
        q = query[token].view(1, HEADS, 1, HEAD_DIM)
        k, v = keys[row : row + 1, :, :end].float(), values[row : row + 1, :, :end].float()
        out.append(F.scaled_dot_product_attention(q, k, v, scale=1.0).reshape(1, -1))
    return torch.cat(out)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("positions", [None, [0, 5, 6, 149, 17, 18]])
def test_each_token_alone_whatever_shares_the_call(dtype, positions):
    query, keys, values = _inputs(dtype)
    slots = [0, 1, 1, 2, 0, 0]
    together = kernels.attend(query, keys, values, slots, positions)
    expected = _reference(query, keys, values, slots, positions)
    assert (together - expected).abs().max() < 1e-5
    for token, row in enumerate(slots):
        place = None if positions is None else [positions[token]]
        alone = kernels.attend(query[token : token + 1].clone(), keys, values, [row], place)
        assert torch.equal(alone, together[token : token + 1])


def test_bad_shapes_are_refused():
    query, keys, values = _inputs()
    with pytest.raises(ValueError, match="one row"):
        kernels.attend(query, keys, values, [0, 1])  # fewer rows than tokens
    with pytest.raises(ValueError, match="contiguous"):
        kernels.attend(query, keys[:, :, ::2], values[:, :, ::2], [0] * 6)  # strided
    with pytest.raises(ValueError, match="unsupported"):
        kernels.attend(query, keys, values, [0, 1, 2, 3, 0, 0])  # row 3 does not exist
    with pytest.raises(ValueError, match="unsupported"):
        kernels.attend(query, keys, values, [0] * 6, [0, 1, 2, 3, 4, SLOTS])  # past the slots
