"""Log-mel features of 30 s windows, computed window by window from a stream of samples.

Whisper's log-mel is ``max(log10(mel), M - 8)``, rescaled, where ``M`` is the largest value
over the *whole* input: openai-whisper, transformers and faster-whisper all take it over the
whole file. To keep that exactly without holding the file, ``scan`` makes a first pass over the
stream (length and ``M``), and ``WindowFeatures`` a second one that keeps only the samples from
the current window on. Each window's frames are the frames of the whole file's STFT (the
neighbouring samples are read, not reflected), so a window is what a whole-file computation
would have cut out of it.

The last window, shorter than 30 s, continues with the log-mel of silence (the file padded with
zeros), as Whisper's own short-form path and its training data present it; openai-whisper's
``transcribe()`` instead pads the log-mel itself with zeros there (see the README).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from .audio import SAMPLE_RATE, AudioInput, AudioStream, DecodeLimits, open_audio
from .models.loading import WhisperBundle

CHUNK_SECONDS = 30  # Whisper sees fixed 30 s windows; shorter audio is padded with silence
N_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE  # 480000 samples in one window
N_FFT = 400  # 25 ms STFT window
HOP_LENGTH = 160  # 10 ms between frames
N_FRAMES = N_SAMPLES // HOP_LENGTH  # 3000 log-mel frames in one window
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH  # 100
_HALF = N_FFT // 2  # a frame is centred on its hop: it reads 200 samples either side
_FLOOR = -10.0  # log10 of the 1e-10 power floor: the value of digital silence


class MelFilters:
    """One model's mel filter bank (80 bins, or 128 for large-v3) and the STFT before it."""

    def __init__(self, bundle: WhisperBundle) -> None:
        self.n_mels = bundle.n_mels
        # (n_mels, 201): the feature extractor's own bank, so the numbers are transformers'.
        self.bank = torch.from_numpy(bundle.feature_extractor.mel_filters).to(torch.float32).T
        self.window = torch.hann_window(N_FFT)

    def log10_mel(self, samples: np.ndarray) -> torch.Tensor:
        """(n_mels, frames) log10 mel power of ``samples``, which must hold ``_HALF`` samples of
        context before the first frame's centre and after the last one's."""
        stft = torch.stft(
            torch.from_numpy(samples),
            N_FFT,
            HOP_LENGTH,
            window=self.window,
            center=False,
            return_complex=True,
        )
        power = (stft.abs() ** 2).contiguous()  # contiguous: the matmul's fast path
        return torch.clamp(self.bank @ power, min=1e-10).log10()


@dataclass(frozen=True)
class AudioScan:
    """What the first pass learns: the length and the log-mel maximum of the whole input."""

    samples: int
    log_max: float  # largest log10 mel power over the whole input (for the silence floor)
    # (n_mels, 3000) log10 mel power of the first window, which the scan computes exactly as
    # ``WindowFeatures`` would: kept so that it is not computed again (~10 ms, a short file's
    # only window).
    first_window: torch.Tensor | None = field(default=None, compare=False, repr=False)

    @property
    def frames(self) -> int:
        """Log-mel frames holding audio (openai-whisper's ``content_frames``)."""
        return self.samples // HOP_LENGTH

    @property
    def duration(self) -> float:
        return self.samples / SAMPLE_RATE


class SampleBuffer:
    """Samples of a block iterator, read at non-decreasing positions; holds only the samples
    from the last position asked for on (plus one block)."""

    def __init__(self, blocks: Iterator[np.ndarray]) -> None:
        self._blocks = blocks
        self._held = np.zeros(0, dtype=np.float32)
        self._start = 0  # stream position of self._held[0]
        self.finished = False

    @property
    def end(self) -> int:
        """Stream position after the last sample read so far."""
        return self._start + len(self._held)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) of the stream, zeros past its end. Forgets what lies before
        ``start``: a later call may not ask for it."""
        if start < self._start:
            raise ValueError(
                f"position {start} was already dropped (buffer starts at {self._start})"
            )
        pieces = [self._held]
        held = len(self._held)
        while self._start + held < stop and not self.finished:
            block = next(self._blocks, None)
            if block is None:
                self.finished = True
                break
            pieces.append(block)
            held += len(block)
        if len(pieces) > 1:
            self._held = np.concatenate(pieces)
        drop = start - self._start
        self._held = self._held[drop:]
        self._start = start
        out = self._held[: stop - start]
        if len(out) < stop - start:
            out = np.concatenate([out, np.zeros(stop - start - len(out), dtype=np.float32)])
        return out


def _window_samples(buffer: SampleBuffer, first_frame: int, frames: int) -> np.ndarray:
    """The samples that frames [first_frame, first_frame + frames) read, as a whole-file STFT
    with centred frames sees them: reflected at the start of the file, zeros after its end."""
    start = first_frame * HOP_LENGTH - _HALF
    stop = (first_frame + frames - 1) * HOP_LENGTH + _HALF + 1
    if start >= 0:
        return buffer.read(start, stop)
    body = buffer.read(0, stop)
    # torch.stft(center=True) pads with the reflection of samples 1..200 (not repeating 0).
    return np.concatenate([body[1 : 1 - start][::-1], body])


def scan(stream: AudioStream, filters: MelFilters) -> AudioScan:
    """First pass: decode ``stream`` block by block for its length and log-mel maximum.
    Raises the stream's own errors (too long, undecodable) before any model work."""
    buffer = SampleBuffer(stream.blocks())
    log_max = _FLOOR
    first = 0
    first_window = None
    while True:
        window = filters.log10_mel(_window_samples(buffer, first, N_FRAMES))
        log_max = max(log_max, float(window.max()))
        if first == 0:
            first_window = window
        first += N_FRAMES
        if buffer.finished and first * HOP_LENGTH - _HALF >= buffer.end:
            break
    return AudioScan(buffer.end, log_max, first_window)


def normalized(log10_mel: torch.Tensor, log_max: float) -> torch.Tensor:
    """Whisper's scaling: an 80 dB range below the maximum, mapped to about [-1, 1]."""
    return (torch.clamp(log10_mel, min=log_max - 8.0) + 4.0) / 4.0


class WindowFeatures:
    """Second pass: the (1, n_mels, 3000) log-mel of the 30 s window at any frame ``seek``, for
    non-decreasing ``seek``; also the window's samples, for drafts with their own encoder."""

    def __init__(self, stream: AudioStream, filters: MelFilters, audio_scan: AudioScan) -> None:
        self.filters = filters
        self.scan = audio_scan
        self._buffer = SampleBuffer(stream.blocks())
        self._last: tuple[int, torch.Tensor] | None = None

    def features(self, seek: int) -> torch.Tensor:
        # The last window's are kept: a multilingual model's first window is asked for twice
        # (language detection, then decoding), and a log-mel costs ~10 ms.
        if self._last is not None and self._last[0] == seek:
            return self._last[1]
        if seek == 0 and self.scan.first_window is not None:
            log10_mel = self.scan.first_window
        else:
            log10_mel = self.filters.log10_mel(_window_samples(self._buffer, seek, N_FRAMES))
        made = normalized(log10_mel, self.scan.log_max).unsqueeze(0)
        self._last = (seek, made)
        return made

    def samples(self, seek: int, frames: int) -> np.ndarray:
        """The waveform under frames [seek, seek + frames), zeros after the end of the file."""
        return self._buffer.read(seek * HOP_LENGTH, (seek + frames) * HOP_LENGTH)


@dataclass(frozen=True)
class PreparedAudio:
    """An input checked, decoded once and scanned: ready for ``WindowFeatures``."""

    stream: AudioStream
    scan: AudioScan
    n_mels: int  # the log-mel maximum depends on the filter bank

    @property
    def duration(self) -> float:
        return self.scan.duration


def prepare_audio(
    source: AudioInput | AudioStream | PreparedAudio,
    filters: MelFilters,
    limits: DecodeLimits | None = None,
    name: str | None = None,
) -> PreparedAudio:
    """Open ``source`` and make the first pass over it (see ``scan``). Raises the audio errors
    (undecodable, too long) before any model work."""
    if isinstance(source, PreparedAudio) and source.n_mels == filters.n_mels:
        return source
    if isinstance(source, PreparedAudio):
        source = source.stream
    stream = open_audio(source, limits, name=name)
    return PreparedAudio(stream, scan(stream, filters), filters.n_mels)


def log_mel(audio: np.ndarray, bundle: WhisperBundle) -> torch.Tensor:
    """16 kHz mono float32 waveform (<= 30 s) -> (1, n_mels, 3000) log-mel for ``bundle``: the
    first window, as ``WindowFeatures`` computes it (and transformers' feature extractor)."""
    filters = MelFilters(bundle)
    prepared = prepare_audio(np.asarray(audio, dtype=np.float32), filters)
    return WindowFeatures(prepared.stream, filters, prepared.scan).features(0)
