"""Settings, CLI wiring, response formats, and the agreement between the server's fields, the
CLI's flags and the engine's options (fast: no model is run)."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import replace

import pytest
from pydantic import ValidationError

from specwhisper.cli import build_parser, main
from specwhisper.decoding.options import SpecStats, option_names
from specwhisper.segments import Segment, Word
from specwhisper.server import formats
from specwhisper.server.auth import key_matches
from specwhisper.server.catalog import Catalog, ModelKey
from specwhisper.server.errors import ApiError
from specwhisper.server.forms import openai_temperatures, option_fields
from specwhisper.server.pool import Admission, ClientWatch
from specwhisper.server.routes_native import native_job
from specwhisper.server.schemas import OpenAISegment, SegmentBody, SpeculativeStats, WordBody
from specwhisper.server.settings import ServerSettings
from specwhisper.transcribe import Transcription


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SPECWHISPER_DEFAULT_MODEL", "tiny.en")
    monkeypatch.setenv("SPECWHISPER_PRELOAD", "base:self-int8, tiny.en ,")
    monkeypatch.setenv("SPECWHISPER_MAX_QUEUE", "3")
    monkeypatch.setenv("SPECWHISPER_REQUEST_TIMEOUT", "2.5")
    monkeypatch.setenv("SPECWHISPER_MAX_UPLOAD_BYTES", "1000")
    settings = ServerSettings()
    assert settings.default_model == "tiny.en" and settings.default_draft == "auto"
    assert settings.preload_pairs() == [("base", "self-int8", None), ("tiny.en", None, None)]
    assert (settings.max_queue, settings.request_timeout, settings.max_upload_bytes) == (
        3,
        2.5,
        1000,
    )
    assert settings.capacity == 4
    assert ServerSettings(max_queue=5).max_queue == 5  # arguments win over the environment
    monkeypatch.setenv("SPECWHISPER_CONCURRENCY", "0")
    with pytest.raises(ValidationError, match="concurrency"):
        ServerSettings()


def test_serve_and_api_subcommands(monkeypatch, capsys):
    parser = build_parser()
    for command in ("serve", "api"):
        args = parser.parse_args([command, "--port", "8123", "--model", "tiny.en"])
        assert (args.host, args.port, args.model) == ("127.0.0.1", 8123, "tiny.en")
        assert args.handler.__name__ == "_serve"
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # leave the test process's env alone
    assert main(["api", "--concurrency", "0"]) == 2  # refused before anything starts
    assert "concurrency" in capsys.readouterr().err


def test_a_device_that_is_not_there_stops_the_server_at_startup(monkeypatch, capsys):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert ServerSettings(device="cpu").device == "cpu"
    assert main(["serve", "--device", "cuda"]) == 2  # before a model loads or a port opens
    assert "use device cpu" in capsys.readouterr().err


def test_catalog_expands_presets_and_aliases():
    catalog = Catalog(ServerSettings(default_model="tiny.en", default_draft="none"))
    assert catalog.key_for(None) == ModelKey("tiny.en", "none")
    assert catalog.key_for("whisper-1") == ModelKey("tiny.en", "none")
    assert catalog.key_for("default") == ModelKey("base", "auto")
    assert catalog.key_for("default", "none") == ModelKey("base", "none")
    assert catalog.key_for("base", "tiny.en") == ModelKey("base", "tiny.en")
    with pytest.raises(ApiError, match="unknown model 'x'") as caught:
        catalog.key_for("x")
    assert (caught.value.status, caught.value.param) == (400, "model")


def test_native_fields_cover_cli_flags_and_options():
    """One place to notice when the engine or the CLI gains an option the server lacks."""
    form = set(inspect.signature(option_fields).parameters) | set(
        inspect.signature(native_job).parameters
    )
    assert set(option_names()) <= form, set(option_names()) - form
    transcribe = build_parser()._subparsers._group_actions[0].choices["transcribe"]
    cli = {action.dest for action in transcribe._actions} - {
        "help",
        "files",
        "output_format",  # the server answers JSON (and OpenAI's formats on /v1)
        "output_dir",
        "no_progress",
        "max_duration",  # a server setting: SPECWHISPER_MAX_AUDIO_SECONDS
        "threads",  # a server setting, not a per-request one
        "device",  # a server setting too: SPECWHISPER_DEVICE
    }
    assert cli <= form, cli - form


def test_stats_and_segment_schemas_match_the_engine():
    assert set(SpeculativeStats.model_fields) == set(SpecStats().as_dict())
    segment = Segment(0, 0, 0.0, 1.0, " Hi.", [1], 0.0, -0.1, 1.0, 0.01)
    assert set(SegmentBody.model_fields) == set(segment.as_dict()) | {"words"}
    with_words = replace(segment, words=[Word(" Hi.", 0.0, 0.5, 0.912345)])
    record = with_words.as_dict()
    assert set(SegmentBody.model_fields) == set(record)
    assert record["words"] == [{"word": " Hi.", "start": 0.0, "end": 0.5, "probability": 0.9123}]
    assert set(WordBody.model_fields) == set(record["words"][0])


def _result(text: str, duration: float) -> Transcription:
    segments = (
        [Segment(0, 0, 0.0, round(duration, 2), " " + text, [1, 2], 0.0, -0.25, 1.1, 0.02)]
        if text
        else []
    )
    return Transcription(text, "de", [1, 2], segments, "base", None, SpecStats(), 0.5, duration)


def test_subtitle_formats_carry_the_segments():
    response = formats.render(_result("Hallo Welt.", 4.25), "transcribe", "srt")
    assert response.body.decode() == "1\n00:00:00,000 --> 00:00:04,250\nHallo Welt.\n"
    response = formats.render(_result("Hallo Welt.", 4.25), "transcribe", "vtt")
    assert response.body.decode() == "WEBVTT\n\n00:00.000 --> 00:04.250\nHallo Welt.\n"
    assert formats.render(_result("", 2.0), "transcribe", "srt").body == b""


def test_verbose_json_names_the_language_like_openai():
    import json

    response = formats.render(_result("Hallo Welt.", 1.0), "translate", "verbose_json")
    body = json.loads(response.body)
    assert (body["task"], body["language"], body["duration"]) == ("translate", "german", 1.0)
    segment = OpenAISegment(**body["segments"][0])
    assert segment.tokens == [1, 2] and segment.avg_logprob == -0.25


def test_verbose_json_lists_words_like_openai_when_there_are_some():
    import json

    plain = formats.render(_result("Hallo Welt.", 1.0), "transcribe", "verbose_json")
    assert "words" not in json.loads(plain.body)
    result = _result("Hallo Welt.", 1.0)
    words = [Word(" Hallo", 0.0, 0.42, 0.9), Word(" Welt.", 0.42, 0.98, 0.8)]
    result = replace(result, segments=[replace(result.segments[0], words=words)])
    body = json.loads(formats.render(result, "transcribe", "verbose_json").body)
    assert body["words"] == [
        {"word": "Hallo", "start": 0.0, "end": 0.42},
        {"word": "Welt.", "start": 0.42, "end": 0.98},
    ]
    assert "words" not in body["segments"][0]  # OpenAI's segments carry no words


def test_openai_temperature_is_a_ladder_from_it():
    assert openai_temperatures(0.0) == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert openai_temperatures(0.5) == (0.5, 0.7, 0.9)
    assert openai_temperatures(1.0) == (1.0,)


def test_api_keys_compare_against_every_key():
    assert key_matches("b", ["a", "b"]) and not key_matches("c", ["a", "b"])
    assert not key_matches("", ["a"]) and not key_matches("a", [])


def test_admission_skips_work_whose_client_left():
    admission = Admission(concurrency=1, capacity=2, timeout=5.0)
    ran: list[int] = []
    gone = ClientWatch(None)
    gone.gone.set()

    async def scenario() -> int:
        with pytest.raises(ApiError) as caught:
            await admission.run(lambda: ran.append(1), gone)
        assert (caught.value.status, caught.value.code) == (499, "client_closed")
        result, waited = await admission.run(lambda: 42)  # the worker was given back
        assert waited < 1
        return result

    assert asyncio.run(scenario()) == 42 and ran == []
    assert admission.running == 0


def test_admission_refuses_beyond_capacity_with_an_honest_retry_after():
    admission = Admission(concurrency=1, capacity=3, timeout=5.0)
    admission.window_s = 1.5  # as measured
    with admission.admit(1) as first, admission.admit(1) as second:
        first.windows, second.windows = 10.0, 2.0  # 5 min of audio, then a 40 s file
        with pytest.raises(ApiError) as caught, admission.admit(2):
            pass
        assert caught.value.status == 503 and caught.value.code == "queue_full"
        assert caught.value.headers["Retry-After"] == "18"  # 12 windows x 1.5 s
    assert admission.inside == 0 and admission.queued_windows() == 0
    admission.record(windows=4, seconds=2.0)
    assert admission.window_s == pytest.approx(1.5 + 0.3 * (0.5 - 1.5))
