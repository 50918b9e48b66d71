"""The output folder of a corpus run: an append-only record log and files written atomically.

``records.jsonl`` holds one JSON line per transcribed (or failed) file. Each record is appended
with one ``write`` and an ``fsync``, so a run killed at any moment leaves whole records plus at
most one torn last line; readers ignore that line, and the next run cuts it off before it
appends. Subtitle files are written to a temporary file and renamed into place, before their
record is appended: a record in the log means its files are complete.

A file may have several records (it failed, then a later run transcribed it); the last wins.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

RECORDS_NAME = "records.jsonl"
SETTINGS_NAME = "corpus.json"  # what the records were made with (model, options)
SUMMARY_NAME = "summary.json"  # the last run's totals
# The run's own files, which no subtitle file may replace (``expand_inputs(reserved=...)``).
RESERVED_NAMES = ("records", "corpus", "summary")
# --formats value -> writers.render format; the value is also the file suffix.
FORMATS = {"txt": "text", "srt": "srt", "vtt": "vtt", "tsv": "tsv", "json": "json"}
KEY_MODES = ("stat", "hash")
_HASH_BLOCK = 1 << 20


def file_key(path: str, mode: str) -> dict:
    """What identifies this version of the file: size and modification time (``stat``), plus
    the SHA-256 of its bytes with ``hash`` (survives a copy or a touch; reads the whole file).
    Empty for a file that cannot be read: it has no version, and is never skipped."""
    if mode not in KEY_MODES:
        raise ValueError(f"key must be one of {', '.join(KEY_MODES)}, not {mode!r}")
    try:
        stat = os.stat(path)
        key: dict = {"size": stat.st_size, "mtime": stat.st_mtime}
        if mode == "hash":
            digest = hashlib.sha256()
            with open(path, "rb") as file:
                while block := file.read(_HASH_BLOCK):
                    digest.update(block)
            key["sha256"] = digest.hexdigest()
    except OSError:
        return {}
    return key


def same_version(record: dict, key: dict) -> bool:
    """Whether ``record`` was made from the file version ``key`` describes: by content hash
    when both have one, else by size and modification time."""
    if not key:
        return False
    if "sha256" in key and "sha256" in record:
        return record["sha256"] == key["sha256"]
    return record.get("size") == key["size"] and record.get("mtime") == key["mtime"]


def read_records(folder: Path) -> list[dict]:
    """Every whole record in ``folder``'s log, oldest first. A torn last line (no newline: the
    writer was killed mid-write) and any line that is not a JSON object are left out."""
    path = folder / RECORDS_NAME
    if not path.is_file():
        return []
    lines = path.read_bytes().split(b"\n")[:-1]  # the piece after the last newline is torn
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "file" in record:
            records.append(record)
    return records


def latest_records(records: list[dict]) -> dict[str, dict]:
    """file -> its last record."""
    return {record["file"]: record for record in records}


class RecordLog:
    """Appends records to ``folder/records.jsonl``, each one durable when ``append`` returns."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / RECORDS_NAME
        _cut_torn_tail(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: dict) -> None:
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        # O_APPEND: every write lands at the end; a short write (disk full) continues there.
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> RecordLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cut_torn_tail(path: Path) -> None:
    """Drop the bytes after the last newline, so the next record starts on a line of its own."""
    if not path.is_file():
        return
    with open(path, "rb+") as file:
        size = file.seek(0, os.SEEK_END)
        if size == 0:
            return
        position = size
        while position > 0:
            step = min(position, 65536)
            file.seek(position - step)
            block = file.read(step)
            newline = block.rfind(b"\n")
            if newline >= 0:
                end = position - step + newline + 1
                break
            position -= step
        else:
            end = 0
        if end != size:
            file.truncate(end)
            file.flush()
            os.fsync(file.fileno())


def write_atomic(path: Path, text: str) -> None:
    """``text`` at ``path``, all or nothing: a temporary file beside it, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_formats(folder: Path, name: str, record: dict, formats: list[str]) -> None:
    """``folder/name.<format>`` for each of ``formats`` (keys of ``FORMATS``) from a record."""
    # Imported here: the writers' imports load torch, which a driver without --formats skips.
    from ..writers import render

    segments = segments_of(record)
    for suffix in formats:
        write_atomic(folder / f"{name}.{suffix}", render(record, segments, FORMATS[suffix]))


def missing_formats(folder: Path, name: str, formats: list[str]) -> list[str]:
    return [suffix for suffix in formats if not (folder / f"{name}.{suffix}").is_file()]


def segments_of(record: dict) -> list:
    """The record's segments as ``Segment`` objects, for the writers."""
    from dataclasses import fields

    from ..segments import Segment

    names = [f.name for f in fields(Segment)]
    return [
        Segment(**{key: item[key] for key in names if key in item})
        for item in record.get("segments", [])
    ]


# Fields that measure time or follow from it (the adaptive draft length learns from measured
# costs), so they differ from run to run whatever the engine.
_TIMING_STATS = (
    "main_encoder_s",
    "draft_encoder_s",
    "drafting_s",
    "verifying_s",
    "draft_lengths",
    "accepted_per_verify",
    "tokens_drafted",
    "tokens_accepted",
    "main_forward_calls",
    "acceptance_rate",
    "tokens_per_verify",
)


def without_timings(record: dict) -> dict:
    """``record`` less what depends on time: for comparing runs, engines and commands."""
    kept = {key: value for key, value in record.items() if key != "seconds"}
    if isinstance(kept.get("stats"), dict):
        kept["stats"] = {k: v for k, v in kept["stats"].items() if k not in _TIMING_STATS}
    return kept


# Scores (avg_logprob, no_speech_prob...) come from logits that verification computes for
# several positions at once; those differ from one-at-a-time logits by ~1e-5, and how many
# positions go together follows the adaptive draft length, i.e. measured time.
SCORE_TOLERANCE = 1e-3


def records_agree(first: dict, second: dict) -> bool:
    """Equal but for timings, with floats equal within ``SCORE_TOLERANCE`` (tokens, text and
    every other integer or string exactly)."""
    return _agree(without_timings(first), without_timings(second))


def _agree(first: object, second: object) -> bool:
    if isinstance(first, float) or isinstance(second, float):
        numbers = (int, float)
        return (
            isinstance(first, numbers)
            and isinstance(second, numbers)
            and abs(first - second) <= SCORE_TOLERANCE
        )
    if isinstance(first, dict) and isinstance(second, dict):
        return first.keys() == second.keys() and all(_agree(first[k], second[k]) for k in first)
    if isinstance(first, list) and isinstance(second, list):
        return len(first) == len(second) and all(map(_agree, first, second))
    return first == second
