"""VAD-batched long form against faster-whisper's batched pipeline, alternated: the benchmark's
``batch`` mode times each configuration once, and on a noisy machine one pass of ~30 s can
swing by 15 %. Here, at one batch size, ours (``self-int8``) and faster-whisper run in turn,
per compute type, ``--rounds`` times over the long dev files; the median time of each and
their ratio are printed (and written to ``--output`` when given).

    python scripts/vad_alternated.py --batch-size 8 --rounds 3 --output bench/results/vad-alternated
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from specwhisper.bench.batch import LONG_FORM_GREEDY, _faster_whisper_batched
from specwhisper.bench.report import _cpu_name as cpu_name
from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset
from specwhisper.transcribe import Transcriber


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="base")
    parser.add_argument("--output", type=Path, help="folder for results.md")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.rounds < 1:
        parser.error("--batch-size and --rounds must be at least 1")
    paths = [u.audio_path for u in load_dataset(LONG_DEV_SET)]
    options = {**LONG_FORM_GREEDY, "language": "en", "vad": True}
    lines = [
        f"$ python scripts/vad_alternated.py --batch-size {args.batch_size} "
        f"--rounds {args.rounds} --model {args.model}",
        f"CPU: {cpu_name()}; {len(paths)} long dev files; median of {args.rounds} alternated "
        "rounds",
        "",
        "| compute type | specwhisper self-int8 s | faster-whisper s | speed-up |",
        "|---|---|---|---|",
    ]
    for compute_type in ("float32", "int8"):
        ours = Transcriber(args.model, "self-int8", compute_type=compute_type)

        def run_ours(transcriber=ours) -> None:
            for path in paths:
                transcriber.transcribe(path, batch_size=args.batch_size, **options)

        def run_theirs(compute_type=compute_type) -> None:
            _faster_whisper_batched(args.model, paths, args.batch_size, compute_type, 2, "en")

        run_ours(), run_theirs()  # warm: weights paged in, kernels built
        times: dict[str, list[float]] = {"ours": [], "theirs": []}
        for round_ in range(args.rounds):
            order = [("ours", run_ours), ("theirs", run_theirs)]
            for name, run in order if round_ % 2 == 0 else reversed(order):
                began = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - began)
        ours_s, theirs_s = (statistics.median(times[k]) for k in ("ours", "theirs"))
        lines.append(
            f"| {compute_type} | {ours_s:.1f} ({', '.join(f'{t:.1f}' for t in times['ours'])}) "
            f"| {theirs_s:.1f} ({', '.join(f'{t:.1f}' for t in times['theirs'])}) "
            f"| {theirs_s / ours_s:.2f}x |"
        )
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / "results.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
