"""Multilingual base on non-English speech: language detection, translation, exactness.

The clips are espeak-ng German and French (tests/data/multilingual). espeak's French is hard for
base: auto-detection picks another language and decoding loops to the 448-position limit, which
exercises the max-length path of the speculative loop on real weights.
"""

import json
from pathlib import Path

import pytest

from specwhisper.transcribe import Transcriber

DATA = Path(__file__).parent / "data" / "multilingual"


@pytest.fixture(scope="module")
def transcriber():
    return Transcriber("base", draft="self-int8")


def _clip(name: str) -> Path:
    manifest = [json.loads(line) for line in (DATA / "manifest.jsonl").read_text().splitlines()]
    assert any(record["audio"] == name for record in manifest)
    return DATA / name


def test_german_is_detected_transcribed_and_translated(transcriber):
    clip = _clip("de_001.wav")
    german = transcriber.transcribe(clip)
    assert german.language == "de"
    assert "Berlin" in german.text and "Morgen" in german.text
    english = transcriber.transcribe(clip, task="translate")
    assert english.language == "de"
    assert "morning" in english.text.lower()
    for task, result in (("transcribe", german), ("translate", english)):
        plain = transcriber.transcribe(clip, task=task, use_speculative=False)
        assert result.tokens == plain.tokens, task


@pytest.mark.parametrize("language", [None, "fr"])
def test_french_speculative_equals_plain_even_when_decoding_loops(transcriber, language):
    clip = _clip("fr_001.wav")
    fast = transcriber.transcribe(clip, language=language, task="translate")
    plain = transcriber.transcribe(clip, language=language, task="translate", use_speculative=False)
    assert fast.tokens == plain.tokens
    assert fast.language == plain.language
