"""Evaluation datasets: a manifest, a folder of audio + transcripts, or a Hugging Face dataset.

Manifest: one JSON object per line, ``{"audio": "relative/or/absolute.wav", "text": "..."}``,
paths relative to the manifest's folder. Folder: every audio file with a same-name ``.txt``.
Hub: ``hf:NAME[:split]`` or ``hf:NAME:CONFIG:SPLIT``, streamed, clips written to a temp folder.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..audio import ACCEPTED_FORMATS

# src/specwhisper/evaluation/datasets.py -> parents[3] is the repository root.
_TEST_DATA = Path(__file__).resolve().parents[3] / "tests" / "data"
DEFAULT_DEV_SET = _TEST_DATA / "dev" / "manifest.jsonl"
# Three 1.5-5 minute files of prose; their manifest lines also carry per-sentence times.
LONG_DEV_SET = _TEST_DATA / "long" / "manifest.jsonl"
MANIFEST_NAME = "manifest.jsonl"
AUDIO_SUFFIXES = {f".{ext}" for ext in ACCEPTED_FORMATS} | {".opus"}
_EXPECTED = (
    "expected a manifest .jsonl file, a folder holding manifest.jsonl, a folder of audio files "
    "with same-name .txt transcripts, or hf:NAME[:split]"
)
# Column names the common ASR sets on the hub use for the reference transcript.
_HUB_TEXT_COLUMNS = ("text", "sentence", "transcription", "normalized_text", "transcript")


class DatasetError(ValueError):
    """The dataset spec does not point at something we can read."""


@dataclass(frozen=True)
class Utterance:
    """One clip and its reference transcript; ``id`` is the audio file's stem."""

    id: str
    audio_path: Path
    text: str


def load_dataset(spec: str | Path, samples: int | None = None) -> list[Utterance]:
    """Utterances of ``spec`` (manifest .jsonl, folder or ``hf:...``); the first N if given."""
    if samples is not None and samples < 1:
        raise DatasetError(f"samples must be at least 1, not {samples}")
    text = str(spec)
    if text.startswith("hf:"):
        utterances = _from_hub(text[3:], samples)
    else:
        path = Path(text).expanduser()
        if path.is_dir() and (path / MANIFEST_NAME).is_file():
            path = path / MANIFEST_NAME
        if path.is_file() and path.suffix == ".jsonl":
            utterances = _from_manifest(path)
        elif path.is_dir():
            utterances = _from_folder(path)
        elif path.exists():
            raise DatasetError(
                f"dataset {text!r} is not a .jsonl manifest or a folder: {_EXPECTED}"
            )
        else:
            raise DatasetError(f"dataset {text!r} not found: {_EXPECTED}")
    if not utterances:
        raise DatasetError(f"dataset {text!r} holds no utterances: {_EXPECTED}")
    return utterances[:samples]


def _from_manifest(path: Path) -> list[Utterance]:
    utterances = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            audio, reference = record["audio"], record["text"]
            if not isinstance(audio, str) or not isinstance(reference, str):
                raise TypeError
        except (json.JSONDecodeError, KeyError, TypeError):
            raise DatasetError(
                f'{path}:{number}: expected {{"audio": "path", "text": "transcript"}}'
            ) from None
        audio_path = (path.parent / audio).resolve()
        if not audio_path.is_file():
            raise DatasetError(f"{path}:{number}: audio file {audio_path} does not exist")
        utterances.append(Utterance(Path(audio).stem, audio_path, reference))
    return utterances


def _from_folder(folder: Path) -> list[Utterance]:
    utterances = []
    audio_paths = sorted(
        path
        for path in folder.iterdir()
        # Dot files are editor and macOS metadata ("._clip.wav"), never audio.
        if path.suffix.lower() in AUDIO_SUFFIXES and not path.name.startswith(".")
    )
    for audio_path in audio_paths:
        transcript = audio_path.with_suffix(".txt")
        if not transcript.is_file():
            raise DatasetError(f"{audio_path} has no transcript: expected {transcript.name}")
        reference = transcript.read_text(encoding="utf-8").strip()
        utterances.append(Utterance(audio_path.stem, audio_path.resolve(), reference))
    return utterances


def _from_hub(name_and_split: str, samples: int | None) -> list[Utterance]:
    name, *rest = name_and_split.split(":")
    if not name or len(rest) > 2:
        raise DatasetError(
            f"hf:{name_and_split!r}: expected hf:NAME[:split] or hf:NAME:CONFIG:SPLIT"
        )
    config = rest[0] if len(rest) == 2 else None
    split = rest[-1] if rest else "validation"
    try:
        import datasets
    except ImportError:
        raise DatasetError(
            "hf: datasets need `pip install datasets` and a network connection"
        ) from None
    try:
        data = datasets.load_dataset(name, config, split=split, streaming=True)
        # Undecoded audio is the file's own bytes: no dependence on the library's decoder
        # (torchcodec in datasets 4); load_audio decodes them later like any file.
        data = data.cast_column("audio", datasets.Audio(decode=False))
        folder = Path(tempfile.mkdtemp(prefix="specwhisper-hf-"))
        utterances = []
        for index, row in enumerate(data):
            if samples is not None and index >= samples:
                break
            utterances.append(_write_hub_row(row, index, folder))
    except DatasetError:
        raise
    except Exception as error:  # offline, unknown name, gated dataset, no "audio" column...
        raise DatasetError(
            f"cannot load {name!r} from the Hugging Face hub (needs `pip install datasets` and "
            f"a network): {error.__class__.__name__}: {error}"
        ) from None
    return utterances


def _write_hub_row(row: dict, index: int, folder: Path) -> Utterance:
    audio = row["audio"]
    source = Path(audio.get("path") or "")
    data = audio.get("bytes")
    if data is None:  # a dataset stored as local files keeps only their path
        data = source.read_bytes()
    path = folder / f"{index:05d}{source.suffix or '.wav'}"
    path.write_bytes(data)
    reference = next((row[key] for key in _HUB_TEXT_COLUMNS if row.get(key)), None)
    if reference is None:
        raise DatasetError(f"row {index} has no transcript column ({', '.join(_HUB_TEXT_COLUMNS)})")
    return Utterance(path.stem, path, reference)
