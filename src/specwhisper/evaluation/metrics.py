"""WER and CER after Whisper's English text normalizer (transformers' copy of it).

The normalizer lower-cases, drops punctuation and bracketed words, expands contractions and
titles ("Mr." -> "mister"), writes spelled-out numbers as digits ("twenty-five dollars" -> "$25")
and, given Whisper's British->American table, standardises spellings ("colour" -> "color").
transformers ships the normalizer but not that table; it now comes with our dependency
whisper-normalization as ``english.json``. Other copies (hub checkpoints' ``normalizer.json``,
openai-whisper / whisper-normalizer's ``english.json``) are used when that one is missing.
``spelling_mapping()`` uses the first copy found on this machine, or none, and says which.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jiwer
from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

# Points at a normalizer.json / english.json; checked before any other copy.
SPELLING_ENV = "SPECWHISPER_SPELLING_JSON"
# Hub checkpoints that carry Whisper's normalizer.json (all hold the same table).
_HUB_IDS = ("openai/whisper-base", "openai/whisper-tiny", "openai/whisper-large-v3")
# (module, file inside it) of pip packages that ship the table as english.json; the first is
# a dependency (pyproject.toml), the others are fallbacks for an install without it.
_PACKAGE_FILES = (
    ("whisper_normalization", "english.json"),
    ("whisper", "normalizers/english.json"),
    ("whisper_normalizer", "english.json"),
)


@dataclass(frozen=True)
class SpellingSource:
    where: str  # a file path, or "none" when no copy of the table was found
    entries: int


def _candidates() -> list[Path]:
    paths: list[Path] = []
    if os.environ.get(SPELLING_ENV):
        paths.append(Path(os.environ[SPELLING_ENV]))
    for module, relative in _PACKAGE_FILES:
        # find_spec only locates the package: importing openai-whisper would load torch models.
        spec = importlib.util.find_spec(module)
        if spec and spec.submodule_search_locations:
            paths += [Path(p) / relative for p in spec.submodule_search_locations]
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return paths
    for hub_id in _HUB_IDS:
        cached = try_to_load_from_cache(hub_id, "normalizer.json")  # offline: local cache only
        if isinstance(cached, str):
            paths.append(Path(cached))
    return paths


@lru_cache(maxsize=1)
def _spelling() -> tuple[dict[str, str], SpellingSource]:
    for path in _candidates():
        if path.is_file():
            mapping = json.loads(path.read_text(encoding="utf-8"))
            return mapping, SpellingSource(str(path), len(mapping))
    return {}, SpellingSource("none", 0)


def spelling_mapping() -> SpellingSource:
    """Which British->American spelling table the normalizer uses (``none``: spellings kept)."""
    return _spelling()[1]


@lru_cache(maxsize=1)
def _normalizer() -> EnglishTextNormalizer:
    return EnglishTextNormalizer(_spelling()[0])


def normalize(text: str) -> str:
    """Whisper's English normalization: lower case, no punctuation, numbers as digits,
    contractions and titles expanded, spellings standardised, single spaces, no edge spaces."""
    return _normalizer()(text).strip()


def _pairs(references: list[str], hypotheses: list[str]) -> tuple[list[str], list[str]]:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    refs, hyps = [], []
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref = normalize(reference)
        if ref:  # an empty reference has no defined error rate: the pair is left out
            refs.append(ref)
            hyps.append(normalize(hypothesis))
    return refs, hyps


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER: word edits summed over all pairs / reference words summed, after
    normalization (not the mean of per-clip rates, which over-weights short clips)."""
    refs, hyps = _pairs(references, hypotheses)
    return float(jiwer.wer(refs, hyps)) if refs else 0.0


def character_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus CER: character edits / reference characters (spaces count), after normalization."""
    refs, hyps = _pairs(references, hypotheses)
    return float(jiwer.cer(refs, hyps)) if refs else 0.0


@dataclass(frozen=True)
class ErrorCounts:
    """Edits of one pair, so that clips can be summed into corpus rates later."""

    word_edits: int
    words: int  # in the normalized reference
    char_edits: int
    chars: int

    @property
    def wer(self) -> float:
        return self.word_edits / self.words if self.words else 0.0

    @property
    def cer(self) -> float:
        return self.char_edits / self.chars if self.chars else 0.0


def error_counts(reference: str, hypothesis: str) -> ErrorCounts:
    """Word and character edit counts of one clip after normalization."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return ErrorCounts(0, 0, 0, 0)
    words = jiwer.process_words(ref, hyp)
    chars = jiwer.process_characters(ref, hyp)
    return ErrorCounts(
        words.substitutions + words.deletions + words.insertions,
        len(ref.split()),
        chars.substitutions + chars.deletions + chars.insertions,
        len(ref),
    )
