"""Evaluation datasets: a manifest, a folder of audio + transcripts, or a Hugging Face dataset.

Manifest: one JSON object per line, ``{"audio": "relative/or/absolute.wav", "text": "..."}``,
paths relative to the manifest's folder. Folder: every audio file with a same-name ``.txt``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..audio import ACCEPTED_FORMATS

DEFAULT_DEV_SET = Path(__file__).resolve().parents[3] / "tests" / "data" / "dev" / "manifest.jsonl"
_AUDIO_SUFFIXES = {f".{ext}" for ext in ACCEPTED_FORMATS} | {".opus"}


class DatasetError(ValueError):
    """The dataset spec does not point at something we can read."""


@dataclass(frozen=True)
class Utterance:
    id: str
    audio_path: Path
    text: str


def load_dataset(spec: str | Path, samples: int | None = None) -> list[Utterance]:
    """Utterances of ``spec`` (manifest .jsonl, folder or ``hf:NAME[:split]``); first N if given."""
    if samples is not None and samples < 1:
        raise DatasetError(f"samples must be at least 1, not {samples}")
    text = str(spec)
    if text.startswith("hf:"):
        utterances = _from_hub(text[3:], samples)
    else:
        path = Path(text).expanduser()
        if path.is_dir() and (path / "manifest.jsonl").is_file():
            path = path / "manifest.jsonl"
        if path.is_file() and path.suffix == ".jsonl":
            utterances = _from_manifest(path)
        elif path.is_dir():
            utterances = _from_folder(path)
        else:
            raise DatasetError(
                f"dataset {text!r} not found: expected a manifest .jsonl file, a folder of audio "
                "files with same-name .txt transcripts, or hf:NAME[:split]"
            )
    if not utterances:
        raise DatasetError(f"dataset {text!r} holds no utterances")
    return utterances[:samples] if samples else utterances


def _from_manifest(path: Path) -> list[Utterance]:
    utterances = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            audio, reference = record["audio"], record["text"]
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
    for audio_path in sorted(p for p in folder.iterdir() if p.suffix.lower() in _AUDIO_SUFFIXES):
        transcript = audio_path.with_suffix(".txt")
        if not transcript.is_file():
            raise DatasetError(f"{audio_path} has no transcript: expected {transcript.name}")
        utterances.append(Utterance(audio_path.stem, audio_path, transcript.read_text().strip()))
    return utterances


def _from_hub(name_and_split: str, samples: int | None) -> list[Utterance]:
    name, _, split = name_and_split.partition(":")
    try:
        import datasets
        import soundfile
    except ImportError:
        raise DatasetError(
            "hf: datasets need `pip install datasets` and a network connection"
        ) from None
    try:
        data = datasets.load_dataset(name, split=split or "validation", streaming=True)
    except Exception as error:  # offline, unknown name, gated dataset...
        raise DatasetError(
            f"cannot load {name!r} from the Hugging Face hub (needs a network): {error}"
        ) from None
    folder = Path(tempfile.mkdtemp(prefix="specwhisper-hf-"))
    utterances = []
    for index, row in enumerate(data):
        if samples is not None and index >= samples:
            break
        audio = row["audio"]
        path = folder / f"{index:05d}.wav"
        soundfile.write(path, audio["array"], audio["sampling_rate"])
        reference = row.get("text") or row.get("sentence") or row.get("transcription") or ""
        utterances.append(Utterance(path.stem, path, reference))
    return utterances
