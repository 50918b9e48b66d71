"""VAD-batched long form against faster-whisper's batched pipeline, alternated, each timing in a
process of its own.

The benchmark's ``batch`` mode times each configuration once, and on this noisy machine one
pass of ~30 s can swing by 15 %. Engines in one process also slow each other down: two OpenMP
runtimes (PyTorch's, CTranslate2's) share the cores, and at batch 8 faster-whisper float32
took 34.2 s beside ours against 25.9 s alone (the ``batch`` mode now runs faster-whisper in a
process of its own too). Here every timing is a fresh process (load, one warm-up file, then
the timed pass over the long dev files), ours (``self-int8``) and faster-whisper in turn,
``--rounds`` times per batch size and compute type; the median of each and their ratio are
printed (and written to ``--output``).

    python scripts/vad_alternated.py --batch-size 1 8 --rounds 3 \
        --output bench/results/vad-alternated
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _child(engine: str, compute_type: str, model: str, batch_size: int) -> None:
    """One timed pass in this process; prints the seconds."""
    from specwhisper.bench.batch import LONG_FORM_GREEDY, faster_whisper_batched
    from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset
    from specwhisper.transcribe import Transcriber

    paths = [u.audio_path for u in load_dataset(LONG_DEV_SET)]
    if engine == "ours":
        transcriber = Transcriber(model, "self-int8", compute_type=compute_type)
        options = {**LONG_FORM_GREEDY, "language": "en", "vad": True}

        def run(files) -> None:
            for path in files:
                transcriber.transcribe(path, batch_size=batch_size, **options)
    else:

        def run(files) -> None:
            for path in files:
                faster_whisper_batched(model, path, batch_size, compute_type, 2, "en")

    run(paths[:1])  # warm: weights paged in, kernels built
    began = time.perf_counter()
    run(paths)
    print(f"{time.perf_counter() - began:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, nargs="+", default=[8], help="one or more")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="base")
    parser.add_argument("--output", type=Path, help="folder for results.md")
    # One timing (ours|theirs, float32|int8): the parent runs each in a process of its own.
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "TYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.batch_size) < 1 or args.rounds < 1:
        parser.error("--batch-size and --rounds must be at least 1")
    if args.child:
        _child(*args.child, args.model, args.batch_size[0])
        return 0
    from specwhisper.bench.report import cpu_name

    sizes = " ".join(str(size) for size in args.batch_size)
    lines = [
        f"$ python scripts/vad_alternated.py --batch-size {sizes} "
        f"--rounds {args.rounds} --model {args.model}",
        f"CPU: {cpu_name()}; the 3 long dev files, VAD, greedy, timestamps; each timing a "
        f"process of its own; median of {args.rounds} alternated rounds",
        "",
        "| batch | compute type | specwhisper self-int8 s | faster-whisper s | speed-up |",
        "|---|---|---|---|---|",
    ]
    for size in args.batch_size:
        for compute_type in ("float32", "int8"):
            lines.append(_compared(args, size, compute_type))
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / "results.md").write_text(text)
    return 0


def _compared(args: argparse.Namespace, size: int, compute_type: str) -> str:
    """One table row: both engines ``args.rounds`` times, alternating which goes first."""
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    for round_ in range(args.rounds):
        order = ["ours", "theirs"] if round_ % 2 == 0 else ["theirs", "ours"]
        for engine in order:
            command = [sys.executable, __file__, "--child", engine, compute_type]
            command += ["--model", args.model, "--batch-size", str(size)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            times[engine].append(float(done.stdout.strip().splitlines()[-1]))
    ours, theirs = (statistics.median(times[k]) for k in ("ours", "theirs"))
    return (
        f"| {size} | {compute_type} | {ours:.1f} ({', '.join(f'{t:.1f}' for t in times['ours'])}) "
        f"| {theirs:.1f} ({', '.join(f'{t:.1f}' for t in times['theirs'])}) "
        f"| {theirs / ours:.2f}x |"
    )


if __name__ == "__main__":
    sys.exit(main())
