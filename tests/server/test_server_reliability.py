"""Hostile input, abandoned and stalled clients, and bursts, against a real uvicorn process on
127.0.0.1, with the server's own memory and work counters as the evidence.

The slow half of the reliability suite (a two-hour file transcribed, peak memory, latency of a
request beside hostile ones) is ``scripts/reliability.py``; see the README.
"""

from __future__ import annotations

import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import soundfile
from server_helpers import flac_of_silence, multipart, raw_post, rss_mb, start_server, wait_for

from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    """One transcription at a time (so that requests queue), four may wait, tiny.en."""
    server = start_server(
        {
            "default_model": "tiny.en",
            "default_draft": "none",
            "concurrency": "1",
            "max_queue": "4",
        },
        "--log-level",
        "warning",
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def long_files():
    return load_dataset(LONG_DEV_SET)


def _health(server) -> dict:
    return httpx.get(f"{server.url}/health", timeout=10).json()


def _idle(server) -> bool:
    queue = _health(server)["queue"]
    return queue["running"] == 0 and queue["waiting"] == 0


def _post(server, data: bytes, name: str = "clip.wav", **fields) -> httpx.Response:
    files = {"file": (name, data)}
    return httpx.post(f"{server.url}/transcribe", files=files, data=fields, timeout=300)


def test_hours_of_silence_in_a_small_flac_cost_no_memory(server, dev_set):
    eight_hours = flac_of_silence(8 * 3600)
    assert len(eight_hours) < 2_000_000
    wait_for(lambda: _idle(server))
    before = rss_mb(server.process.pid)
    with ThreadPoolExecutor(3) as pool:
        hostile = [pool.submit(_post, server, eight_hours, "silence.flac") for _ in range(2)]
        normal = pool.submit(_post, server, dev_set[30].audio_path.read_bytes())
        answers = [future.result() for future in hostile]
        assert normal.result().status_code == 200
    for answer in answers:
        error = answer.json()["error"]
        assert answer.status_code == 400 and error["code"] == "audio_too_long"
        assert "header declares 28800.0 s" in error["message"]
    assert rss_mb(server.process.pid) - before < 300


@pytest.mark.parametrize(
    "name, data, status, code",
    [
        ("cut.wav", None, 415, "unsupported_audio"),
        ("nan.wav", None, 415, "unsupported_audio"),
        ("random.mp3", np.random.default_rng(0).bytes(20000), 415, "unsupported_audio"),
        ("empty.wav", b"", 400, "empty_file"),
    ],
)
def test_hostile_files_get_a_clear_4xx(server, dev_set, name, data, status, code):
    if name == "cut.wav":
        data = dev_set[0].audio_path.read_bytes()[:5000]
    elif name == "nan.wav":
        buffer = io.BytesIO()
        soundfile.write(buffer, np.full(1600, np.nan, np.float32), 16000, "FLOAT", format="WAV")
        data = buffer.getvalue()
    answer = _post(server, data, name)
    assert answer.status_code == status and answer.json()["error"]["code"] == code
    assert answer.json()["error"]["param"] == "file"


def _occupy(server, data: bytes) -> tuple[threading.Thread, dict]:
    """A long request in a thread, once it runs; its JSON lands in the returned dict."""
    result: dict = {}

    def run() -> None:
        result.update(_post(server, data, "long.flac", temperature="0").json())

    thread = threading.Thread(target=run)
    thread.start()
    wait_for(lambda: _health(server)["queue"]["running"] == 1)
    return thread, result


def test_abandoned_queued_requests_cost_no_transcription(server, long_files):
    wait_for(lambda: _idle(server))
    before = _health(server)["work"]
    thread, occupier = _occupy(server, long_files[2].audio_path.read_bytes())
    body, content_type = multipart(
        {"language": "en"}, "abandoned.flac", long_files[0].audio_path.read_bytes()
    )
    sockets = [raw_post(server.url, "/transcribe", body, content_type) for _ in range(3)]
    wait_for(lambda: _health(server)["queue"]["waiting"] == 3)
    for sock in sockets:
        sock.close()  # gone while queued
    wait_for(lambda: _health(server)["work"]["abandoned"] == before["abandoned"] + 3, 30)
    assert _health(server)["queue"]["waiting"] == 0  # places given back at once
    thread.join(timeout=300)
    wait_for(lambda: _idle(server))
    after = _health(server)["work"]
    assert after["completed"] == before["completed"] + 1
    # The only windows decoded are the occupier's: the abandoned requests cost nothing.
    assert after["windows_decoded"] - before["windows_decoded"] == occupier["stats"]["windows"]


def test_a_request_joins_the_batch_already_running(server, long_files, dev_set):
    """Continuous batching: a request for the same model and options that arrives while
    another one runs starts at once, in that batch, and is answered before the long one
    ends, with the text it gets alone."""
    wait_for(lambda: _idle(server))
    clip = dev_set[3].audio_path.read_bytes()
    alone = _post(server, clip, temperature="0").json()
    before = _health(server)["work"]
    thread, occupier = _occupy(server, long_files[2].audio_path.read_bytes())
    joined = _post(server, clip, temperature="0")
    assert joined.status_code == 200
    assert thread.is_alive()  # answered while the long file is still being decoded
    assert joined.json()["text"] == alone["text"]
    thread.join(timeout=300)
    assert occupier["text"]
    after = _health(server)["work"]
    assert after["joined"] == before["joined"] + 1
    assert after["completed"] == before["completed"] + 2


def test_a_client_leaving_mid_transcription_stops_it(server, long_files):
    wait_for(lambda: _idle(server))
    before = _health(server)["work"]
    data = long_files[2].audio_path.read_bytes()  # about 11 windows
    body, content_type = multipart({"temperature": "0"}, "long.flac", data)
    sock = raw_post(server.url, "/transcribe", body, content_type)
    wait_for(lambda: _health(server)["queue"]["running"] == 1)
    time.sleep(3.0)  # past the scan and into the first windows (11 take about 20 s)
    sock.close()
    wait_for(lambda: _idle(server), 60)
    after = _health(server)["work"]
    assert after["cancelled"] == before["cancelled"] + 1
    assert after["completed"] == before["completed"]
    assert 0 < after["windows_decoded"] - before["windows_decoded"] < 8


def test_a_stalled_upload_holds_no_queue_place(server, dev_set):
    body, content_type = multipart({}, "stalled.wav", dev_set[0].audio_path.read_bytes())
    stalled = raw_post(server.url, "/transcribe", body, content_type, send=2000)
    try:
        answer = _post(server, dev_set[30].audio_path.read_bytes())
        assert answer.status_code == 200
        queue = _health(server)["queue"]
        assert queue["waiting"] == 0 and queue["running"] == 0
    finally:
        stalled.close()


def test_a_burst_past_the_queue_is_answered_in_full(server, dev_set):
    wait_for(lambda: _idle(server))
    data = dev_set[2].audio_path.read_bytes()
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: _post(server, data), range(10)))
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 5
    for answer in answers:
        if answer.status_code == 503:
            assert answer.json()["error"]["code"] == "queue_full"
            assert 1 <= int(answer.headers["Retry-After"]) <= 60
    texts = {answer.json()["text"] for answer in answers if answer.status_code == 200}
    assert len(texts) == 1


def test_streaming_over_a_real_socket(server, long_files):
    data = long_files[0].audio_path.read_bytes()
    lines = []
    with httpx.stream(
        "POST",
        f"{server.url}/transcribe/stream",
        files={"file": ("long.flac", data)},
        data={"temperature": "0"},
        timeout=300,
    ) as response:
        for line in response.iter_lines():
            lines.append((time.monotonic(), json.loads(line)))
    kinds = [line["type"] for _, line in lines]
    assert kinds[0] == "queued" and kinds[-1] == "done" and kinds.count("segment") >= 5
    segment_times = [at for at, line in lines if line["type"] == "segment"]
    # Segments arrive window by window, not all at the end.
    assert segment_times[-1] - segment_times[0] > 0.2
