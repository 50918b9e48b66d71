"""Audio in: a path, bytes or an array -> 16 kHz mono float32, or one clear error.

soundfile (libsndfile) reads wav/flac/ogg quickly; everything else (mp3, m4a/mp4, webm, opus)
goes through PyAV, whose bundled FFmpeg also resamples. We write no decoder of our own.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000  # Whisper's input rate: 100 log-mel frames per second at hop 160
ACCEPTED_FORMATS = ("wav", "flac", "ogg", "mp3", "m4a", "mp4", "webm")

AudioSource = str | os.PathLike | bytes | bytearray | np.ndarray


class AudioDecodeError(ValueError):
    """The input is missing, empty, truncated or not audio in an accepted format."""


def _fail(name: str, problem: str) -> AudioDecodeError:
    return AudioDecodeError(
        f"{name}: {problem}; accepted formats: {', '.join(ACCEPTED_FORMATS)} "
        "(any sample rate, mono or stereo)"
    )


def load_audio(source: AudioSource, sample_rate_hint: int | None = None) -> np.ndarray:
    """Decode ``source`` to a 1-D float32 array at 16 kHz in [-1, 1].

    Arrays are taken as 16 kHz unless ``sample_rate_hint`` says otherwise; integer arrays are
    scaled from their type's range; (samples, channels) arrays are averaged to mono.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, sample_rate_hint or SAMPLE_RATE, "<array>")
    if isinstance(source, bytes | bytearray):
        name, data = "<bytes>", bytes(source)
    else:
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise _fail(name, "no such file")
        data = path.read_bytes()
    if not data:
        raise _fail(name, "the file is empty")
    audio, rate = _decode(data, name)
    return _from_array(audio, rate, name)


def audio_duration(audio: np.ndarray) -> float:
    """Seconds of 16 kHz audio."""
    return len(audio) / SAMPLE_RATE


def _check_wav_complete(data: bytes, name: str) -> None:
    """A WAV whose data chunk is shorter than its header declares was cut off (an interrupted
    upload or copy): refuse it rather than silently transcribe part of it."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = (
            data[offset : offset + 4],
            int.from_bytes(data[offset + 4 : offset + 8], "little"),
        )
        if chunk == b"data":
            # 0 and 0xFFFFFFFF mean "length unknown" (streamed WAV): nothing to check.
            if size not in (0, 0xFFFFFFFF) and offset + 8 + size > len(data):
                held = len(data) - offset - 8
                raise _fail(
                    name,
                    f"truncated WAV: the header declares {size} data bytes but "
                    f"the file holds {held}",
                )
            return
        offset += 8 + size + (size & 1)
    raise _fail(name, "truncated WAV: no data chunk")


def _decode(data: bytes, name: str) -> tuple[np.ndarray, int]:
    _check_wav_complete(data, name)
    try:
        import soundfile

        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
        if len(audio):
            return audio, rate
    except Exception:  # not something libsndfile reads: try FFmpeg below
        pass
    return _decode_with_av(data, name)


def _decode_with_av(data: bytes, name: str) -> tuple[np.ndarray, int]:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise _fail(name, "no audio stream found")
            for frame in container.decode(audio=0):
                chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    except AudioDecodeError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as error:
        if not chunks:
            raise _fail(name, f"cannot be decoded as audio ({error.__class__.__name__})") from None
        # A truncated file: FFmpeg decoded a prefix before failing. Keep what was decoded.
    if not chunks:
        raise _fail(name, "contains no audio samples")
    return np.concatenate(chunks)[:, None], SAMPLE_RATE


def _from_array(audio: np.ndarray, rate: int, name: str) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.dtype.kind in "iu":
        info = np.iinfo(audio.dtype)
        audio = (audio.astype(np.float32) - (info.min + info.max + 1) / 2) / (info.max + 1)
    elif audio.dtype.kind != "f":
        raise _fail(name, f"array of {audio.dtype} is not audio samples")
    if audio.ndim == 2:
        # (samples, channels) as soundfile returns; a (channels, samples) array is transposed.
        channel_axis = 1 if audio.shape[1] <= audio.shape[0] else 0
        audio = audio.mean(axis=channel_axis)
    if audio.ndim != 1:
        raise _fail(name, f"expected 1-D or 2-D samples, got shape {audio.shape}")
    if audio.size == 0:
        raise _fail(name, "contains no audio samples")
    audio = audio.astype(np.float32, copy=False)
    if rate != SAMPLE_RATE:
        audio = _resample(audio, rate)
    if not np.all(np.isfinite(audio)):
        raise _fail(name, "samples contain NaN or infinity")
    return np.ascontiguousarray(audio)


def _resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """Band-limited resampling through FFmpeg's resampler (PyAV)."""
    import av

    frame = av.AudioFrame.from_ndarray(audio[None, :], format="fltp", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    pieces = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    pieces += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(pieces).astype(np.float32)
