"""The decoder prompt (start, language, task, no-timestamps) and language detection."""

from __future__ import annotations

import torch

from ..models.loading import WhisperBundle
from .kv_decoder import CachedDecoder


def build_prompt(bundle: WhisperBundle, language: str | None, task: str) -> list[int]:
    """Forced prompt tokens; ``language`` must already be resolved on multilingual models."""
    special = bundle.special
    if not bundle.multilingual:
        return [special.sot, special.no_timestamps]
    if language is None:
        raise ValueError("a multilingual prompt needs a language: detect it first")
    task_token = special.translate if task == "translate" else special.transcribe
    return [special.sot, special.languages[language], task_token, special.no_timestamps]


@torch.inference_mode()
def detect_language(bundle: WhisperBundle, encoder_out: torch.Tensor | None) -> str:
    """Most likely language code after <|startoftranscript|>, as Whisper itself decides it.
    English-only models need no encoder output (it may be None)."""
    if not bundle.multilingual:
        return "en"
    assert encoder_out is not None, "a multilingual model needs the encoder output"
    logits = CachedDecoder(bundle.model, encoder_out).forward([bundle.special.sot])[-1]
    codes = list(bundle.special.languages)
    ids = torch.tensor([bundle.special.languages[c] for c in codes])
    return codes[int(logits[ids].argmax())]
