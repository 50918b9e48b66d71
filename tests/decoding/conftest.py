"""Random-weight tiny Whisper pairs for fast exactness tests.

- same vocabulary: the draft is the main model with noise on every weight, so it agrees often
  but not always;
- cross vocabulary, mimicking large-v3 + tiny: a 128-mel main with base's tokenizer and an
  80-mel draft with tiny.en's tokenizer. The draft's decoder is the main decoder with its
  vocabulary re-indexed through token text, and cross-attention is damped in both, so the pair
  agrees on many tokens and disagrees where tokenizations differ.
"""

from __future__ import annotations

import copy

import pytest
import torch
from stand_in_models import tiny_whisper_config
from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

from specwhisper.models.loading import WhisperBundle, special_tokens
from specwhisper.models.registry import ModelSource

MAX_POSITIONS = 64


def _random_model(like: WhisperBundle, n_mels: int, seed: int) -> WhisperForConditionalGeneration:
    torch.manual_seed(seed)
    config = tiny_whisper_config(
        like.model.config.vocab_size,
        n_mels,
        MAX_POSITIONS,
        start=like.special.sot,
        end=like.special.eot,
    )
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():  # sharper logits than the default init: fewer exact ties
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.mul_(3.0)
    # An untied output layer: with tied random embeddings a token's own embedding dominates
    # its logits, and the model repeats its input token whatever the audio.
    model.proj_out.weight = torch.nn.Parameter(0.5 * torch.randn_like(model.proj_out.weight))
    return model


def _bundle(name: str, model, like: WhisperBundle) -> WhisperBundle:
    generation = copy.deepcopy(like.generation_config)
    generation.max_length = MAX_POSITIONS
    model.generation_config = generation  # generate() (the reference) reads the model's own
    return WhisperBundle(
        name=name,
        source=ModelSource(name, "folder", f"<random {name}>", "random test model"),
        model=model,
        tokenizer=like.tokenizer,
        feature_extractor=WhisperFeatureExtractor(feature_size=model.config.num_mel_bins),
        generation_config=generation,
        special=special_tokens(like.tokenizer, generation),
    )


def _scale_cross_attention(model, factor: float) -> None:
    with torch.no_grad():
        for layer in model.model.decoder.layers:
            layer.encoder_attn.out_proj.weight.mul_(factor)


@pytest.fixture(scope="session")
def same_vocab_pair(base):
    main = _random_model(base, 80, seed=1)
    _scale_cross_attention(main, 4.0)  # make the output depend on the audio
    draft = copy.deepcopy(main)
    torch.manual_seed(2)
    with torch.no_grad():
        for parameter in draft.parameters():
            parameter.add_(0.08 * parameter.std() * torch.randn_like(parameter))
    return _bundle("rand-main", main, base), _bundle("rand-draft", draft, base)


@pytest.fixture(scope="session")
def cross_vocab_pair(base, tiny_en):
    main = _random_model(base, 128, seed=3)
    _scale_cross_attention(main, 0.3)  # the draft hears other features
    draft = _random_model(tiny_en, 80, seed=4)
    draft.model.decoder.load_state_dict(
        {k: v for k, v in main.model.decoder.state_dict().items() if "embed_tokens" not in k},
        strict=False,
    )
    # Re-index the vocabulary through text: draft token j gets the embedding and output row
    # of the main token with the same text, when there is one.
    # Tokens with no same-text twin get a zero output row in both models, so neither ever
    # prefers them (a real pair mostly speaks words both vocabularies know).
    main_vocab = base.tokenizer.get_vocab()
    draft_vocab = tiny_en.tokenizer.get_vocab()
    with torch.no_grad():
        for text, i in main_vocab.items():
            if text not in draft_vocab:
                main.proj_out.weight[i] = 0.0
        for text, j in draft_vocab.items():
            i = main_vocab.get(text)
            if i is None:
                draft.proj_out.weight[j] = 0.0
            else:
                draft.model.decoder.embed_tokens.weight[j] = main.model.decoder.embed_tokens.weight[
                    i
                ]
                draft.proj_out.weight[j] = main.proj_out.weight[i]
    # A multilingual-style prompt for the draft too (as tiny is, drafting for large-v3), so both
    # decoders start from the same prompt text at the same positions.
    draft_bundle = _bundle("rand-draft-80", draft, tiny_en)
    ids = tiny_en.tokenizer.convert_tokens_to_ids
    generation = draft_bundle.generation_config
    generation.lang_to_id = {"<|en|>": ids("<|en|>")}
    generation.task_to_id = {"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")}
    draft_bundle.special = special_tokens(tiny_en.tokenizer, generation)
    return _bundle("rand-main-128", main, base), draft_bundle
