"""The ``specwhisper`` console script (``python main.py`` forwards here).

Exit codes: 0 every file transcribed, 1 some file failed (each failure is one line on stderr,
naming the file once), 2 bad usage (unknown model, bad option value): nothing was transcribed.
Inputs and names are checked before any model loads.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .decoding.options import TASKS
from .transcribe_flags import add_transcriber_flags, checked_models, options_from_args
from .writers import EXTENSIONS, OUTPUT_FORMATS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _add_transcribe(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "transcribe",
        help="transcribe audio files of any length",
        description="Transcribe audio files (any length: 30 s windows with timestamps).",
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="audio: wav, flac, ogg, mp3, m4a/mp4, webm"
    )
    add_transcriber_flags(parser, tasks=TASKS)
    parser.add_argument("--output-format", default="text", choices=OUTPUT_FORMATS)
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="write one file per input there (NAME.txt/.json/.srt/.vtt/.tsv) instead of stdout",
    )
    parser.set_defaults(handler=_transcribe)


def _transcribe(args: argparse.Namespace) -> int:
    from .audio import DecodeLimits, open_audio
    from .errors import SpecwhisperError

    limits = DecodeLimits(max_seconds=args.max_duration)
    # Cheap checks first: names, then every input's header, before a model loads.
    model, draft = checked_models(args)
    failures = 0
    streams = []
    for path in args.files:
        try:
            streams.append((path, open_audio(path, limits)))
        except SpecwhisperError as error:
            failures += 1
            _error(error)
    if not streams:
        return EXIT_FAILED
    from .transcribe import Transcriber

    transcriber = Transcriber(
        model, draft, threads=args.threads, compute_type=args.compute_type, device=args.device
    )
    options = transcriber.options(options_from_args(args))  # bad values: exit 2 (main)
    if args.output_dir is not None:
        args.output_dir.mkdir(parents=True, exist_ok=True)
    if len(streams) > 1 and options.batch_size > 1:
        # Several files: decoded together, batch_size at a time (each one's text is what it
        # would be alone); results come out in the order given.
        results = transcriber.transcribe_batch([s for _, s in streams], options, limits=limits)
    else:
        results = []
        for _, stream in streams:
            try:
                results.append(_run_one(transcriber, stream, options, limits, args))
            except SpecwhisperError as error:
                results.append(error)
    for (path, _), result in zip(streams, results, strict=True):
        if isinstance(result, SpecwhisperError):
            failures += 1
            _error(result)
            continue
        _emit(path, result, args, len(args.files) > 1)
    return EXIT_FAILED if failures else EXIT_OK


def _run_one(transcriber, stream, options, limits, args):
    bar = None
    declared = stream.declared_seconds or 0.0
    if not args.no_progress and sys.stderr.isatty() and declared > 30:
        from tqdm import tqdm

        bar = tqdm(total=round(declared, 1), unit="s", desc=Path(stream.name).name, leave=False)

    def progress(done: float, total: float) -> None:
        if bar is not None:
            bar.total = round(total, 1)
            bar.update(round(done, 1) - bar.n)

    try:
        return transcriber.transcribe(stream, options, limits=limits, progress=progress)
    finally:
        if bar is not None:
            bar.close()


def _emit(path: str, result, args: argparse.Namespace, several: bool) -> None:
    from .writers import render

    record = {"file": path, **result.as_dict()}
    content = render(record, result.segments, args.output_format)
    if args.output_dir is not None:
        target = args.output_dir / f"{Path(path).stem}.{EXTENSIONS[args.output_format]}"
        target.write_text(content, encoding="utf-8")
        return
    if args.output_format == "text" and several:
        content = f"{path}: {content}"
    sys.stdout.write(content)
    sys.stdout.flush()


def _error(error: Exception) -> None:
    # Engine messages already name the file; one line each.
    message = " ".join(str(error).split())
    print(f"error: {message}", file=sys.stderr)


def _add_models(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("models", help="list model names and where they come from")
    parser.set_defaults(handler=_models)


def _models(args: argparse.Namespace) -> int:
    from .models.local import MODELS_DIR_ENV, hub_cache_dir, models_dir
    from .models.registry import PRESETS, available_offline, known_names, resolve

    # The source each name would load from now: models folder, then HF cache, then the hub.
    print(f"{'name':<16} {'offline':<8} {'source':<8} where")
    for name in known_names():
        source = resolve(name)
        offline = "yes" if available_offline(source) else "no"
        print(f"{name:<16} {offline:<8} {source.kind:<8} {source.description}")
    print("\npresets: " + ", ".join(f"{k} = {m} + draft {d}" for k, (m, d) in PRESETS.items()))
    print("also accepted: any hub id (org/name) and any folder with a transformers Whisper model")
    print(f"models folder (${MODELS_DIR_ENV}): {models_dir() or 'not set'}")
    print(f"Hugging Face cache: {hub_cache_dir()}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="specwhisper",
        description="Whisper transcription, made faster by lossless speculative decoding.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for add in _COMMANDS:
        add(commands)
    return parser


def _add_benchmark(commands: argparse._SubParsersAction) -> None:
    from .bench.cli import add_benchmark_parser

    add_benchmark_parser(commands)


def _add_serve(commands: argparse._SubParsersAction) -> None:
    from .server.cli import add_serve_parsers

    add_serve_parsers(commands)  # `serve`, and `api` as in the original project


def _add_corpus(commands: argparse._SubParsersAction) -> None:
    from .corpus.cli import add_corpus_parser

    add_corpus_parser(commands)


_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_transcribe,
    _add_corpus,
    _add_models,
    _add_benchmark,
    _add_serve,
]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import (
        DraftError,
        ModelUnavailableError,
        OptionsError,
        SpecwhisperError,
        UnknownModelError,
    )

    try:
        return args.handler(args)
    except (UnknownModelError, OptionsError, DraftError, ModelUnavailableError) as error:
        _error(error)
        return EXIT_USAGE
    except SpecwhisperError as error:
        _error(error)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
