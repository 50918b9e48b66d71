"""The product's promise on real weights and real audio: speculative tokens == greedy tokens.

For every drafter on the bundled models and every dev clip, in fp32, the speculative output
equals both our plain greedy loop and transformers' own ``generate()``.
"""

import pytest
import torch

from specwhisper.decoding.beam import generate_tokens
from specwhisper.decoding.drafters import UtteranceContext, make_drafter
from specwhisper.decoding.greedy import greedy_decode
from specwhisper.decoding.kv_decoder import cross_key_values, encode
from specwhisper.decoding.options import SpecStats
from specwhisper.decoding.prompt import build_prompt
from specwhisper.features import log_mel

# drafter name -> (smallest acceptable overall acceptance rate). The bounds are loose floors
# that only catch a broken drafter (e.g. misaligned remapping), not tuned figures.
DRAFTERS = {"self-int8": 0.7, "base": 0.999, "tiny.en": 0.3}


@pytest.fixture(scope="module")
def references(base, dev_set, dev_audio):
    """Per clip: (features, encoder output, generate() tokens, plain greedy tokens)."""
    prompt = build_prompt(base, "en", "transcribe")
    table = {}
    with torch.inference_mode():
        for utterance in dev_set:
            features = log_mel(dev_audio[utterance.id], base)
            encoder_out = encode(base.model, features)
            expected = generate_tokens(base, features, "en", "transcribe")
            plain = greedy_decode(base, encoder_out, prompt, SpecStats())
            table[utterance.id] = (encoder_out, expected, plain)
    return table


def test_plain_greedy_equals_generate(references):
    for clip, (_, expected, plain) in references.items():
        assert plain == expected, clip


@pytest.mark.parametrize("draft", list(DRAFTERS))
def test_speculative_equals_greedy_on_every_dev_clip(draft, base, dev_set, dev_audio, references):
    drafter = make_drafter(draft, base)
    prompt = build_prompt(base, "en", "transcribe")
    drafted = accepted = 0
    with torch.inference_mode():
        for utterance in dev_set:
            encoder_out, expected, _ = references[utterance.id]
            stats = SpecStats()
            # As the Transcriber does it: the main cross-attention keys/values are computed
            # once and shared with the drafter (the plain reference computed its own).
            cross_kv = cross_key_values(base.model, encoder_out)
            context = UtteranceContext(
                audio=dev_audio[utterance.id],
                main_encoder_out=encoder_out,
                main_prompt=prompt,
                language="en",
                task="transcribe",
                main_cross_kv=cross_kv,
            )
            drafter.begin(context)
            tokens = greedy_decode(base, encoder_out, prompt, stats, drafter, cross_kv=cross_kv)
            assert tokens == expected, (draft, utterance.id)
            drafted += stats.tokens_drafted
            accepted += stats.tokens_accepted
    assert accepted / drafted >= DRAFTERS[draft], accepted / drafted
