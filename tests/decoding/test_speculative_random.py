"""Speculative == plain == transformers, window by window, on random tiny models: many inputs,
every draft length, with and without timestamps, with a prompt of earlier text (fast)."""

import numpy as np
import pytest
from window_helpers import decode_window, reference_window

from specwhisper.decoding.drafters.cross_vocab import CrossVocabDrafter
from specwhisper.decoding.drafters.model_draft import ModelDrafter

INPUTS = 5
NEW_TOKENS = 24


def _inputs():
    """Tone mixtures with random pitches, envelopes and lengths: varied log-mels."""
    rng = np.random.default_rng(0)
    clips = []
    for _ in range(INPUTS):
        t = np.arange(16000 * int(rng.integers(1, 8))) / 16000
        envelope = np.abs(np.sin(2 * np.pi * rng.uniform(0.5, 4) * t))
        tones = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(100, 3000, size=4))
        noise = 0.01 * rng.standard_normal(len(t))
        clips.append((0.2 * tones * envelope / 4 + noise).astype(np.float32))
    return clips


def _previous(main, index: int) -> list[int]:
    """Earlier text with timestamps, as a long-form prompt carries it (every other input)."""
    if index % 2:
        return []
    stamp = main.special.no_timestamps + 1
    text = main.tokenizer.encode(" The meeting starts at nine.", add_special_tokens=False)
    return [stamp, *text, stamp + 60, stamp + 60]


def _drafter(pair, main, draft):
    if pair == "same_vocab_pair":
        # The full window: this draft agrees with its main because both hear the same padded
        # window; an untrained encoder says nothing useful about a cut one. The default
        # speech-only window is tested on real weights (tests/decoding/test_speculative_real.py).
        return ModelDrafter(draft, speech_window=False)
    return CrossVocabDrafter(draft, main)


@pytest.mark.parametrize("timestamps", [True, False], ids=["timestamps", "no-timestamps"])
@pytest.mark.parametrize("pair", ["same_vocab_pair", "cross_vocab_pair"])
def test_speculative_equals_plain_and_transformers_for_every_k(pair, timestamps, request):
    main, draft = request.getfixturevalue(pair)
    drafter = _drafter(pair, main, draft)
    options = {"max_new_tokens": NEW_TOKENS, "without_timestamps": not timestamps}
    drafted = accepted = 0
    for index, audio in enumerate(_inputs()):
        previous = _previous(main, index)
        plain, _ = decode_window(main, audio, previous=previous, **options)
        reference = reference_window(main, audio, previous=previous, **options)
        assert plain.tokens == reference, (pair, index)
        if timestamps:
            assert any(t > main.special.no_timestamps for t in plain.tokens)
        # Odd k on one input, even k on the next: every k in 1..8 on half the inputs.
        for k in range(1 + index % 2, 9, 2):
            fast, stats = decode_window(main, audio, drafter, k, previous=previous, **options)
            assert fast.tokens == plain.tokens, (pair, index, k)
            assert fast.sum_logprob == pytest.approx(plain.sum_logprob, abs=1e-3)
            assert fast.no_speech_prob == pytest.approx(plain.no_speech_prob, abs=1e-5)
            drafted += stats.tokens_drafted
            accepted += stats.tokens_accepted
    # The pairs are built to agree sometimes but not always: both paths of verify() run.
    assert 0 < accepted < drafted, (accepted, drafted)


def test_drafting_for_itself_accepts_everything(same_vocab_pair):
    main, _ = same_vocab_pair
    drafter = ModelDrafter(main, shares_main_encoder=True)  # as make_drafter picks it
    for audio in _inputs()[:2]:
        plain, _ = decode_window(main, audio, max_new_tokens=NEW_TOKENS)
        fast, stats = decode_window(main, audio, drafter, 5, max_new_tokens=NEW_TOKENS)
        assert fast.tokens == plain.tokens
        assert stats.tokens_accepted == stats.tokens_drafted > 0
