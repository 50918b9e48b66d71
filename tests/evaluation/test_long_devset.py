"""The committed long-form dev set (scripts/make_longform.py): manifest, audio and sentence times.

Reads only the manifest and the FLAC headers, so it needs no model and no specwhisper import.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile

LONG_DIR = Path(__file__).resolve().parents[1] / "data" / "long"
RATE = 16000


def _records() -> list[dict]:
    lines = (LONG_DIR / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_manifest_lists_the_three_files():
    assert [record["audio"] for record in _records()] == [
        "long_001.flac",
        "long_002.flac",
        "long_003.flac",
    ]


@pytest.mark.parametrize("record", _records(), ids=lambda record: record["audio"])
def test_audio_matches_manifest(record):
    info = soundfile.info(LONG_DIR / record["audio"])
    assert (info.format, info.subtype) == ("FLAC", "PCM_16")
    assert (info.samplerate, info.channels) == (RATE, 1)
    assert record["duration"] == pytest.approx(info.frames / RATE, abs=0.001)
    assert 60 <= record["duration"] <= 360  # 1.5, 3 and 5 minutes, give or take 20 %


@pytest.mark.parametrize("record", _records(), ids=lambda record: record["audio"])
def test_sentence_times_and_texts(record):
    sentences = record["sentences"]
    assert len(sentences) >= 10
    previous_end, longest_pause = 0.0, 0.0
    for sentence in sentences:
        assert sentence["text"] and sentence["text"] == sentence["text"].strip()
        assert previous_end <= sentence["start"] < sentence["end"] <= record["duration"]
        longest_pause = max(longest_pause, sentence["start"] - previous_end)
        previous_end = sentence["end"]
    assert longest_pause >= 3.0  # some 30 s windows hold a stretch of silence
    assert " ".join(sentence["text"] for sentence in sentences) == record["text"]
