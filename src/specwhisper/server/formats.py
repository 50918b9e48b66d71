"""OpenAI's response formats: json, text, srt, vtt, verbose_json.

The engine decodes without timestamps for now, so the timed formats hold one segment that spans
the whole audio. When the engine learns timestamps, only ``segments_of`` needs to change.
"""

from __future__ import annotations

import zlib
from typing import Literal

from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ..transcribe import Transcription
from .schemas import OpenAISegment, OpenAITranscription, OpenAIVerboseTranscription, Usage

ResponseFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]
RESPONSE_FORMATS: tuple[str, ...] = ("json", "text", "srt", "vtt", "verbose_json")


def language_name(code: str) -> str:
    """Code to name ("en" -> "english") as in OpenAI's verbose_json; unknown codes pass."""
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    return LANGUAGES.get(code, code)


def compression_ratio(text: str) -> float:
    """Whisper's repetition signal: text bytes over zlib-compressed bytes (> 2.4 is suspect)."""
    data = text.encode("utf-8")
    return round(len(data) / len(zlib.compress(data)), 4) if data else 0.0


def segments_of(result: Transcription) -> list[OpenAISegment]:
    """One segment over the whole audio (none for empty text): no timestamps yet."""
    if not result.text:
        return []
    return [
        OpenAISegment(
            id=0,
            seek=0,
            start=0.0,
            end=round(result.duration, 3),
            text=result.text,
            tokens=result.tokens,
            temperature=0.0,  # greedy decoding: what "temperature 0" means
            avg_logprob=0.0,
            compression_ratio=compression_ratio(result.text),
            no_speech_prob=0.0,
        )
    ]


def timestamp(seconds: float, decimal: str) -> str:
    """00:01:02,345 for SRT (decimal ","), 00:01:02.345 for WebVTT (decimal ".")."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def srt(segments: list[OpenAISegment]) -> str:
    cues = [
        f"{i}\n{timestamp(s.start, ',')} --> {timestamp(s.end, ',')}\n{s.text.strip()}\n"
        for i, s in enumerate(segments, start=1)
    ]
    return "\n".join(cues)


def vtt(segments: list[OpenAISegment]) -> str:
    cues = [
        f"{timestamp(s.start, '.')} --> {timestamp(s.end, '.')}\n{s.text.strip()}\n"
        for s in segments
    ]
    return "\n".join(["WEBVTT\n", *cues])


def render(result: Transcription, task: str, response_format: str) -> Response:
    """The HTTP response for ``result`` in one of OpenAI's formats."""
    usage = Usage(seconds=round(result.duration, 3))
    if response_format == "text":
        return PlainTextResponse(result.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(srt(segments_of(result)))
    if response_format == "vtt":
        return PlainTextResponse(vtt(segments_of(result)), media_type="text/vtt")
    if response_format == "verbose_json":
        body = OpenAIVerboseTranscription(
            task=task,  # type: ignore[arg-type]
            language=language_name(result.language),
            duration=round(result.duration, 3),
            text=result.text,
            segments=segments_of(result),
            usage=usage,
        )
        return JSONResponse(body.model_dump())
    return JSONResponse(OpenAITranscription(text=result.text, usage=usage).model_dump())
