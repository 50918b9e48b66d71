"""Multilingual base on non-English speech: language detection, translation, exactness.

The clips are espeak-ng German and French (tests/data/multilingual). espeak's French is hard for
base: auto-detection picks another language and greedy decoding loops to the 224-token limit
of a window, which exercises the max-length path of the speculative loop on real weights.
"""

import json
from pathlib import Path

import pytest

from specwhisper.transcribe import Transcriber

pytestmark = pytest.mark.slow
GREEDY = {"temperature": 0.0}  # no sampled fallback: speculative and plain compare exactly
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
    german = transcriber.transcribe(clip, **GREEDY)
    assert german.language == "de"
    assert "Berlin" in german.text and "Morgen" in german.text
    english = transcriber.transcribe(clip, task="translate", **GREEDY)
    assert english.language == "de"
    assert "morning" in english.text.lower()
    for task, result in (("transcribe", german), ("translate", english)):
        plain = transcriber.transcribe(clip, task=task, use_speculative=False, **GREEDY)
        assert result.tokens == plain.tokens, task


@pytest.mark.parametrize("language", [None, "fr"])
def test_french_speculative_equals_plain_even_when_decoding_loops(transcriber, language):
    clip = _clip("fr_001.wav")
    options = {"language": language, "task": "translate", **GREEDY}
    fast = transcriber.transcribe(clip, **options)
    plain = transcriber.transcribe(clip, use_speculative=False, **options)
    assert fast.tokens == plain.tokens
    assert fast.language == plain.language
