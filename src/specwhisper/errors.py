"""Every error the engine raises on purpose, in one place, so that front ends map them once.

Each message says what was wrong and which value to use instead. Front ends (CLI, server)
translate these to exit codes and HTTP statuses; anything else that escapes is a bug.
"""

from __future__ import annotations


class SpecwhisperError(Exception):
    """Base of the errors below: the input or the setup is at fault, not the engine."""


class AudioDecodeError(SpecwhisperError, ValueError):
    """The input is missing, empty, truncated or not audio in an accepted format."""


class AudioTooLongError(SpecwhisperError, ValueError):
    """The audio lasts longer than the maximum duration allowed for this call."""


class OptionsError(SpecwhisperError, ValueError):
    """An option has a value we cannot use. ``field`` names the option (as in
    ``TranscribeOptions``); the message names the accepted values."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DraftError(SpecwhisperError, ValueError):
    """The draft cannot be used with this main model."""


class UnknownModelError(SpecwhisperError, ValueError):
    """The name is neither a known model, a hub id, nor an existing folder."""


class ModelUnavailableError(SpecwhisperError, RuntimeError):
    """The model is known but its weights cannot be had here (no network, not installed)."""


class TranscriptionCancelled(SpecwhisperError):
    """The caller asked to stop (its client went away); raised between windows.
    ``windows``: how many windows were decoded before it stopped (work counters)."""

    def __init__(self, message: str, windows: int = 0) -> None:
        super().__init__(message)
        self.windows = windows
