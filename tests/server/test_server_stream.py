"""Long files through the server, and the streaming endpoint (in process, real models)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from server_helpers import fast_settings

from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset
from specwhisper.server.app import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def long_client():
    settings = fast_settings(max_upload_bytes=5_000_000)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def long_bytes() -> bytes:
    return load_dataset(LONG_DEV_SET)[0].audio_path.read_bytes()  # 90 s, 4 windows


def test_long_file_segments_everywhere(long_client, long_bytes):
    files = {"file": ("long.flac", long_bytes, "audio/flac")}
    native = long_client.post("/transcribe", files=files, data={"temperature": "0"}).json()
    assert native["duration"] > 85 and native["stats"]["windows"] >= 3
    segments = native["segments"]
    assert len(segments) >= 6 and segments[-1]["end"] > 80
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    verbose = long_client.post(
        "/v1/audio/transcriptions",
        files=files,
        data={"response_format": "verbose_json", "timestamp_granularities[]": "segment"},
    ).json()
    assert [s["text"] for s in verbose["segments"]] == [s["text"] for s in segments]
    srt = long_client.post(
        "/v1/audio/transcriptions", files=files, data={"response_format": "srt"}
    ).text
    assert srt.count(" --> ") == len(segments) and srt.startswith("1\n00:00:0")


def test_stream_sends_segments_as_they_are_decoded(long_client, long_bytes):
    files = {"file": ("long.flac", long_bytes, "audio/flac")}
    whole = long_client.post("/transcribe", files=files, data={"temperature": "0"}).json()
    with long_client.stream(
        "POST", "/transcribe/stream", files=files, data={"temperature": "0"}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.iter_lines() if line]
    kinds = [line["type"] for line in lines]
    assert kinds[:2] == ["queued", "info"] and kinds[-1] == "done"
    assert set(kinds[2:-1]) == {"segment"}
    streamed = [line for line in lines if line["type"] == "segment"]
    assert [s["tokens"] for s in streamed] == [s["tokens"] for s in whole["segments"]]
    assert lines[-1]["text"] == whole["text"] and lines[1]["language"] == "en"


def test_stream_errors_before_decoding_are_http_errors(long_client):
    response = long_client.post("/transcribe/stream", files={"file": ("x.wav", b"not audio")})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_audio"
