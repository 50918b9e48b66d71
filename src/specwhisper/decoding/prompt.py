"""The decoder prompt (earlier text, start, language, task, timestamps) and language detection."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..models.loading import WhisperBundle
from .kv_decoder import CrossKV
from .lean_decoder import LeanDecoder


@dataclass(frozen=True)
class Prompt:
    """What the decoder is fed before it samples: ``[<|startofprev|> earlier...]`` then the
    start-of-transcript sequence."""

    tokens: list[int]
    sot_index: int  # position of <|startoftranscript|>: its logits give P(no speech)


def max_previous_tokens(bundle: WhisperBundle) -> int:
    """Earlier tokens a prompt keeps: half the decoder's positions minus <|startofprev|> (223)."""
    return bundle.model.config.max_target_positions // 2 - 1


def sot_sequence(
    bundle: WhisperBundle, language: str | None, task: str, timestamps: bool
) -> list[int]:
    """<|startoftranscript|> [language task] [<|notimestamps|>]; ``language`` must already be
    resolved on multilingual models."""
    special = bundle.special
    tokens = [special.sot]
    if bundle.multilingual:
        if language is None:
            raise ValueError("a multilingual prompt needs a language: detect it first")
        tokens += [
            special.languages[language],
            special.translate if task == "translate" else special.transcribe,
        ]
    if not timestamps:
        tokens.append(special.no_timestamps)
    return tokens


def build_prompt(
    bundle: WhisperBundle,
    language: str | None,
    task: str,
    previous: list[int] | None = None,
    timestamps: bool = False,
) -> Prompt:
    """The prompt for one window; ``previous`` are earlier tokens to condition on (the last
    ``max_previous_tokens`` are kept), in ``bundle``'s vocabulary."""
    tokens: list[int] = []
    if previous:
        tokens = [bundle.special.sot_prev, *previous[-max_previous_tokens(bundle) :]]
    sot_index = len(tokens)
    return Prompt(tokens + sot_sequence(bundle, language, task, timestamps), sot_index)


@torch.inference_mode()
def detect_language(
    bundle: WhisperBundle, encoder_out: torch.Tensor | None, cross_kv: CrossKV | None = None
) -> tuple[str, float]:
    """Most likely language code after <|startoftranscript|> and its probability among the
    languages, as Whisper itself decides it. English-only models need no encoder output.
    ``cross_kv``: the main decoder's keys/values of ``encoder_out``, when already made."""
    if not bundle.multilingual:
        return "en", 1.0
    assert encoder_out is not None, "a multilingual model needs the encoder output"
    decoder = LeanDecoder(bundle.model, encoder_out, cross_kv=cross_kv)
    logits = decoder.forward([bundle.special.sot])[-1]
    codes = list(bundle.special.languages)
    ids = torch.tensor([bundle.special.languages[c] for c in codes])
    probs = logits[ids].float().softmax(dim=-1)
    best = int(probs.argmax())
    return codes[best], float(probs[best])
