"""Every endpoint and every error, in process, on the real bundled models."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from server_helpers import TEST_UPLOAD_LIMIT, fast_settings, flac_of_silence

from specwhisper.server.app import create_app
from specwhisper.transcribe import Transcriber

GOLDEN_TINY_EN = "Can you tell me where the nearest farm is headed?"  # dev_003 by tiny.en


def post_file(client, data: bytes, path: str = "/transcribe", name: str = "clip.wav", **fields):
    return client.post(path, files={"file": (name, data, "audio/wav")}, data=fields)


def assert_error(response, status: int, code: str, param: str | None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["code"], error["param"]) == (code, param)
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")
    return error


def test_api_links_to_the_docs(client):
    body = client.get("/api").json()
    assert body["docs"] == "/docs" and body["openapi"] == "/openapi.json"
    assert "POST /v1/audio/transcriptions" in body["endpoints"]
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/transcribe/batch", "/transcribe/stream"} <= set(paths)


def test_root_serves_the_web_page_and_its_files(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<title>specwhisper" in page.text and "/static/app.js" in page.text
    for name, kind in (
        ("app.js", "javascript"),
        ("transcript.js", "javascript"),
        ("app.css", "css"),
    ):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"], name
    assert client.get("/static/missing.js").status_code == 404


def test_health_reports_the_preloaded_default_model(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["default_model"] == "tiny.en"
    assert body["loaded"] == ["tiny.en:none"]  # loaded by the lifespan, before any request
    assert body["queue"] == {"running": 0, "waiting": 0, "capacity": 33, "concurrency": 1}


def test_models_lists_names_presets_and_drafts(client):
    body = client.get("/models").json()
    assert body["default"] == {"model": "tiny.en", "draft": "none"}
    by_name = {model["name"]: model for model in body["models"]}
    assert by_name["tiny.en"]["offline"] and by_name["base"]["offline"]
    assert by_name["tiny.en"]["source"] == "bundled"
    assert by_name["v3"]["source"] == "preset" and not by_name["v3"]["offline"]
    assert by_name["whisper-1"]["source"] == "alias"
    assert "self-int8" in body["drafts"]
    ids = [model["id"] for model in client.get("/v1/models").json()["data"]]
    assert ids[0] == "whisper-1" and {"tiny.en", "base", "v2", "v3", "default"} <= set(ids)
    assert client.get("/v1/models/tiny.en").json()["id"] == "tiny.en"
    assert_error(client.get("/v1/models/nope"), 404, "model_not_found", "model")


def test_transcribe_returns_text_timing_and_stats(client, clips):
    response = post_file(client, clips[1].read_bytes(), language="EN")  # codes: any case
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == GOLDEN_TINY_EN
    assert (body["model"], body["draft"], body["language"]) == ("tiny.en", None, "en")
    assert body["task"] == "transcribe" and 3 < body["duration"] < 4
    assert body["stats"]["tokens_generated"] >= len(body["tokens"]) > 0
    assert body["segments"][0]["text"].strip() == GOLDEN_TINY_EN
    assert body["segments"][0]["start"] == 0.0 and body["segments"][0]["end"] <= body["duration"]
    timing = body["timing"]
    assert timing["total_s"] >= timing["transcribe_s"] > 0 and timing["queue_s"] >= 0


def test_beam_search_and_plain_decoding_fields(client, clips):
    data = clips[1].read_bytes()
    plain = post_file(client, data, use_speculative="false").json()
    beam = post_file(client, data, beam_size="2", max_new_tokens="5", temperature="0").json()
    assert plain["text"] == GOLDEN_TINY_EN and plain["draft"] is None
    assert 0 < len(beam["tokens"]) <= 5


def test_base_with_self_int8_is_lossless(client, clips):
    data = clips[2].read_bytes()
    fast = post_file(client, data, model="base", draft="self-int8", temperature="0").json()
    plain = post_file(
        client, data, model="base", draft="self-int8", use_speculative="0", temperature="0"
    ).json()
    assert fast["draft"] == "self-int8" and plain["draft"] is None
    assert fast["tokens"] == plain["tokens"] and fast["text"] == plain["text"]
    assert fast["language"] == "en"  # detected
    assert fast["stats"]["tokens_accepted"] > 0
    assert fast["stats"]["tokens_per_verify"] > 1
    assert "base:self-int8" in client.get("/health").json()["loaded"]


def test_int8_compute_type_is_exact_against_itself(client, clips):
    data = clips[2].read_bytes()
    fields = {"model": "base", "draft": "self-int8", "compute_type": "int8", "temperature": "0"}
    fast = post_file(client, data, **fields).json()
    plain = post_file(client, data, use_speculative="0", **fields).json()
    assert fast["tokens"] == plain["tokens"] and fast["stats"]["tokens_accepted"] > 0
    assert "base:self-int8:int8" in client.get("/health").json()["loaded"]


def test_int8_on_a_gpu_is_a_422_naming_compute_type(client, clips, monkeypatch):
    """As on a machine whose models run on a GPU (there is none here: the device choice is
    what is replaced), an int8 request is refused with the field to change."""
    from specwhisper import transcribe

    monkeypatch.setattr(transcribe, "resolve_device", lambda device: "cuda:0")
    fields = {"model": "tiny.en", "draft": "none", "compute_type": "int8"}
    response = post_file(client, clips[0].read_bytes(), **fields)
    body = assert_error(response, 422, "invalid_value", "compute_type")
    assert "device cpu" in body["message"]


def test_batch_keeps_order_and_fails_bad_files_alone(client, clips):
    files = [
        ("files", ("a.wav", clips[1].read_bytes(), "audio/wav")),
        ("files", ("notes.txt", b"not audio at all", "text/plain")),
        ("files", ("empty.wav", b"", "audio/wav")),
        ("files", ("b.wav", clips[0].read_bytes(), "audio/wav")),
        ("files", ("big.wav", b"\0" * (TEST_UPLOAD_LIMIT + 1), "audio/wav")),
    ]
    response = client.post("/transcribe/batch", files=files, data={"language": "en"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["succeeded"], body["failed"]) == (2, 3)
    results = body["results"]
    assert [item["index"] for item in results] == [0, 1, 2, 3, 4]
    names = ["a.wav", "notes.txt", "empty.wav", "b.wav", "big.wav"]
    assert [item["filename"] for item in results] == names
    assert [item["status"] for item in results] == [200, 415, 400, 200, 413]
    assert results[0]["result"]["text"] == GOLDEN_TINY_EN and results[0]["error"] is None
    assert results[1]["error"]["code"] == "unsupported_audio" and results[1]["result"] is None
    assert results[2]["error"]["code"] == "empty_file"
    assert results[3]["result"]["text"]
    assert results[4]["error"]["code"] == "file_too_large"


def test_batch_file_count_is_limited(client):
    files = [("files", (f"{i}.wav", b"RIFF", "audio/wav")) for i in range(17)]
    assert_error(client.post("/transcribe/batch", files=files), 422, "invalid_value", "files")


@pytest.mark.parametrize("path", ["/transcribe", "/v1/audio/transcriptions"])
def test_bad_audio_errors(client, path):
    error = assert_error(post_file(client, b"", path), 400, "empty_file", "file")
    assert "empty" in error["message"]
    error = assert_error(
        post_file(client, b"%PDF-1.4 not audio", path, name="doc.pdf"),
        415,
        "unsupported_audio",
        "file",
    )
    assert error["message"].startswith("doc.pdf:") and "wav, flac" in error["message"]
    error = assert_error(
        post_file(client, flac_of_silence(700), path, name="long.flac"),
        400,
        "audio_too_long",
        "file",
    )
    assert "limit is 600 s and its header declares 700.0 s" in error["message"]
    too_big = b"\0" * (TEST_UPLOAD_LIMIT + 100_000)
    error = assert_error(post_file(client, too_big, path), 413, "file_too_large", "file")
    assert str(TEST_UPLOAD_LIMIT) in error["message"]


def test_model_errors_list_valid_names(client, clip_bytes, monkeypatch):
    error = assert_error(post_file(client, clip_bytes, model="nope"), 400, "unknown_model", "model")
    assert "tiny.en" in error["message"] and "v3" in error["message"]
    error = assert_error(post_file(client, clip_bytes, draft="nope"), 400, "unknown_model", "draft")
    assert "self-int8" in error["message"]
    # Not a name clients may use unless SPECWHISPER_ALLOW_ANY_MODEL: no hub ids, no folders.
    assert_error(post_file(client, clip_bytes, model="/tmp"), 400, "unknown_model", "model")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for fields in ({"model": "v3"}, {"model": "tiny.en", "draft": "large-v2"}):
        param = "draft" if "draft" in fields else "model"
        error = assert_error(
            post_file(client, clip_bytes, **fields), 400, "model_unavailable", param
        )
        assert "needs a network" in error["message"]
    error = assert_error(
        post_file(client, clip_bytes, "/v1/audio/transcriptions", model="gpt-4o-transcribe"),
        400,
        "unknown_model",
        "model",
    )
    assert "whisper-1" in error["message"]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"beam_size": "9"}, "beam_size"),
        ({"beam_size": "two"}, "beam_size"),
        ({"task": "summarize"}, "task"),
        ({"task": "translate"}, "task"),  # tiny.en is English-only
        ({"language": "de"}, "language"),  # tiny.en is English-only
        ({"model": "base", "language": "xx"}, "language"),
        ({"draft_length": "99"}, "draft_length"),
        ({"use_speculative": "maybe"}, "use_speculative"),
        ({"temperature": "nan"}, "temperature"),
        ({"temperature": "0.4,0.2"}, "temperature"),
        ({"temperature": "warm"}, "temperature"),
        ({"no_speech_threshold": "high"}, "no_speech_threshold"),
        ({"best_of": "0"}, "best_of"),
        ({"initial_prompt": "x" * 5000}, "initial_prompt"),
        ({"compute_type": "int4"}, "compute_type"),
    ],
)
def test_bad_fields_are_422_naming_the_field(client, clip_bytes, fields, param):
    error = assert_error(post_file(client, clip_bytes, **fields), 422, "invalid_value", param)
    assert param in error["message"] or "English-only" in error["message"]


def test_long_file_names_are_a_field_error(client, clip_bytes):
    error = assert_error(
        post_file(client, clip_bytes, name="a" * 5000 + ".wav"), 400, "invalid_multipart", "file"
    )
    assert "file name" in error["message"]


def test_bad_openai_fields_are_422(client, clip_bytes):
    path = "/v1/audio/transcriptions"
    cases = [
        ({"response_format": "docx"}, "response_format"),
        ({"temperature": "1.5"}, "temperature"),
        ({"temperature": "nan"}, "temperature"),
        ({"timestamp_granularities[]": "syllable"}, "timestamp_granularities[].0"),
    ]
    for fields, param in cases:
        assert_error(post_file(client, clip_bytes, path, **fields), 422, "invalid_value", param)
    translate = post_file(client, clip_bytes, "/v1/audio/translations", model="tiny.en")
    error = assert_error(translate, 422, "invalid_value", "model")
    assert "English-only" in error["message"]
    assert_error(client.post("/transcribe"), 422, "invalid_value", "file")


def test_unknown_route_and_method_use_the_same_error_shape(client):
    assert_error(client.get("/nope"), 404, "not_found", None)
    assert_error(client.get("/transcribe"), 405, "method_not_allowed", None)


async def _post_together(app, data: bytes, count: int) -> list[httpx.Response]:
    # No lifespan here: the pool loads models on first use, which must work too.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        files = {"file": ("clip.wav", data, "audio/wav")}
        return await asyncio.gather(
            *(http.post("/transcribe", files=files, timeout=120) for _ in range(count))
        )


def test_full_queue_answers_503_with_retry_after(clip_bytes):
    app = create_app(fast_settings(concurrency=1, max_queue=0))
    responses = asyncio.run(_post_together(app, clip_bytes, 2))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 503], [response.text for response in responses]
    busy = next(response for response in responses if response.status_code == 503)
    assert_error(busy, 503, "queue_full", None)
    assert 1 <= int(busy.headers["Retry-After"]) <= 120


def test_queue_wait_times_out_with_503(clip_bytes):
    app = create_app(fast_settings(concurrency=1, max_queue=1, request_timeout=0.05))
    responses = asyncio.run(_post_together(app, clip_bytes, 2))
    assert sorted(response.status_code for response in responses) == [200, 503]
    late = next(response for response in responses if response.status_code == 503)
    assert_error(late, 503, "queue_timeout", None)
    assert "Retry-After" in late.headers
    assert app.state.specwhisper.admission.inside == 0  # every place given back


def test_queue_admits_a_burst_within_capacity(clip_bytes):
    app = create_app(fast_settings(concurrency=1, max_queue=2))
    responses = asyncio.run(_post_together(app, clip_bytes, 3))
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert len({response.json()["text"] for response in responses}) == 1


def test_an_engine_crash_is_a_json_500_and_the_server_goes_on(client, clip_bytes, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("simulated engine failure")

    monkeypatch.setattr(Transcriber, "transcribe_segments", crash)
    monkeypatch.setattr(Transcriber, "transcribe_batch", crash)
    monkeypatch.setattr(Transcriber, "transcribe_queue", crash)
    for path in ("/transcribe", "/v1/audio/transcriptions"):
        error = assert_error(post_file(client, clip_bytes, path), 500, "internal_error", None)
        assert "RuntimeError" in error["message"] and "simulated" not in error["message"]
    monkeypatch.undo()
    assert post_file(client, clip_bytes).status_code == 200
    # The answer goes out as the result is ready; the worker frees its batch's buffers and
    # counts itself out just after.
    deadline = time.monotonic() + 10
    while client.get("/health").json()["queue"]["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get("/health").json()["queue"]["running"] == 0
