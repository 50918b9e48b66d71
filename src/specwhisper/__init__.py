"""specwhisper: Whisper speech recognition made faster by lossless speculative decoding."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Transcriber", "Transcription", "load_audio"]


def __getattr__(name: str):
    # Lazy, so that `specwhisper --help` and light imports do not pay for torch/transformers.
    if name in ("Transcriber", "Transcription"):
        from . import transcribe

        return getattr(transcribe, name)
    if name == "load_audio":
        from .audio import load_audio

        return load_audio
    raise AttributeError(name)
