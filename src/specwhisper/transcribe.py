"""The Python entry point: audio in, text out, speculative decoding inside.

>>> from specwhisper import Transcriber
>>> result = Transcriber(model="base", draft="self-int8").transcribe("clip.wav")
>>> result.text, result.stats.acceptance_rate
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch

from .audio import SAMPLE_RATE, load_audio
from .decoding.beam import generate_tokens
from .decoding.draft_length import DraftLengthChooser
from .decoding.drafters import UtteranceContext, make_drafter
from .decoding.greedy import greedy_decode
from .decoding.kv_decoder import cross_key_values, encode
from .decoding.options import MAX_DRAFT_LENGTH, DecodeOptions, OptionsError, SpecStats, Task
from .decoding.prompt import build_prompt, detect_language
from .features import CHUNK_SECONDS, log_mel
from .models.loading import load_model
from .models.registry import PRESETS


class AudioTooLongError(ValueError):
    """Longer than one 30 s window: long-form transcription is not supported yet."""


@dataclass(frozen=True)
class Transcription:
    text: str
    language: str
    tokens: list[int]  # main-model ids of the text part
    model: str
    draft: str | None  # drafter actually used; None for plain decoding (and beam search)
    stats: SpecStats
    seconds: float  # wall time of this transcription, audio decoding included
    duration: float  # audio seconds

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "language": self.language,
            "model": self.model,
            "draft": self.draft,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 4),
            "duration": round(self.duration, 3),
            "stats": self.stats.as_dict(),
        }


def set_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads (default: $SPECWHISPER_THREADS, else torch's choice)."""
    threads = threads or int(os.environ.get("SPECWHISPER_THREADS", "0"))
    if threads > 0:
        torch.set_num_threads(threads)


class Transcriber:
    """A main Whisper plus an optional drafter. One transcription at a time per instance
    (caches are per call, but the draft-length statistics are shared and learn across calls).

    ``model`` is a model name, hub id or folder, or a preset (``default``, ``v2``, ``v3``), in
    which case ``draft`` defaults to the preset's draft. ``draft`` is ``auto`` (the fastest
    lossless choice), ``none``, ``self-int8`` or a model name.
    """

    def __init__(
        self, model: str = "base", draft: str | None = "auto", threads: int | None = None
    ) -> None:
        set_threads(threads)
        if model in PRESETS:
            model, preset_draft = PRESETS[model]
            draft = preset_draft if draft == "auto" else draft
        self.main = load_model(model)
        self.drafter = make_drafter(draft, self.main)
        self.chooser = DraftLengthChooser(MAX_DRAFT_LENGTH)
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self.main.name

    @property
    def draft_name(self) -> str | None:
        return self.drafter.name if self.drafter else None

    def transcribe(
        self,
        audio: str | os.PathLike | bytes | np.ndarray,
        language: str | None = None,
        task: Task = "transcribe",
        beam_size: int = 1,
        max_new_tokens: int | None = None,
        draft_length: int | None = None,
        use_speculative: bool = True,
    ) -> Transcription:
        options = DecodeOptions(language, task, beam_size, max_new_tokens, draft_length)
        options.validated(self.main.special.languages)
        started = time.perf_counter()
        waveform = load_audio(audio)
        duration = len(waveform) / SAMPLE_RATE
        if duration > CHUNK_SECONDS + 0.01:
            raise AudioTooLongError(
                f"audio is {duration:.1f} s long; up to {CHUNK_SECONDS} s is supported for now "
                "(long-form transcription is not implemented yet): split it first"
            )
        with self._lock, torch.inference_mode():
            return self._decode(waveform, options, use_speculative, started, duration)

    def _decode(
        self,
        waveform: np.ndarray,
        options: DecodeOptions,
        use_speculative: bool,
        started: float,
        duration: float,
    ) -> Transcription:
        stats = SpecStats()
        features = log_mel(waveform, self.main)
        # Beam search runs inside generate(), which encodes the features itself: encode here
        # only for greedy decoding or to detect the language.
        encoder_out = None
        if options.beam_size == 1 or (options.language is None and self.main.multilingual):
            encoded_at = time.perf_counter()
            encoder_out = encode(self.main.model, features)
            stats.main_encoder_s = time.perf_counter() - encoded_at
        language = options.language or detect_language(self.main, encoder_out)
        prompt = build_prompt(self.main, language if self.main.multilingual else None, options.task)
        drafter = self.drafter if use_speculative and options.beam_size == 1 else None
        if options.beam_size > 1:
            tokens = generate_tokens(
                self.main,
                features,
                language,
                options.task,
                options.beam_size,
                options.max_new_tokens,
            )
            stats.tokens_generated = len(tokens)
        else:
            # The main decoder's cross-attention keys/values, computed once here rather than in
            # the first verification so that a drafter can share them. Counted as verifying:
            # verification needs them whether or not a drafter reads them too.
            projected_at = time.perf_counter()
            cross_kv = cross_key_values(self.main.model, encoder_out)
            stats.verifying_s += time.perf_counter() - projected_at
            if drafter is not None:
                context = UtteranceContext(
                    audio=waveform,
                    main_encoder_out=encoder_out,
                    main_prompt=prompt,
                    language=language,
                    task=options.task,
                    main_cross_kv=cross_kv,
                )
                stats.draft_encoder_s = drafter.begin(context)
                stats.remap = context.stats
            chooser = self.chooser
            if options.draft_length is not None:
                chooser = DraftLengthChooser(MAX_DRAFT_LENGTH, fixed=options.draft_length)
            tokens = greedy_decode(
                self.main,
                encoder_out,
                prompt,
                stats,
                drafter,
                chooser,
                options.max_new_tokens,
                cross_kv=cross_kv,
            )
        text = self.main.tokenizer.decode(tokens, skip_special_tokens=True).strip()
        return Transcription(
            text=text,
            language=language,
            tokens=tokens,
            model=self.main.name,
            draft=drafter.name if drafter else None,
            stats=stats,
            seconds=time.perf_counter() - started,
            duration=duration,
        )


__all__ = ["Transcriber", "Transcription", "AudioTooLongError", "OptionsError"]
