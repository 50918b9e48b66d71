"""Form fields for every ``TranscribeOptions`` field (native routes), parsed but not validated:
the engine validates once (``Transcriber.options``) and names the field in its errors.

A field left out (or empty) keeps the option's default. Thresholds take ``none`` for "off";
``temperature`` takes one number or a comma-separated ladder.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form

from ..errors import OptionsError

OFF = ("none", "off", "null")


def parse_temperature(text: str, field: str = "temperature") -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise OptionsError(
            f"{field} must be a number from 0 to 1 or a comma-separated list of them, not {text!r}",
            "temperature",
        ) from None
    return values


def _threshold(text: str, field: str) -> float | None:
    if text.strip().lower() in OFF:
        return None
    try:
        return float(text)
    except ValueError:
        raise OptionsError(
            f"{field} must be a number or 'none' (off), not {text!r}", field
        ) from None


def option_fields(
    language: Annotated[
        str | None, Form(description="language code such as en or de; empty: detect")
    ] = None,
    task: Annotated[str | None, Form(description="transcribe (default) or translate")] = None,
    beam_size: Annotated[
        int | None, Form(description="1 = greedy (speculative, default); 2-5 = beam search")
    ] = None,
    best_of: Annotated[int | None, Form(description="samples per window at T > 0 (1)")] = None,
    temperature: Annotated[
        str | None,
        Form(description="a temperature, or the fallback ladder 0,0.2,0.4,0.6,0.8,1 (default)"),
    ] = None,
    compression_ratio_threshold: Annotated[
        str | None, Form(description="retry a window above this ratio (2.4); none: off")
    ] = None,
    logprob_threshold: Annotated[
        str | None, Form(description="retry a window below this log-probability (-1); none")
    ] = None,
    no_speech_threshold: Annotated[
        str | None, Form(description="skip a window above this no-speech probability (0.6)")
    ] = None,
    condition_on_previous_text: Annotated[
        bool | None, Form(description="prompt each window with earlier text (true)")
    ] = None,
    initial_prompt: Annotated[
        str | None, Form(description="text to prompt the first window with")
    ] = None,
    without_timestamps: Annotated[
        bool | None, Form(description="true: one segment per 30 s window (false)")
    ] = None,
    max_initial_timestamp: Annotated[
        float | None, Form(description="latest first timestamp of a window, seconds (1.0)")
    ] = None,
    max_new_tokens: Annotated[
        int | None, Form(description="at most this many tokens per window (224)")
    ] = None,
    seed: Annotated[int | None, Form(description="sampling seed at temperature > 0")] = None,
    use_speculative: Annotated[
        bool | None, Form(description="false decodes plainly (same text, no draft)")
    ] = None,
    draft_length: Annotated[
        int | None, Form(description="fixed draft tokens per verification; empty: adaptive")
    ] = None,
    vad: Annotated[
        bool | None,
        Form(description="true: speech chunks found by Silero VAD, decoded in batches alone"),
    ] = None,
    batch_size: Annotated[int | None, Form(description="VAD chunks decoded together (8)")] = None,
    word_timestamps: Annotated[
        bool | None,
        Form(description="true: each segment gets `words` with start, end, probability (false)"),
    ] = None,
) -> dict:
    """The options a native request gives (``TranscribeOptions`` fields; unparsed ones raise
    OptionsError naming the field)."""
    given = {
        "language": _language(language),
        "task": task or None,
        "beam_size": beam_size,
        "best_of": best_of,
        "condition_on_previous_text": condition_on_previous_text,
        "initial_prompt": initial_prompt or None,
        "without_timestamps": without_timestamps,
        "max_initial_timestamp": max_initial_timestamp,
        "max_new_tokens": max_new_tokens,
        "seed": seed,
        "use_speculative": use_speculative,
        "draft_length": draft_length,
        "word_timestamps": word_timestamps,
    }
    options = {name: value for name, value in given.items() if value is not None}
    if temperature and temperature.strip():
        options["temperature"] = parse_temperature(temperature)
    for name, text in (
        ("compression_ratio_threshold", compression_ratio_threshold),
        ("logprob_threshold", logprob_threshold),
        ("no_speech_threshold", no_speech_threshold),
    ):
        if text and text.strip():
            options[name] = _threshold(text, name)
    return options


def _language(value: str | None) -> str | None:
    """Form input to a language code: "" and blanks mean "detect"; codes are lower case."""
    value = (value or "").strip().lower()
    return value or None


def openai_temperatures(temperature: float) -> tuple[float, ...]:
    """OpenAI's meaning: 0 lets the server raise the temperature when a window fails the
    thresholds; t > 0 starts the same ladder at t (t, t + 0.2, ... up to 1)."""
    ladder = [round(temperature, 6)]
    while ladder[-1] + 0.2 <= 1.0 + 1e-9:
        ladder.append(round(ladder[-1] + 0.2, 6))
    return tuple(ladder)
