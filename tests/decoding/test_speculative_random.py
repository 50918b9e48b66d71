"""Speculative == greedy on random tiny models, for many inputs and every draft length."""

import numpy as np
import pytest
import torch

from specwhisper.decoding.draft_length import DraftLengthChooser
from specwhisper.decoding.drafters import UtteranceContext
from specwhisper.decoding.drafters.cross_vocab import CrossVocabDrafter
from specwhisper.decoding.drafters.model_draft import ModelDrafter
from specwhisper.decoding.greedy import greedy_decode
from specwhisper.decoding.kv_decoder import encode
from specwhisper.decoding.options import SpecStats
from specwhisper.decoding.prompt import build_prompt
from specwhisper.features import log_mel

INPUTS = 5
NEW_TOKENS = 30


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


def _run(main, drafter, audio, k):
    encoder_out = encode(main.model, log_mel(audio, main))
    prompt = build_prompt(main, "en", "transcribe")
    plain = greedy_decode(main, encoder_out, prompt, SpecStats(), max_new_tokens=NEW_TOKENS)
    stats = SpecStats()
    context = UtteranceContext(audio, encoder_out, prompt, "en", "transcribe")
    drafter.begin(context)
    chooser = DraftLengthChooser(8, fixed=k)
    fast = greedy_decode(main, encoder_out, prompt, stats, drafter, chooser, NEW_TOKENS)
    reference = main.model.generate(
        log_mel(audio, main),
        language="en",
        task="transcribe",
        max_new_tokens=NEW_TOKENS,
        do_sample=False,
    )[0].tolist()
    return plain, fast, reference, stats


@pytest.mark.parametrize("pair", ["same_vocab_pair", "cross_vocab_pair"])
def test_speculative_equals_greedy_for_every_k(pair, request):
    main, draft = request.getfixturevalue(pair)
    if pair == "same_vocab_pair":
        # The full window: this draft agrees with its main because both hear the same padded
        # window; an untrained encoder says nothing useful about a cut one. The default
        # speech-only window is tested on real weights (tests/decoding/test_speculative_real.py).
        drafter = ModelDrafter(draft, speech_window=False)
    else:
        drafter = CrossVocabDrafter(draft, main)
    drafted = accepted = 0
    with torch.inference_mode():
        for audio in _inputs():
            for k in range(1, 9):
                plain, fast, reference, stats = _run(main, drafter, audio, k)
                assert fast == plain, (pair, k)
                eot = main.special.eot
                expected = reference[: reference.index(eot)] if eot in reference else reference
                assert plain == expected, (pair, k)
                drafted += stats.tokens_drafted
                accepted += stats.tokens_accepted
    # The pairs are built to agree often but not always: both paths of verify() are exercised.
    assert 0.05 < accepted / drafted < 0.98, accepted / drafted


def test_drafting_for_itself_accepts_everything(same_vocab_pair):
    main, _ = same_vocab_pair
    with torch.inference_mode():
        for audio in _inputs()[:2]:
            drafter = ModelDrafter(main, shares_main_encoder=True)  # as make_drafter picks it
            plain, fast, _, stats = _run(main, drafter, audio, 5)
            assert fast == plain
            assert stats.tokens_accepted == stats.tokens_drafted > 0
