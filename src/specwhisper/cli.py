"""The ``specwhisper`` console script (``python main.py`` forwards here)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from .decoding.options import MAX_BEAM_SIZE, TASKS


def _add_transcribe(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("transcribe", help="transcribe audio files (up to 30 s each)")
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="audio: wav, flac, ogg, mp3, m4a/mp4, webm"
    )
    parser.add_argument(
        "--model", default="base", help="model name, hub id, folder or preset (default: base)"
    )
    parser.add_argument(
        "--draft", default="auto", help="auto (default), none, self-int8, or a draft model name"
    )
    parser.add_argument(
        "--language", default=None, help="language code such as en or de (default: detect)"
    )
    parser.add_argument("--task", default="transcribe", choices=TASKS)
    parser.add_argument(
        "--beam-size",
        type=int,
        default=1,
        choices=range(1, MAX_BEAM_SIZE + 1),
        metavar=f"1..{MAX_BEAM_SIZE}",
        help="1 = greedy (speculative), 2-5 = beam",
    )
    parser.add_argument(
        "--draft-length",
        type=int,
        default=None,
        help="fixed draft tokens per verification (default: adaptive)",
    )
    parser.add_argument("--output-format", default="text", choices=("text", "json"))
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.set_defaults(handler=_transcribe)


def _transcribe(args: argparse.Namespace) -> int:
    from .audio import AudioDecodeError
    from .transcribe import Transcriber

    transcriber = Transcriber(args.model, args.draft, threads=args.threads)
    failures = 0
    for path in args.files:
        try:
            result = transcriber.transcribe(
                path, args.language, args.task, args.beam_size, draft_length=args.draft_length
            )
        except (AudioDecodeError, ValueError) as error:
            failures += 1
            print(f"error: {path}: {error}", file=sys.stderr)
            continue
        if args.output_format == "json":
            print(json.dumps({"file": path, **result.as_dict()}, ensure_ascii=False))
        else:
            prefix = f"{path}: " if len(args.files) > 1 else ""
            print(prefix + result.text)
    return 1 if failures else 0


def _add_models(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("models", help="list model names and where they come from")
    parser.set_defaults(handler=_models)


def _models(args: argparse.Namespace) -> int:
    from .models.registry import PRESETS, available_offline, known_names, resolve

    print(f"{'name':<16} {'offline':<8} source")
    for name in known_names():
        source = resolve(name)
        offline = "yes" if available_offline(source) else "no"
        print(f"{name:<16} {offline:<8} {source.description}")
    print("\npresets: " + ", ".join(f"{k} = {m} + draft {d}" for k, (m, d) in PRESETS.items()))
    print("also accepted: any hub id (org/name) and any folder with a transformers Whisper model")
    return 0


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


_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_transcribe,
    _add_models,
    _add_benchmark,
    _add_serve,
]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .models.registry import UnknownModelError

    try:
        return args.handler(args)
    except UnknownModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # e.g. a hub model with no network
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
