"""Random-weight stand-ins for hub Whispers (large-v3, tiny), saved as real transformers folders,
for tests of where weights are found offline: a models folder or the Hugging Face cache.

Their shapes are tiny (d_model 64, 2 layers) but their interface is the real one: large-v3's
128 mel bins, a multilingual vocabulary and generation config borrowed from the bundled ``base``
(large-v3's own has one token more; the loading path does not care). Their text is junk.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

from specwhisper.models.loading import WhisperBundle

# Real Whispers have 448 decoder positions; the decoder reads up to 224 new tokens a window.
MAX_POSITIONS = 448
# A made-up commit hash for the cache layout (refs/main names the snapshot folder).
SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"


def tiny_whisper_config(
    vocab_size: int,
    n_mels: int,
    max_positions: int,
    *,
    start: int,
    end: int,
    pad: int | None = None,
    **extra,
) -> WhisperConfig:
    """The small Whisper shape every random-weight test uses (d_model 64, 2 + 2 layers, 4 heads,
    1500 encoder positions as real Whispers): ``start`` is the decoder's first token, ``end``
    its end of text (also its padding unless ``pad``)."""
    return WhisperConfig(
        vocab_size=vocab_size,
        num_mel_bins=n_mels,
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_source_positions=1500,
        max_target_positions=max_positions,
        bos_token_id=end,
        eos_token_id=end,
        pad_token_id=end if pad is None else pad,
        decoder_start_token_id=start,
        **extra,
    )


def save_stand_in(
    folder: Path,
    like: WhisperBundle,
    n_mels: int,
    seed: int,
    draft_for: Path | None = None,
) -> Path:
    """A random Whisper with ``like``'s tokenizer and generation config, saved in ``folder``
    with everything ``load_model`` reads (model, tokenizer, feature extractor, generation).

    ``draft_for``: a stand-in folder whose weights this one copies with noise (all but the
    first convolution, which reads a different number of mel bins), so that it drafts for that
    model with some tokens accepted and some rejected, as a real small Whisper would."""
    torch.manual_seed(seed)
    config = tiny_whisper_config(
        like.model.config.vocab_size,
        n_mels,
        MAX_POSITIONS,
        start=like.special.sot,
        end=like.special.eot,
        # Untied output layer: with tied random embeddings each token predicts itself again.
        tie_word_embeddings=False,
    )
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():  # sharper logits than the default init: fewer exact ties
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.mul_(3.0)
        model.proj_out.weight.normal_(0.0, 0.5)
        if draft_for is not None:
            main = WhisperForConditionalGeneration.from_pretrained(draft_for).state_dict()
            own = model.state_dict()
            for name, value in main.items():
                if own[name].shape == value.shape:
                    own[name].copy_(value + 0.05 * value.std() * torch.randn_like(value))
    generation = copy.deepcopy(like.generation_config)
    generation.alignment_heads = [[1, 0]]  # base's heads name layers these 2 layers lack
    model.generation_config = generation
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    like.tokenizer.save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=n_mels).save_pretrained(folder)
    return folder


def put_in_hub_cache(cache: Path, hub_id: str, folder: Path) -> Path:
    """Copy ``folder`` into ``cache`` as huggingface_hub lays a download out
    (models--org--name/snapshots/<hash>/..., refs/main); returns the snapshot folder."""
    repo = cache / f"models--{hub_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / SNAPSHOT
    shutil.copytree(folder, snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(SNAPSHOT)
    return snapshot


def isolate_offline(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make this process a machine with an empty Hugging Face cache under ``root``, no models
    folder and the hub switched off (whatever the developer's own machine holds); the cache."""
    cache = root / "hf-home" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(cache.parent))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    # huggingface_hub reads the variable when it is imported; this process imported it already.
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("SPECWHISPER_MODELS_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache
