"""Word timestamps through every route (in process, tiny.en)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def _files(clip_bytes: bytes) -> dict:
    return {"file": ("clip.wav", clip_bytes, "audio/wav")}


def test_native_routes_add_words_when_asked(client, clip_bytes):
    plain = client.post("/transcribe", files=_files(clip_bytes), data={"temperature": "0"})
    assert plain.status_code == 200 and "words" not in plain.json()["segments"][0]
    assert plain.json()["stats"]["word_timing_s"] == 0.0
    fields = {"temperature": "0", "word_timestamps": "true"}
    body = client.post("/transcribe", files=_files(clip_bytes), data=fields).json()
    segment = body["segments"][0]
    assert "".join(w["word"] for w in segment["words"]) == segment["text"]
    assert set(segment["words"][0]) == {"word", "start", "end", "probability"}
    assert body["stats"]["word_timing_s"] > 0
    batch = client.post(
        "/transcribe/batch", files=[("files", ("a.wav", clip_bytes, "audio/wav"))], data=fields
    ).json()
    item = batch["results"][0]
    assert item["error"] is None and item["result"]["segments"][0]["words"] == segment["words"]
    with client.stream("POST", "/transcribe/stream", files=_files(clip_bytes), data=fields) as r:
        lines = [json.loads(line) for line in r.iter_lines() if line]
    streamed = [line for line in lines if line["type"] == "segment"]
    assert streamed[0]["words"] == segment["words"]


def test_openai_word_granularity_adds_top_level_words(client, clip_bytes):
    data = {
        "response_format": "verbose_json",
        "timestamp_granularities[]": ["word", "segment"],
        "temperature": "0",
    }
    body = client.post("/v1/audio/transcriptions", files=_files(clip_bytes), data=data).json()
    words = body["words"]
    assert words and set(words[0]) == {"word", "start", "end"}
    assert " ".join(w["word"] for w in words) == body["text"]
    assert all(a["end"] <= b["start"] for a, b in zip(words, words[1:], strict=False))
    assert "words" not in body["segments"][0]
    data["timestamp_granularities[]"] = "segment"
    body = client.post("/v1/audio/transcriptions", files=_files(clip_bytes), data=data).json()
    assert "words" not in body
