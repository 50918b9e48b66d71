"""Command-line flags for every ``TranscribeOptions`` field, in one table, and the flags that
pick the models (``add_transcriber_flags``).

``transcribe`` and ``corpus`` share them; a test checks that every option has a flag. Values
are parsed loosely here (``none`` for "off", comma lists) and validated by the options
themselves, so the CLI and the server report the same errors.
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from .decoding.options import TranscribeOptions

_DEFAULTS = TranscribeOptions()


def _optional_float(text: str) -> float | None:
    if text.strip().lower() in ("none", "off", ""):
        return None
    return float(text)


def _temperatures(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part.strip())


# field -> (argparse keyword arguments); the flag is the field name with dashes.
_FLAGS: dict[str, dict] = {
    "language": {"help": "language code such as en or de (default: detect)"},
    "task": {"help": "transcribe (default) or translate (into English)"},
    "beam_size": {"type": int, "metavar": "N", "help": "1 = greedy (speculative), 2-5 = beam"},
    "best_of": {"type": int, "metavar": "N", "help": "samples per window at temperature > 0"},
    "temperature": {
        "type": _temperatures,
        "metavar": "T[,T...]",
        "help": "temperatures tried in turn when a window fails the thresholds "
        "(default 0,0.2,0.4,0.6,0.8,1; 0 = greedy only, every window exact)",
    },
    "compression_ratio_threshold": {
        "type": _optional_float,
        "metavar": "X",
        "help": "retry a window whose text compresses better than this (default 2.4; none: off)",
    },
    "logprob_threshold": {
        "type": _optional_float,
        "metavar": "X",
        "help": "retry a window whose average log-probability is below this (default -1)",
    },
    "no_speech_threshold": {
        "type": _optional_float,
        "metavar": "P",
        "help": "skip a window as silence above this no-speech probability (default 0.6)",
    },
    "condition_on_previous_text": {
        "action": argparse.BooleanOptionalAction,
        "help": "prompt each window with the text before it (default: on)",
    },
    "initial_prompt": {"metavar": "TEXT", "help": "text to prompt the first window with"},
    "without_timestamps": {
        "action": "store_true",
        "help": "no timestamp tokens: one segment per 30 s window",
    },
    "max_initial_timestamp": {
        "type": float,
        "metavar": "SECONDS",
        "help": "latest first timestamp of a window (default 1.0)",
    },
    "max_new_tokens": {"type": int, "metavar": "N", "help": "at most N tokens per window (224)"},
    "seed": {"type": int, "metavar": "N", "help": "seed for sampling at temperature > 0"},
    "use_speculative": {
        "flag": "--speculative",
        "action": argparse.BooleanOptionalAction,
        "help": "speculative decoding (default: on; the output is the same either way)",
    },
    "draft_length": {
        "type": int,
        "metavar": "K",
        "help": "fixed draft tokens per verification (default: adaptive)",
    },
    "vad": {
        "action": "store_true",
        "help": "VAD-batched long form: speech chunks of up to 30 s decoded in batches, "
        "without the previous text as prompt",
    },
    "batch_size": {
        "type": int,
        "metavar": "N",
        "help": "files (or VAD chunks) decoded together (default 8)",
    },
    "word_timestamps": {
        "action": "store_true",
        "help": "word-level timestamps: `words` in each JSON segment (from cross-attention)",
    },
}


def add_transcriber_flags(parser: argparse.ArgumentParser, tasks: tuple[str, ...]) -> None:
    """The flags every transcribing command has: models, compute type, every option, the
    duration limit, threads and the progress bar (``transcribe`` and ``corpus`` both call it)."""
    parser.add_argument(
        "--model", default="base", help="model name, hub id, folder or preset (default: base)"
    )
    parser.add_argument(
        "--draft",
        default="auto",
        help="auto (default), none, self-int8, ngram, ngram+DRAFT, or a draft model name",
    )
    parser.add_argument(
        "--compute-type",
        default="float32",
        choices=("float32", "int8"),
        help="the main model in float32 (default) or 8-bit integers (faster, its own output)",
    )
    parser.add_argument(
        "--device",
        default=None,
        help="where the models compute: auto (a GPU when PyTorch sees one), cpu, cuda or "
        "cuda:N (default: $SPECWHISPER_DEVICE, else auto); int8 needs the CPU",
    )
    add_option_flags(parser, tasks=tasks)
    parser.add_argument(
        "--max-duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="refuse audio longer than this (default: no limit)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for torch (corpus: per worker, default cores / workers)",
    )


def checked_models(args: argparse.Namespace) -> tuple[str, str]:
    """The (model, draft) that ``--model`` and ``--draft`` name, checked without loading any
    weights: an unknown name raises ``UnknownModelError`` before anything is read."""
    from .models.registry import resolve, resolve_pair

    model, draft = resolve_pair(args.model, args.draft)
    resolve(model)
    model_draft = draft.removeprefix("ngram+")
    if model_draft not in ("auto", "none", "self-int8", "ngram"):
        resolve(model_draft)
    return model, draft


def add_option_flags(parser: argparse.ArgumentParser, tasks: tuple[str, ...]) -> None:
    """One flag per ``TranscribeOptions`` field; left out, a flag keeps the option's default."""
    for field in fields(TranscribeOptions):
        spec = dict(_FLAGS[field.name])
        flag = spec.pop("flag", "--" + field.name.replace("_", "-"))
        if field.name == "task":
            spec["choices"] = tasks
        parser.add_argument(flag, dest=field.name, default=None, **spec)


def options_from_args(args: argparse.Namespace) -> TranscribeOptions:
    """The options the flags ask for (flags left out keep the defaults; not validated yet)."""
    given = {
        field.name: getattr(args, field.name)
        for field in fields(TranscribeOptions)
        if getattr(args, field.name, None) is not None
    }
    for switch in ("without_timestamps", "word_timestamps"):  # store_true: False = left out
        if given.get(switch) is False:
            del given[switch]
    return TranscribeOptions(**{**_DEFAULTS.__dict__, **given})


def flag_fields() -> set[str]:
    """Option fields that have a flag (the tests compare this with the options)."""
    return set(_FLAGS)
