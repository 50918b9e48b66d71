"""``specwhisper serve`` (alias ``api``): run the HTTP server with uvicorn."""

from __future__ import annotations

import argparse
import sys

from ..hardware import share_cores_politely

# CLI flag -> ServerSettings field; flags left out fall back to SPECWHISPER_* variables.
_SETTING_FLAGS = {
    "model": "default_model",
    "draft": "default_draft",
    "preload": "preload",
    "concurrency": "concurrency",
    "max_queue": "max_queue",
    "threads": "threads",
    "device": "device",
}


def add_serve_parsers(commands: argparse._SubParsersAction) -> None:
    for name, help_text in (
        ("serve", "run the HTTP API (native + OpenAI-compatible)"),
        ("api", "same as serve"),
    ):
        parser = commands.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="default: 8000")
        parser.add_argument(
            "--model", help="default model or preset (env SPECWHISPER_DEFAULT_MODEL; base)"
        )
        parser.add_argument("--draft", help="default draft (env SPECWHISPER_DEFAULT_DRAFT; auto)")
        parser.add_argument(
            "--preload", help="more model[:draft] to load at startup, comma-separated"
        )
        parser.add_argument(
            "--concurrency", type=int, help="transcriptions run at once (default 1)"
        )
        parser.add_argument(
            "--max-queue", type=int, help="requests that may wait beyond those running (32)"
        )
        parser.add_argument("--threads", type=int, help="CPU threads for torch")
        parser.add_argument(
            "--device", help="auto, cpu, cuda or cuda:N (env SPECWHISPER_DEVICE; auto)"
        )
        parser.add_argument(
            "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
        )
        parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    # Idle OpenMP threads must not spin on cores the event loop shares (``hardware``). Only
    # before torch loads.
    if share_cores_politely() and "torch" in sys.modules:
        print(
            "note: torch was loaded before the server could set OMP_WAIT_POLICY=PASSIVE; "
            "set it in the environment for steadier latency on a busy CPU",
            file=sys.stderr,
        )
    import uvicorn
    from pydantic import ValidationError

    from .app import create_app
    from .settings import ServerSettings

    overrides = {
        field: getattr(args, flag)
        for flag, field in _SETTING_FLAGS.items()
        if getattr(args, flag) is not None
    }
    try:
        settings = ServerSettings(**overrides)
    except ValidationError as error:
        print(f"error: bad server settings:\n{error}", file=sys.stderr)
        return 2
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0
