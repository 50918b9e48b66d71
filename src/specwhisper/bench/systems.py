"""The things a benchmark compares: each turns an audio file into main-model tokens and text.

Every system runs end to end (audio file in, text out), so load, features and encoder count for
all of them alike.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..audio import load_audio
from ..decoding.beam import generate_tokens
from ..features import log_mel
from ..models.loading import WhisperBundle, ctranslate2_model_dir, load_model


@dataclass
class Outcome:
    tokens: list[int]  # main-model text tokens (empty where a system has no such thing)
    text: str
    stats: dict = field(default_factory=dict)  # SpecStats.as_dict() for specwhisper systems


class System(Protocol):
    label: str

    def __call__(self, audio_path: Path) -> Outcome: ...


class Specwhisper:
    """Our Transcriber: plain greedy (draft ``none``), speculative, or beam search."""

    def __init__(
        self,
        model: str,
        draft: str,
        language: str | None = "en",
        beam_size: int = 1,
        draft_length: int | None = None,
        label: str | None = None,
    ) -> None:
        from ..transcribe import Transcriber

        self.transcriber = Transcriber(model, draft)
        self.beam_size = beam_size
        self.draft_length = draft_length
        self.language = language
        name = self.transcriber.draft_name or "none"
        self.label = label or f"specwhisper {model} draft={name}"

    def __call__(self, audio_path: Path) -> Outcome:
        result = self.transcriber.transcribe(
            audio_path, self.language, beam_size=self.beam_size, draft_length=self.draft_length
        )
        return Outcome(result.tokens, result.text, result.stats.as_dict())


class TransformersGenerate:
    """transformers' own ``generate()``: greedy/beam, or assisted generation with a draft."""

    def __init__(
        self,
        model: str,
        language: str | None = "en",
        beam_size: int = 1,
        assistant: WhisperBundle | None = None,
        label: str | None = None,
    ) -> None:
        self.main = load_model(model)
        self.language = language if self.main.multilingual else None
        self.beam_size = beam_size
        self.assistant = assistant
        self.label = label or f"transformers generate {model}" + (
            f" beam={beam_size}" if beam_size > 1 else ""
        )

    def __call__(self, audio_path: Path) -> Outcome:
        features = log_mel(load_audio(audio_path), self.main)
        tokens = generate_tokens(
            self.main,
            features,
            self.language,
            "transcribe",
            self.beam_size,
            assistant=self.assistant,
        )
        text = self.main.tokenizer.decode(tokens, skip_special_tokens=True).strip()
        return Outcome(tokens, text)


class EncoderFloor:
    """Audio load + log-mel + the main encoder, nothing else: every exact system pays this, so
    it bounds the end-to-end speedup any decoder can reach (reported, not a transcription)."""

    floor = True

    def __init__(self, model: str) -> None:
        self.main = load_model(model)
        self.label = f"floor: {model} encoder only"

    def __call__(self, audio_path: Path) -> Outcome:
        from ..decoding.kv_decoder import encode

        encode(self.main.model, log_mel(load_audio(audio_path), self.main))
        return Outcome([], "")


def int8_assistant(model: str) -> WhisperBundle:
    """An int8 copy of ``model`` as a bundle, for transformers' assisted generation."""
    from dataclasses import replace

    from ..decoding.drafters.self_int8 import quantized_copy

    bundle = load_model(model)
    return replace(bundle, name=f"{model}-int8", model=quantized_copy(bundle.model))


def faster_whisper_available() -> bool:
    return importlib.util.find_spec("faster_whisper") is not None


class FasterWhisper:
    """faster-whisper (CTranslate2) on the very same bundled weights."""

    def __init__(self, model: str, language: str | None, compute_type: str, threads: int) -> None:
        from faster_whisper import WhisperModel

        self.whisper = WhisperModel(
            str(ctranslate2_model_dir(model)),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
        )
        self.label = f"faster-whisper {model} {compute_type}"
        self.language = language

    def __call__(self, audio_path: Path) -> Outcome:
        segments, _ = self.whisper.transcribe(
            load_audio(audio_path),
            language=self.language,
            beam_size=1,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            temperature=0.0,
        )
        tokens = [t for s in segments for t in s.tokens]
        return Outcome(tokens, "".join(s.text for s in segments).strip())
