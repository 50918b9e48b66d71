"""OpenAI's response formats: json, text, srt, vtt, verbose_json, from the engine's segments
(the subtitle writers are the engine's own, so the CLI writes the same bytes)."""

from __future__ import annotations

from typing import Literal

from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ..transcribe import Transcription
from ..writers import to_srt, to_vtt
from .schemas import (
    OpenAISegment,
    OpenAITranscription,
    OpenAIVerboseTranscription,
    OpenAIWord,
    Usage,
)

ResponseFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]
RESPONSE_FORMATS: tuple[str, ...] = ("json", "text", "srt", "vtt", "verbose_json")


def language_name(code: str) -> str:
    """Code to name ("en" -> "english") as in OpenAI's verbose_json; unknown codes pass."""
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    return LANGUAGES.get(code, code)


def openai_segments(result: Transcription) -> list[OpenAISegment]:
    return [
        OpenAISegment(
            id=s.id,
            seek=s.seek,
            start=round(s.start, 3),
            end=round(s.end, 3),
            text=s.text,
            tokens=s.tokens,
            temperature=s.temperature,
            avg_logprob=round(s.avg_logprob, 4),
            compression_ratio=round(s.compression_ratio, 4),
            no_speech_prob=round(s.no_speech_prob, 4),
        )
        for s in result.segments
    ]


def openai_words(result: Transcription) -> list[OpenAIWord] | None:
    """Every word of the transcript as OpenAI lists them (no leading space, no probability);
    None when the transcription had no word timestamps."""
    if not any(s.words is not None for s in result.segments):
        return None
    return [
        OpenAIWord(word=w.word.strip(), start=round(w.start, 3), end=round(w.end, 3))
        for s in result.segments
        for w in s.words or []
    ]


def render(result: Transcription, task: str, response_format: str) -> Response:
    """The HTTP response for ``result`` in one of OpenAI's formats."""
    usage = Usage(seconds=round(result.duration, 3))
    if response_format == "text":
        return PlainTextResponse(result.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(to_srt(result.segments))
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(result.segments), media_type="text/vtt")
    if response_format == "verbose_json":
        body = OpenAIVerboseTranscription(
            task=task,  # type: ignore[arg-type]
            language=language_name(result.language),
            duration=round(result.duration, 3),
            text=result.text,
            segments=openai_segments(result),
            words=openai_words(result),
            usage=usage,
        )
        return JSONResponse(body.model_dump(exclude_none=True))
    return JSONResponse(OpenAITranscription(text=result.text, usage=usage).model_dump())
