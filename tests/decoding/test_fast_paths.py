"""The CPU fast paths of a decoder step compute what the plain PyTorch calls compute (fast, no
model): the packed output layer, direct linear calls, and the NumPy token choice."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from specwhisper.decoding.kv_decoder import packed_output_layer, project_to_vocab
from specwhisper.decoding.lean_decoder import direct_call
from specwhisper.decoding.logit_filters import argmax_rows, top_margins

NEG_INF = float("-inf")


@pytest.mark.parametrize("rows", [1, 2, 5, 9, 40])
def test_packed_output_layer_equals_linear(rows):
    torch.manual_seed(rows)
    weight = torch.randn(3001, 64)
    hidden = torch.randn(rows, 64)
    with torch.inference_mode():
        logits = project_to_vocab(weight, hidden)
    assert logits.shape == (rows, 3001)
    torch.testing.assert_close(logits, F.linear(hidden, weight), rtol=1e-5, atol=1e-4)
    # Packed once per weight, then reused.
    assert packed_output_layer(weight) is packed_output_layer(weight)


def test_direct_calls_equal_the_modules():
    torch.manual_seed(0)
    linear = nn.Linear(64, 96)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(
            nn.Sequential(nn.Linear(64, 96)), {nn.Linear}, dtype=torch.qint8
        )[0]
    x = torch.randn(1, 3, 64)
    with torch.inference_mode():
        assert torch.equal(direct_call(linear)(x), linear(x))
        assert torch.equal(direct_call(quantized)(x), quantized(x))

    class Custom(nn.Linear):  # anything else keeps its own forward
        def forward(self, x):
            return super().forward(x) + 1

    custom = Custom(64, 96)
    assert direct_call(custom) is custom


def test_argmax_and_margins_equal_torch():
    torch.manual_seed(1)
    logits = torch.randn(7, 5000) * 4
    logits[0, 100:4000] = NEG_INF  # masked columns, as the logit rules leave them
    logits[1, :] = NEG_INF
    logits[1, 42] = 3.0  # a single allowed token: the margin is infinite
    logits[2, 10] = logits[2, 20] = logits[2].max() + 1  # a tie: the first one wins, margin 0
    before = logits.clone()
    choices = argmax_rows(logits)
    assert choices == logits.argmax(dim=-1).tolist()
    top = logits.topk(2, dim=-1).values
    expected = (top[:, 0] - top[:, 1]).tolist()
    assert top_margins(logits, choices) == pytest.approx(expected, rel=1e-6)
    assert top_margins(logits, choices)[1] == float("inf")
    assert top_margins(logits, choices)[2] == 0.0
    assert torch.equal(logits, before)  # the rows are left as they were
