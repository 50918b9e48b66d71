"""Settings, CLI wiring, response formats, and the agreement between the server's fields, the
CLI's flags and the engine's options (fast: no model is run)."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import fields

import pytest
from pydantic import ValidationError

from specwhisper.cli import build_parser, main
from specwhisper.decoding.options import DecodeOptions, SpecStats
from specwhisper.server import formats
from specwhisper.server.catalog import Catalog, ModelKey
from specwhisper.server.errors import ApiError
from specwhisper.server.pool import Admission
from specwhisper.server.routes_native import native_fields
from specwhisper.server.schemas import OpenAISegment, SpeculativeStats
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
    assert settings.preload_pairs() == [("base", "self-int8"), ("tiny.en", None)]
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


def test_native_fields_cover_cli_flags_and_decode_options():
    """One place to notice when the engine or the CLI gains an option the server lacks."""
    form = set(inspect.signature(native_fields).parameters)
    decode = {field.name for field in fields(DecodeOptions)}
    assert decode <= form, decode - form
    transcribe = build_parser()._subparsers._group_actions[0].choices["transcribe"]
    cli = {action.dest for action in transcribe._actions} - {
        "help",
        "files",
        "output_format",  # the server answers JSON
        "threads",  # a server setting, not a per-request one
    }
    assert cli <= form, cli - form


def test_stats_schema_matches_the_engine():
    assert set(SpeculativeStats.model_fields) == set(SpecStats().as_dict())


def _result(text: str, duration: float) -> Transcription:
    return Transcription(text, "de", [1, 2], "base", None, SpecStats(), 0.5, duration)


def test_timestamps_and_subtitle_formats():
    assert formats.timestamp(3723.0456, ",") == "01:02:03,046"
    assert formats.timestamp(0, ".") == "00:00:00.000"
    segments = formats.segments_of(_result("Hallo Welt.", 4.25))
    assert [(s.start, s.end, s.text) for s in segments] == [(0.0, 4.25, "Hallo Welt.")]
    assert formats.srt(segments) == "1\n00:00:00,000 --> 00:00:04,250\nHallo Welt.\n"
    assert formats.vtt(segments) == "WEBVTT\n\n00:00:00.000 --> 00:00:04.250\nHallo Welt.\n"


def test_silence_gives_no_segments():
    assert formats.segments_of(_result("", 2.0)) == []
    assert formats.srt([]) == "" and formats.vtt([]) == "WEBVTT\n"


def test_verbose_json_names_the_language_like_openai():
    response = formats.render(_result("Hallo Welt.", 1.0), "translate", "verbose_json")
    import json

    body = json.loads(response.body)
    assert (body["task"], body["language"], body["duration"]) == ("translate", "german", 1.0)
    assert OpenAISegment(**body["segments"][0]).tokens == [1, 2]
    assert formats.compression_ratio("ab" * 200) > 2.4 > formats.compression_ratio("Hallo Welt.")


def test_admission_skips_work_whose_client_left():
    admission = Admission(concurrency=1, capacity=2, timeout=5.0)
    ran: list[int] = []

    async def gone() -> bool:
        return True

    async def scenario() -> int:
        with pytest.raises(ApiError) as caught:
            await admission.run(lambda: ran.append(1), gone)
        assert (caught.value.status, caught.value.code) == (499, "client_closed")
        result, waited = await admission.run(lambda: 42)  # the worker was given back
        assert waited < 1
        return result

    assert asyncio.run(scenario()) == 42 and ran == []
    assert admission.running == 0


def test_admission_refuses_beyond_capacity():
    admission = Admission(concurrency=1, capacity=2, timeout=5.0)
    with admission.admit(2):
        with pytest.raises(ApiError) as caught, admission.admit(1):
            pass
        assert caught.value.status == 503 and caught.value.code == "queue_full"
        assert 1 <= int(caught.value.headers["Retry-After"]) <= 120
    assert admission.inside == 0
