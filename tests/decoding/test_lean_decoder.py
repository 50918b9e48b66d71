"""The lean decoder computes what transformers' decoder computes, and rolls back."""

import numpy as np
import pytest
import torch
from window_helpers import decode_window

from specwhisper.decoding.drafters.model_draft import draft_frames
from specwhisper.decoding.drafters.self_int8 import quantized_decoder
from specwhisper.decoding.kv_decoder import (
    CachedDecoder,
    cross_key_values,
    encode,
    encode_window,
)
from specwhisper.decoding.lean_decoder import LeanDecoder
from specwhisper.features import log_mel
from specwhisper.hardware import native_bf16
from specwhisper.models import weight_int8

TOKENS = [440, 1029, 257, 1500, 13, 286, 50, 9]


def _prompt(bundle):
    special = bundle.special
    languages = [special.languages["en"], special.transcribe] if bundle.multilingual else []
    return [special.sot, *languages, special.no_timestamps]


def _audio(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.1 * np.sin(2 * np.pi * 440 * t) * np.sin(2 * np.pi * 3 * t)).astype(np.float32)


@pytest.mark.parametrize("name", ["tiny_en", "same_vocab_pair"])
def test_lean_logits_equal_transformers_logits(name, request):
    bundle = request.getfixturevalue(name)
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    with torch.inference_mode():
        encoder_out = encode(bundle.model, log_mel(_audio(), bundle))
        sequence = _prompt(bundle) + TOKENS
        reference = CachedDecoder(bundle.model, encoder_out).forward(sequence)
        lean = LeanDecoder(bundle.model, encoder_out)
        # Several tokens at once, then one at a time: both mask paths.
        split = len(sequence) - 3
        logits = torch.cat(
            [lean.forward(sequence[:split])] + [lean.forward([token]) for token in sequence[split:]]
        )
    assert logits.shape == reference.shape
    assert (logits - reference).abs().max().item() < 1e-4
    assert logits.argmax(-1).tolist() == reference.argmax(-1).tolist()


def test_crop_rolls_back_to_an_earlier_position(tiny_en):
    with torch.inference_mode():
        encoder_out = encode(tiny_en.model, log_mel(_audio(), tiny_en))
        sequence = _prompt(tiny_en) + TOKENS
        decoder = LeanDecoder(tiny_en.model, encoder_out)
        fresh = decoder.forward(sequence)
        decoder.crop(4)
        assert decoder.length == 4
        decoder.forward([999, 998])  # a rejected continuation overwrites the buffers
        decoder.crop(4)
        again = decoder.forward(sequence[4:])
    assert torch.allclose(again, fresh[4:], atol=1e-5)


def _teacher_forced(base, audio):
    """A real clip's encoder output, main cross keys/values, prompt and main transcript."""
    prompt = _prompt(base)
    encoder_out = encode(base.model, log_mel(audio, base))
    cross_kv = cross_key_values(base.model, encoder_out)
    transcript = decode_window(base, audio, without_timestamps=True)[0].tokens
    return encoder_out, cross_kv, prompt, transcript


def test_shared_cross_kv_from_the_fp32_main(base, dev_set, dev_audio):
    """The int8 self-draft reading the main model's fp32 cross keys/values predicts the main
    model's own greedy transcript of a real clip (it is the same decoder, quantized)."""
    with torch.inference_mode():
        encoder_out, cross_kv, prompt, transcript = _teacher_forced(base, dev_audio[dev_set[0].id])
        sequence = prompt + transcript
        main_logits = CachedDecoder(base.model, encoder_out, cross_kv=cross_kv).forward(sequence)
        # Prefilled cross keys/values are exactly what the decoder would compute itself.
        recomputed = CachedDecoder(base.model, encoder_out).forward(sequence)
        assert torch.equal(main_logits, recomputed)
        draft = LeanDecoder(quantized_decoder(base), cross_kv=cross_kv)
        draft_logits = draft.forward(sequence)
    text_rows = slice(len(prompt) - 1, len(sequence) - 1)  # rows that predict the transcript
    predicted = draft_logits[text_rows].argmax(-1).tolist()
    agree = sum(p == t for p, t in zip(predicted, transcript, strict=True)) / len(transcript)
    assert agree >= 0.8, agree


def test_encode_window_of_the_whole_window_is_the_encoder(tiny_en):
    with torch.inference_mode():
        features = log_mel(_audio(), tiny_en)
        full = encode(tiny_en.model, features)
        assert torch.equal(encode_window(tiny_en.model, features, 3000), full)
        short = encode_window(tiny_en.model, features, 401)  # rounded down to an even count
    assert short.shape == (1, 200, full.shape[-1])


def test_draft_frames_cover_the_speech_and_a_margin():
    assert draft_frames(16000 * 3, 3000) == 400  # 3 s of speech + 1 s
    assert draft_frames(16000 * 3 + 1, 3000) == 401  # a partial frame counts
    assert draft_frames(16000 * 30, 3000) == 3000  # never past the window


@pytest.mark.skipif(not weight_int8.available(), reason="int8 kernel unavailable")
def test_weight_only_draft_is_closer_to_the_main_model_than_dynamic_int8(base, dev_set, dev_audio):
    """Why the self-draft is weight-only where it can be: on a real clip, teacher-forced on the
    main model's transcript, its logits stray less from the fp32 model's than those of
    PyTorch's dynamic int8 (7-bit activations), and it disagrees on no more tokens."""
    with torch.inference_mode():
        _, cross_kv, prompt, transcript = _teacher_forced(base, dev_audio[dev_set[1].id])
        sequence = prompt + transcript
        rows = slice(len(prompt) - 1, len(sequence) - 1)
        main = LeanDecoder(base.model, cross_kv=cross_kv).forward(sequence)[rows]
        drafts = {
            kind: LeanDecoder(quantized_decoder(base, weight_only=kind), cross_kv=cross_kv).forward(
                sequence
            )[rows]
            for kind in (True, False)
        }
    deviation = {kind: (logits - main).abs().mean().item() for kind, logits in drafts.items()}
    misses = {
        kind: (logits.argmax(-1) != main.argmax(-1)).sum().item() for kind, logits in drafts.items()
    }
    assert deviation[True] < deviation[False], deviation
    assert misses[True] <= misses[False], misses


@pytest.mark.slow
@pytest.mark.skipif(not weight_int8.available(), reason="int8 kernel unavailable")
def test_native_draft_steps_predict_as_the_pytorch_draft_does(base, dev_set, dev_audio):
    """The self-draft's one-token steps run natively (``native_step``): on a real clip,
    teacher-forced one token at a time on the main model's transcript, they pick the main
    model's token at least as often as the same draft on PyTorch's operators (less one)."""
    cross_dtype = torch.bfloat16 if native_bf16() else torch.float32
    with torch.inference_mode():
        _, cross_kv, prompt, transcript = _teacher_forced(base, dev_audio[dev_set[2].id])
        sequence = prompt + transcript
        main = LeanDecoder(base.model, cross_kv=cross_kv).forward(sequence)
        main_top = main[len(prompt) - 1 : -1].argmax(-1)
        hits = {}
        for native in (True, False):
            draft = LeanDecoder(
                quantized_decoder(base),
                cross_kv=cross_kv,
                cross_dtype=cross_dtype,
                cache_dtype=cross_dtype,  # as the self-draft decodes
            )
            draft._native_checked = not native  # True: as if native_step did not apply
            logits = [draft.forward(prompt)[-1:]]
            logits += [draft.forward([token]) for token in transcript[:-1]]
            assert (draft._native is not None) == native
            hits[native] = (torch.cat(logits).argmax(-1) == main_top).sum().item()
    assert hits[True] >= hits[False] - 1, hits
    assert hits[True] >= 0.9 * len(transcript), (hits, len(transcript))
