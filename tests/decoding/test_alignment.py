"""Dynamic time warping, the median filter and the alignment pass (fast: no real weights)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from stand_in_models import tiny_whisper_config
from transformers import WhisperForConditionalGeneration

from specwhisper.decoding.alignment import _attend, alignment_heads
from specwhisper.decoding.dtw import dtw, median_filter
from specwhisper.decoding.kv_decoder import cross_key_values, encode
from specwhisper.decoding.lean_decoder import LeanDecoder


def reference_dtw(cost: np.ndarray) -> list[tuple[int, int]]:
    """The textbook cell-by-cell recurrence with openai-whisper's tie rule."""
    rows, cols = cost.shape
    total = np.full((rows + 1, cols + 1), np.inf)
    total[0, 0] = 0
    step = np.full((rows + 1, cols + 1), 2)
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            diagonal, up, left = total[i - 1, j - 1], total[i - 1, j], total[i, j - 1]
            if diagonal < up and diagonal < left:
                best, step[i, j] = diagonal, 0
            elif up < diagonal and up < left:
                best, step[i, j] = up, 1
            else:
                best, step[i, j] = left, 2
            total[i, j] = cost[i - 1, j - 1] + best
    path, i, j = [], rows, cols
    while i > 0 or j > 0:
        path.append((i - 1, j - 1))
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        elif step[i, j] == 0:
            i, j = i - 1, j - 1
        elif step[i, j] == 1:
            i -= 1
        else:
            j -= 1
    return path[::-1]


def test_dtw_follows_a_staircase():
    # Three tokens spoken over frames 0-3, 4-5 and 6-9: cheap cells on that staircase.
    cost = np.ones((3, 10))
    for token, frames in enumerate((range(0, 4), range(4, 6), range(6, 10))):
        cost[token, list(frames)] = -1.0
    rows, cols = dtw(cost)
    assert rows.tolist() == [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
    assert cols.tolist() == list(range(10))
    first = np.concatenate([[True], np.diff(rows) > 0])
    assert cols[first].tolist() == [0, 4, 6]  # when each token starts


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (5, 5), (12, 40), (40, 12)])
def test_dtw_equals_the_cell_by_cell_recurrence(shape):
    generator = np.random.default_rng(sum(shape))
    for _ in range(5):
        cost = generator.normal(size=shape)
        rows, cols = dtw(cost)
        assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == reference_dtw(cost)
        assert rows[0] == cols[0] == 0 and (rows[-1], cols[-1]) == (shape[0] - 1, shape[1] - 1)
        assert set(np.diff(rows)) <= {0, 1} and set(np.diff(cols)) <= {0, 1}
    ties = np.zeros(shape)  # every path costs the same: the tie rule decides
    rows, cols = dtw(ties)
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == reference_dtw(ties)


def test_dtw_refuses_an_empty_matrix():
    with pytest.raises(ValueError, match="non-empty"):
        dtw(np.zeros((0, 4)))


def test_median_filter_mirrors_the_ends():
    values = np.array([[5.0, 1.0, 9.0, 2.0, 8.0, 3.0]])
    # Width 3, ends mirrored: [1, 5, 1, 9, 2, 8, 3, 8] -> medians of each run of three.
    assert median_filter(values, 3).tolist() == [[1.0, 5.0, 2.0, 8.0, 3.0, 8.0]]
    assert median_filter(values[:, :2], 7).tolist() == values[:, :2].tolist()  # too short
    with pytest.raises(ValueError, match="odd"):
        median_filter(values, 4)


def test_alignment_pass_logits_equal_the_lean_decoder():
    """The pass that keeps the attention scores computes the same decoder as ``LeanDecoder``
    (a small random Whisper: no real weights needed)."""
    torch.manual_seed(0)
    config = tiny_whisper_config(120, 80, 32, start=50, end=2, pad=0)
    model = WhisperForConditionalGeneration(config).eval()
    encoder_out = encode(model, torch.randn(1, 80, 3000))
    cross_kv = cross_key_values(model, encoder_out)
    tokens = [50, 51, 3, 4, 5, 6, 49]
    bundle = SimpleNamespace(generation_config=SimpleNamespace(), model=model)
    heads = alignment_heads(bundle)  # none configured: every head of the upper half
    assert heads == [(1, 0), (1, 1), (1, 2), (1, 3)]
    logits, scores = _attend(model, cross_kv, tokens, heads)
    expected = LeanDecoder(model, cross_kv=cross_kv).forward(tokens)
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)
    assert scores.shape == (len(heads), len(tokens), 1500)
    bundle.generation_config.alignment_heads = [[0, 3], [1, 1]]
    assert alignment_heads(bundle) == [(0, 3), (1, 1)]
