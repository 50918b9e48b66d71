"""What a corpus run reads: input specs -> files, each with a stable output name.

An input is a folder (every audio file below it), a glob (``'calls/**/*.mp3'``), one audio
file, a manifest (``.jsonl`` lines ``{"audio": path, ...}`` as the benchmarks read them, or a
``.csv`` with an ``audio``/``path``/``file`` column), a list of paths (``.txt``/``.lst``/
``.list``, one per line, ``#`` comments), or ``hf:NAME[:split]`` (a Hugging Face dataset, as
the benchmarks load it). Paths inside manifests and lists are relative to their own folder.
A manifest entry that does not exist is not a usage error: it becomes a failed record, like any
unreadable file, so one stale line does not stop a run of thousands.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionsError
from ..evaluation.datasets import AUDIO_SUFFIXES, DatasetError, load_dataset

MANIFEST_SUFFIXES = (".jsonl", ".csv")
LIST_SUFFIXES = (".txt", ".lst", ".list")
# Columns (or JSON keys) that hold the audio path in a manifest, tried in this order.
PATH_KEYS = ("audio", "path", "file")
_EXPECTED = (
    "expected a folder, a glob, an audio file, a manifest (.jsonl, .csv), a list of paths "
    "(.txt, .lst, .list) or hf:NAME[:split]"
)


class CorpusUsageError(OptionsError):
    """The command line asks for something a corpus run cannot do (exit code 2)."""


@dataclass(frozen=True)
class CorpusFile:
    """One input file. ``path`` is absolute (symbolic links kept): with the file's size and
    modification time (or content hash) it is the key a re-run uses to skip the file. ``name``
    is where its subtitle files go, relative to the output folder and without a suffix
    (``calls/2024/a`` for ``INPUT/calls/2024/a.wav``: ``calls/2024/a.srt``)."""

    path: str
    name: str


def expand_inputs(specs: list[str], reserved: tuple[str, ...] = ()) -> list[CorpusFile]:
    """Every file the specs name, once each, in order, with unique output names; a name in
    ``reserved`` (the run's own files in the output folder) counts as taken."""
    found: list[tuple[str, Path]] = []  # (absolute path, base folder its name is relative to)
    for spec in specs:
        found += _expand(spec)
    seen: set[str] = set()
    unique = [(p, base) for p, base in found if not (p in seen or seen.add(p))]
    if not unique:
        raise CorpusUsageError(f"no audio files in {' '.join(specs)}: {_EXPECTED}", "inputs")
    names = [_relative_name(path, base) for path, base in unique]
    # Two inputs that want the same name (a.wav and a.mp3, or two folders with a.wav) each get
    # a short hash of their path: stable across re-runs with the same inputs.
    count: dict[str, int] = defaultdict(int, {name: 1 for name in reserved})
    for name in names:
        count[name] += 1
    return [
        CorpusFile(path, name if count[name] == 1 else f"{name}-{_short_hash(path)}")
        for (path, _), name in zip(unique, names, strict=True)
    ]


def _expand(spec: str) -> list[tuple[str, Path]]:
    if spec.startswith("hf:"):
        try:
            utterances = load_dataset(spec)
        except DatasetError as error:
            raise CorpusUsageError(str(error), "inputs") from None
        return [(_absolute(u.audio_path), u.audio_path.parent) for u in utterances]
    path = Path(spec).expanduser()
    if glob.has_magic(spec) and not path.exists():
        return _from_glob(spec)
    if path.is_dir():
        return _from_folder(path)
    if not path.is_file():
        raise CorpusUsageError(f"input {spec!r} not found: {_EXPECTED}", "inputs")
    suffix = path.suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return [(_absolute(path), path.parent)]
    if suffix == ".jsonl":
        entries = _jsonl_paths(path)
    elif suffix == ".csv":
        entries = _csv_paths(path)
    elif suffix in LIST_SUFFIXES:
        entries = _list_paths(path)
    else:
        raise CorpusUsageError(f"input {spec!r} has an unknown suffix: {_EXPECTED}", "inputs")
    paths = [_absolute(path.parent / entry) for entry in entries]
    return [(p, _common_base(paths, path.parent)) for p in paths]


def _from_folder(folder: Path) -> list[tuple[str, Path]]:
    files = sorted(
        p
        for p in folder.rglob("*")
        # Dot files are editor and macOS metadata ("._clip.wav"), never audio.
        if p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )
    return [(_absolute(p), folder) for p in files]


def _from_glob(pattern: str) -> list[tuple[str, Path]]:
    # The folder before the first wildcard is the base of the output names.
    fixed = list(_until_magic(Path(pattern).expanduser().parts))
    base = Path(*fixed) if fixed else Path(".")
    matches = sorted(glob.glob(str(Path(pattern).expanduser()), recursive=True))
    # A glob names its files explicitly, so any suffix is taken; folders are not files.
    return [(_absolute(Path(m)), base) for m in matches if Path(m).is_file()]


def _until_magic(parts: tuple[str, ...]):
    for part in parts:
        if glob.has_magic(part):
            return
        yield part


def _jsonl_paths(manifest: Path) -> list[str]:
    paths = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            paths.append(next(record[k] for k in PATH_KEYS if isinstance(record.get(k), str)))
        except (json.JSONDecodeError, StopIteration, AttributeError):
            raise CorpusUsageError(
                f"{manifest}:{number}: expected a JSON object with an audio path under one of "
                f"the keys {', '.join(PATH_KEYS)}",
                "inputs",
            ) from None
    return paths


def _csv_paths(manifest: Path) -> list[str]:
    with manifest.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(k) for k in PATH_KEYS if k in header), None)
    if column is None:
        raise CorpusUsageError(
            f"{manifest}: the first row must name the audio column, one of {', '.join(PATH_KEYS)}",
            "inputs",
        )
    return [row[column].strip() for row in rows[1:] if len(row) > column and row[column].strip()]


def _list_paths(listing: Path) -> list[str]:
    try:
        text = listing.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorpusUsageError(
            f"{listing} is not a text list of paths (one per line): {_EXPECTED}", "inputs"
        ) from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _common_base(paths: list[str], folder: Path) -> Path:
    """The folder names are relative to for a manifest's or list's entries: its own folder
    when they all lie below it, else the deepest folder they share (``find /data > list.txt``
    names ``a/b.wav`` as ``a/b``, not by a hash)."""
    inside = [p for p in paths if Path(p).is_relative_to(_absolute(folder))]
    if len(inside) == len(paths) or not paths:
        return folder
    return Path(os.path.commonpath([os.path.dirname(p) for p in paths]))


def _absolute(path: Path) -> str:
    # abspath, not resolve: a corpus reached through a symbolic link keeps its own paths.
    return os.path.abspath(path)


def _relative_name(path: str, base: Path) -> str:
    try:
        relative = Path(path).relative_to(_absolute(base))
    except ValueError:  # outside its base (an absolute path in a manifest): name + path hash
        return f"{Path(path).stem}-{_short_hash(path)}"
    return relative.with_suffix("").as_posix()


def _short_hash(path: str) -> str:
    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:8]
