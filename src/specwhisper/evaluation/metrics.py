"""WER and CER after Whisper's English text normalizer (from transformers)."""

from __future__ import annotations

from functools import lru_cache

import jiwer
from transformers.models.whisper.english_normalizer import EnglishTextNormalizer


@lru_cache(maxsize=1)
def _normalizer() -> EnglishTextNormalizer:
    # The British->American spelling table ships with hub checkpoints (normalizer.json), not
    # with the bundled models: spellings are left as they are.
    return EnglishTextNormalizer({})


def normalize(text: str) -> str:
    """Lower case, no punctuation, numbers as digits, contractions expanded, single spaces."""
    return _normalizer()(text)


def _pairs(references: list[str], hypotheses: list[str]) -> tuple[list[str], list[str]]:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    refs, hyps = [], []
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref = normalize(reference)
        if ref:  # an empty reference has no defined error rate: skip the pair
            refs.append(ref)
            hyps.append(normalize(hypothesis))
    return refs, hyps


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER: total word edits / total reference words, after normalization."""
    refs, hyps = _pairs(references, hypotheses)
    return float(jiwer.wer(refs, hyps)) if refs else 0.0


def character_error_rate(references: list[str], hypotheses: list[str]) -> float:
    refs, hyps = _pairs(references, hypotheses)
    return float(jiwer.cer(refs, hyps)) if refs else 0.0
