"""A real uvicorn process on 127.0.0.1: the official openai client, concurrency, upload limits
over real sockets, graceful shutdown and the load-test script."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from openai import AuthenticationError, OpenAI, UnprocessableEntityError
from server_helpers import ROOT, TEST_UPLOAD_LIMIT, start_server

GOLDEN_TINY_EN = "Can you tell me where the nearest farm is headed?"  # dev_003 by tiny.en
FORMATS = ("json", "text", "srt", "vtt", "verbose_json")


@pytest.fixture(scope="module")
def openai_client(live_server) -> OpenAI:
    # max_retries=0: a 503 must show up as a failure here, not be retried away.
    return OpenAI(base_url=f"{live_server.url}/v1", api_key="unused", max_retries=0, timeout=120)


def check_format(response_format: str, result, text: str, duration: float) -> None:
    """``result`` is what the openai client returned for ``response_format``."""
    if response_format == "json":
        assert result.text == text
    elif response_format == "text":
        assert isinstance(result, str) and result.strip() == text
    elif response_format == "srt":
        assert re.fullmatch(rf"1\n00:00:00,000 --> 00:00:0\d,\d\d0\n{re.escape(text)}\n", result), (
            result
        )
    elif response_format == "vtt":
        assert result.startswith("WEBVTT\n\n00:00.000 --> 00:0") and text in result
    else:
        assert result.text == text and result.language == "english"
        assert result.duration == pytest.approx(duration, abs=0.01)
        assert len(result.segments) == 1 and 0 < result.segments[0].end <= result.duration
        assert result.segments[0].temperature == 0.0
        assert -1 < result.segments[0].avg_logprob < 0


def test_openai_client_transcribes_in_every_format(openai_client, clips):
    audio = ("clip.wav", clips[1].read_bytes(), "audio/wav")
    text = openai_client.audio.transcriptions.create(
        file=audio, model="whisper-1", language="en", prompt="Directions in town."
    ).text
    assert text  # the prompt may change the words: the formats must agree with each other
    for response_format in FORMATS:
        result = openai_client.audio.transcriptions.create(
            file=audio,
            model="whisper-1",
            response_format=response_format,
            language="en",
            prompt="Directions in town.",
            temperature=0,
            timestamp_granularities=["segment"] if response_format == "verbose_json" else [],
        )
        check_format(response_format, result, text, 3.533)


# The openai client marks its translations endpoint deprecated (OpenAI's side); ours stays.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_openai_client_translates_in_every_format_with_base_and_int8_draft(openai_client, clips):
    audio = ("clip.wav", clips[1].read_bytes(), "audio/wav")

    def translate(response_format: str):
        return openai_client.audio.translations.create(
            file=audio,
            model="base",
            response_format=response_format,
            extra_body={"draft": "self-int8"},  # specwhisper's extension field
        )

    with ThreadPoolExecutor(len(FORMATS)) as pool:  # the server runs two at a time
        results = dict(zip(FORMATS, pool.map(translate, FORMATS), strict=True))
    text = results["json"].text
    assert "pharmacy" in text  # English speech translated to English: the words survive
    for response_format, result in results.items():
        check_format(response_format, result, text, 3.533)
    assert results["verbose_json"].task == "translate"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_openai_client_sees_models_and_errors(openai_client, clips):
    ids = {model.id for model in openai_client.models.list()}
    assert {"whisper-1", "tiny.en", "base", "v3"} <= ids
    with pytest.raises(UnprocessableEntityError) as caught:
        openai_client.audio.translations.create(
            file=("clip.wav", clips[0].read_bytes()), model="tiny.en"
        )
    assert caught.value.body["param"] == "model" and "English-only" in caught.value.message


def test_openai_client_with_api_keys(clips):
    """A server with keys: the official client with a wrong key gets AuthenticationError, the
    right key transcribes, /health answers without a key."""
    server = start_server(
        {"default_model": "tiny.en", "default_draft": "none", "api_keys": "k1-secret,k2"},
        "--log-level",
        "warning",
    )
    try:
        audio = ("clip.wav", clips[1].read_bytes(), "audio/wav")
        wrong = OpenAI(base_url=f"{server.url}/v1", api_key="nope", max_retries=0)
        with pytest.raises(AuthenticationError) as caught:
            wrong.audio.transcriptions.create(file=audio, model="whisper-1")
        assert caught.value.body["code"] == "invalid_api_key"
        right = OpenAI(base_url=f"{server.url}/v1", api_key="k2", max_retries=0, timeout=120)
        assert right.audio.transcriptions.create(file=audio, model="whisper-1").text
        assert httpx.get(f"{server.url}/health").status_code == 200
        assert "k1-secret" not in server.log()
    finally:
        server.stop()


def _post(url: str, path) -> dict:
    files = {"file": (path.name, path.read_bytes(), "audio/wav")}
    fields = {"language": "en", "temperature": "0"}
    response = httpx.post(f"{url}/transcribe", files=files, data=fields, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def test_concurrent_requests_all_succeed_and_equal_a_sequential_run(live_server, clips):
    files = clips[:4]
    sequential = [_post(live_server.url, path) for path in files]
    with ThreadPoolExecutor(6) as pool:
        concurrent = list(pool.map(lambda path: _post(live_server.url, path), files * 3))
    assert len(concurrent) == 12  # none lost
    for index, body in enumerate(concurrent):
        expected = sequential[index % len(files)]
        assert (body["tokens"], body["text"]) == (expected["tokens"], expected["text"])
    health = httpx.get(f"{live_server.url}/health").json()
    assert health["queue"]["running"] == health["queue"]["waiting"] == 0


def test_oversized_uploads_get_413_over_real_sockets(live_server):
    too_big = b"\0" * (TEST_UPLOAD_LIMIT + 200_000)
    declared = httpx.post(
        f"{live_server.url}/transcribe", files={"file": ("big.wav", too_big)}, timeout=60
    )
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "file_too_large"

    def chunks():  # no Content-Length: the limit must cut the stream itself
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=big.wav\r\n\r\n"
        for _ in range(20):
            yield b"\0" * 64_000

    streamed = httpx.post(
        f"{live_server.url}/v1/audio/transcriptions",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=b"},
        timeout=60,
    )
    assert streamed.status_code == 413 and streamed.json()["error"]["param"] == "file"
    assert httpx.get(f"{live_server.url}/health").status_code == 200  # still serving


def test_load_test_script_reports_throughput_and_latency(live_server):
    command = [
        sys.executable,
        "scripts/load_test.py",
        "--url",
        live_server.url,
        "--clients",
        "2",
        "--files",
        "1",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    for label in ("requests", "errors", "throughput", "latency p50", "latency p95"):
        assert label in run.stdout
    assert re.search(r"errors\s+0\b", run.stdout), run.stdout


def test_sigterm_finishes_accepted_requests(clips):
    """A server told to stop still answers every request it had accepted."""
    server = start_server(
        {"default_model": "tiny.en", "default_draft": "none", "warmup": "false"},
        "--log-level",
        "warning",
    )
    try:
        with ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(_post, server.url, path) for path in clips[:3]]
            for _ in range(300):  # until all three are inside the server
                queue = httpx.get(f"{server.url}/health").json()["queue"]
                if queue["running"] + queue["waiting"] == 3:
                    break
                time.sleep(0.01)
            server.process.terminate()
            bodies = [future.result(timeout=60) for future in futures]
        assert all(body["text"] for body in bodies)
    finally:
        code = server.stop()
    assert code in (0, -15)  # -15: uvicorn re-raises the SIGTERM after a clean shutdown
