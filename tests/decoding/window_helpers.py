"""Decoding one window the way the Transcriber does, and the transformers reference for it
(a module of its own: conftest.py is not importable)."""

from __future__ import annotations

import numpy as np
import torch

from specwhisper.decoding.beam import generate_window
from specwhisper.decoding.draft_length import DraftLengthChooser
from specwhisper.decoding.options import MAX_DRAFT_LENGTH, SpecStats, TranscribeOptions
from specwhisper.decoding.prompt import build_prompt
from specwhisper.decoding.window import WindowAudio, WindowDecoder
from specwhisper.features import N_SAMPLES, log_mel

# Greedy, nothing skipped as silence: every window is decoded and compared token for token.
GREEDY = {"temperature": (0.0,), "no_speech_threshold": None}


def window_audio(main, audio: np.ndarray) -> WindowAudio:
    samples = np.zeros(N_SAMPLES, dtype=np.float32)
    samples[: len(audio)] = audio[:N_SAMPLES]
    return WindowAudio(log_mel(audio, main), samples, min(len(audio), N_SAMPLES))


def decode_window(
    main,
    audio: np.ndarray,
    drafter=None,
    k: int | None = None,
    previous: list[int] | None = None,
    language: str = "en",
    **options,
):
    """(WindowResult, SpecStats) of one window, through the engine's own WindowDecoder."""
    options = TranscribeOptions(**{**GREEDY, **options})
    stats = SpecStats()
    chooser = DraftLengthChooser(MAX_DRAFT_LENGTH, fixed=k)
    decoder = WindowDecoder(
        main, drafter, chooser, options, stats, torch.Generator().manual_seed(0)
    )
    window = window_audio(main, audio)
    with torch.inference_mode():
        encoder_out = decoder.encode(window.features)
        result = decoder.decode(window, encoder_out, list(previous or []), language)
    return result, stats


def reference_window(
    main,
    audio: np.ndarray,
    previous: list[int] | None = None,
    language: str = "en",
    **options,
) -> list[int]:
    """transformers' greedy search (its own logit processors) over the same window and prompt."""
    options = TranscribeOptions(**{**GREEDY, **options})
    timestamps = not options.without_timestamps
    language_code = language if main.multilingual else None
    prompt = build_prompt(main, language_code, options.task, previous, timestamps)
    tokens, _ = generate_window(
        main,
        log_mel(audio, main),
        prompt.tokens,
        options.sample_len,
        timestamps,
        max_initial_timestamp=options.max_initial_timestamp,
    )
    return tokens
