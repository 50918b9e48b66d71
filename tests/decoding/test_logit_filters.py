"""The logit filters equal transformers' processors, row by row and in blocks (fast, no model)."""

import random

import pytest
import torch
from transformers import GenerationConfig
from transformers.generation.logits_process import WhisperTimeStampLogitsProcessor

from specwhisper.decoding.logit_filters import (
    LogitFilters,
    SuppressBlank,
    SuppressTokens,
    TimestampRules,
)

VOCAB = 400
EOT = 100
NO_TIMESTAMPS = 149
BEGIN = 150  # first timestamp: 250 timestamps, 0.00 .. 4.98 s
MAX_INITIAL = 50


def _rules() -> TimestampRules:
    return TimestampRules(BEGIN, EOT, NO_TIMESTAMPS, MAX_INITIAL)


def _transformers_processor(prompt_length: int) -> WhisperTimeStampLogitsProcessor:
    config = GenerationConfig(
        eos_token_id=EOT,
        no_timestamps_token_id=NO_TIMESTAMPS,
        max_initial_timestamp_index=MAX_INITIAL,
    )
    return WhisperTimeStampLogitsProcessor(config, begin_index=prompt_length)


def _random_sequence(rng: random.Random, length: int) -> list[int]:
    """Sampled tokens that mix text, single timestamps and pairs, in increasing time."""
    tokens, stamp = [], BEGIN
    while len(tokens) < length:
        kind = rng.random()
        if kind < 0.6:
            tokens.append(rng.randrange(0, EOT))
        else:
            stamp = min(VOCAB - 1, stamp + rng.randrange(0, 30))
            tokens += [stamp] * (1 if kind < 0.8 else 2)
    return tokens[:length]


@pytest.mark.parametrize("seed", range(40))
def test_timestamp_rules_equal_transformers_for_every_prefix(seed):
    rng = random.Random(seed)
    torch.manual_seed(seed)
    prompt = [7, 8, 9]
    sampled = _random_sequence(rng, rng.randrange(0, 12))
    # Scale so that the timestamp-mass rule goes both ways across seeds.
    logits = torch.randn(len(sampled) + 1, VOCAB) * rng.choice([0.5, 2.0, 6.0])
    logits[:, BEGIN:] += rng.choice([-3.0, 0.0, 3.0])
    ours = LogitFilters([_rules()]).apply(logits, sampled)
    processor = _transformers_processor(len(prompt))
    for row in range(len(sampled) + 1):
        ids = torch.tensor([prompt + sampled[:row]])
        expected = processor(ids, logits[row : row + 1].clone())[0]
        assert torch.equal(ours[row].isinf(), expected.isinf()), (seed, row)
        assert torch.equal(ours[row][~ours[row].isinf()], expected[~expected.isinf()])


def test_a_block_equals_its_rows_one_by_one():
    torch.manual_seed(0)
    rng = random.Random(1)
    filters = LogitFilters([SuppressBlank([5, EOT]), SuppressTokens([3, 4, 200], VOCAB), _rules()])
    for _ in range(20):
        sampled = _random_sequence(rng, 10)
        logits = torch.randn(6, VOCAB) * 3
        block = filters.apply(logits, sampled)
        for row in range(6):
            prefix = sampled[: len(sampled) - 5 + row]
            alone = filters.apply(logits[row : row + 1], prefix)[0]
            assert torch.equal(block[row], alone)


def test_first_position_rules():
    filters = LogitFilters([SuppressBlank([5, EOT]), _rules()])
    logits = torch.zeros(1, VOCAB)
    first = filters.apply(logits, [])[0]
    allowed = (~first.isinf()).nonzero().flatten().tolist()
    # Only a timestamp no later than max_initial_timestamp may open the window.
    assert allowed == list(range(BEGIN, BEGIN + MAX_INITIAL + 1))


def test_pairs_and_monotonic_time():
    rules = LogitFilters([_rules()])
    logits = torch.zeros(1, VOCAB)
    logits[:, :BEGIN] = 10.0  # text likelier than all timestamps: the mass rule stays out
    # After <|t|> text: a timestamp later than t, text, or end-of-text.
    after_text = rules.apply(logits, [BEGIN + 10, 42])[0]
    assert after_text[BEGIN + 10].item() == float("-inf")
    assert after_text[BEGIN + 11].item() == 0 and after_text[EOT].item() == 10
    # After a closing timestamp: another timestamp (not earlier) or end-of-text, no text.
    closed = rules.apply(logits, [BEGIN + 10, 42, BEGIN + 20])[0]
    assert closed[42].item() == float("-inf") and closed[EOT].item() != float("-inf")
    assert closed[BEGIN + 19].item() == float("-inf") and closed[BEGIN + 20].item() == 0
    # After a pair: text or end-of-text, no timestamp.
    paired = rules.apply(logits, [BEGIN + 10, 42, BEGIN + 20, BEGIN + 20])[0]
    assert paired[BEGIN:].isinf().all() and paired[42].item() == 10
