"""Transcripts as files: plain text, SubRip (srt), WebVTT (vtt), tab-separated (tsv), JSON.

Typed on ``Segment``, so the CLI, the server and the corpus runner write the same bytes.
Cue text never contains "-->" (it would end a cue's timing line).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from .segments import Segment

OUTPUT_FORMATS = ("text", "json", "srt", "vtt", "tsv")
# File extension of each format when written to a folder.
EXTENSIONS = {"text": "txt", "json": "json", "srt": "srt", "vtt": "vtt", "tsv": "tsv"}


def timestamp(seconds: float, decimal: str = ",", always_hours: bool = True) -> str:
    """01:02:03,456 (SRT); WebVTT uses "." and may leave out zero hours."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    head = f"{hours:02d}:" if always_hours or hours else ""
    return f"{head}{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _cue_text(segment: Segment) -> str:
    return segment.text.strip().replace("-->", "->")


def to_text(segments: Iterable[Segment]) -> str:
    """One line per segment."""
    return "".join(_cue_text(s) + "\n" for s in segments)


def to_srt(segments: Iterable[Segment]) -> str:
    cues = [
        f"{i}\n{timestamp(s.start)} --> {timestamp(s.end)}\n{_cue_text(s)}\n"
        for i, s in enumerate(segments, start=1)
    ]
    return "\n".join(cues)


def to_vtt(segments: Iterable[Segment]) -> str:
    cues = [
        f"{timestamp(s.start, '.', False)} --> {timestamp(s.end, '.', False)}\n{_cue_text(s)}\n"
        for s in segments
    ]
    return "\n".join(["WEBVTT\n", *cues])


def to_tsv(segments: Iterable[Segment]) -> str:
    """start and end in integer milliseconds, as openai-whisper writes them."""
    rows = ["start\tend\ttext"]
    rows += [
        f"{round(1000 * s.start)}\t{round(1000 * s.end)}\t{_cue_text(s).replace(chr(9), ' ')}"
        for s in segments
    ]
    return "\n".join(rows) + "\n"


def render(record: dict, segments: list[Segment], output_format: str) -> str:
    """``record`` (a transcription's JSON fields) or its ``segments`` in ``output_format``."""
    if output_format == "json":
        return json.dumps(record, ensure_ascii=False) + "\n"
    if output_format == "text":
        return record["text"] + "\n"
    writer = {"srt": to_srt, "vtt": to_vtt, "tsv": to_tsv}.get(output_format)
    if writer is None:
        raise ValueError(f"output format must be one of {', '.join(OUTPUT_FORMATS)}")
    return writer(segments)
