"""``specwhisper corpus INPUT... --output DIR``: transcribe many files, resumably.

Exit codes as ``transcribe``: 0 every file transcribed, 1 some file failed (its record says
why), 2 bad usage (unknown model, bad option, an input that does not exist, an output folder
made with other settings): nothing was transcribed; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from ..decoding.options import TASKS
from ..transcribe_flags import add_transcriber_flags, checked_models, options_from_args
from .records import FORMATS, KEY_MODES
from .run import ENGINES

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130  # 130: the shells' code for Ctrl-C


def add_corpus_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "corpus",
        help="transcribe many files into a resumable record log (locally or on Ray)",
        description="Transcribe every file the inputs name into OUTPUT/records.jsonl (one JSON "
        "line per file, as `transcribe --output-format json`, with status and error). Running "
        "the same command again skips the files already transcribed.",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="a folder (searched recursively), a glob, an audio file, a manifest (.jsonl with "
        "an audio key, .csv with an audio column), a list of paths (.txt), or hf:NAME[:split]",
    )
    parser.add_argument("--output", type=Path, required=True, metavar="DIR")
    add_transcriber_flags(parser, tasks=TASKS)
    parser.add_argument(
        "--formats",
        type=_formats,
        default=[],
        metavar="F[,F...]",
        help=f"also write DIR/<name>.<format> per file: {', '.join(FORMATS)} (default: none)",
    )
    parser.add_argument("--engine", choices=ENGINES, default="local", help="default: local")
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="processes or Ray actors (default 1)"
    )
    parser.add_argument(
        "--key",
        choices=KEY_MODES,
        default="stat",
        help="what makes a file 'done before': stat = path, size and modification time "
        "(default), hash = path and SHA-256 of the content (reads every file once per run)",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="join this Ray cluster (auto, or ray://HOST:10001); default: start a local one",
    )
    parser.set_defaults(handler=_corpus)


def _formats(text: str) -> list[str]:
    chosen = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown format {unknown[0]!r}: choose from {', '.join(FORMATS)}"
        )
    return list(dict.fromkeys(chosen))


def _corpus(args: argparse.Namespace) -> int:
    from .inputs import CorpusUsageError
    from .run import CorpusConfig, run_corpus
    from .work import WorkerSettings

    if args.workers < 1:
        raise CorpusUsageError(f"--workers must be at least 1, not {args.workers}", "workers")
    model, draft = checked_models(args)
    options = options_from_args(args)  # --batch-size is an option: files decoded together
    # What can be checked without the model; the language against the model is checked by
    # each worker as it loads (an English-only model refuses --language de there).
    options.validated({options.language or "en": 0})
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    settings = WorkerSettings(
        model=model,
        draft=draft,
        compute_type=args.compute_type,
        threads=args.threads or max(1, (cores or 1) // args.workers),
        options=options,
        max_duration=args.max_duration,
        device=args.device,
    )
    config = CorpusConfig(
        inputs=args.inputs,
        output=args.output,
        settings=settings,
        formats=args.formats,
        engine=args.engine,
        workers=args.workers,
        batch_size=options.batch_size,
        key=args.key,
        ray_address=args.ray_address,
        progress=not args.no_progress,
        command=shlex.join(["specwhisper", *sys.argv[1:]]),
    )
    try:
        summary = run_corpus(config)
    except KeyboardInterrupt:
        # Every record written so far is whole and fsynced: the same command resumes.
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    for line in summary.lines():
        print(line, file=sys.stderr)
    print(f"records: {args.output / 'records.jsonl'}", file=sys.stderr)
    return EXIT_FAILED if summary.failed else EXIT_OK
