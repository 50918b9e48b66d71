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

# WAV writers that stream to a pipe cannot go back to fill in the data size: FFmpeg leaves 0 or
# 0xFFFFFFFF, sox and espeak-ng write about 0x7FFFF000. Such sizes mean "until end of file".
_STREAMED_WAV_SIZE = 0x7FFF0000


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
    scaled from their type's range; 2-D arrays are averaged to mono. A WAV cut short of the size
    its header declares is refused; other formats carry no such size, so a cut mp3/flac/ogg
    yields the audio before the cut.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, sample_rate_hint or SAMPLE_RATE, "<array>")
    if isinstance(source, bytes | bytearray):
        name, data = "<bytes>", bytes(source)
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise _fail(name, "no such file")
        try:
            data = path.read_bytes()
        except OSError as error:  # a folder, no permission...
            raise _fail(name, f"cannot be read ({error.strerror or error})") from None
    if not data:
        raise _fail(name, "the file is empty")
    _check_wav_complete(data, name)
    mono, rate = _decode(data, name)
    return _from_array(mono, rate, name)


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
        chunk = data[offset : offset + 4]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        if chunk == b"data":
            held = len(data) - offset - 8
            if 0 < size < _STREAMED_WAV_SIZE and size > held:
                raise _fail(
                    name, f"truncated WAV: the header declares {size} data bytes but holds {held}"
                )
            return
        offset += 8 + size + (size & 1)  # chunks are padded to an even size
    raise _fail(name, "truncated WAV: no data chunk")


def _decode(data: bytes, name: str) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate."""
    try:
        import soundfile

        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
        if len(audio):
            return audio.mean(axis=1), rate
    except Exception:  # not something libsndfile reads: try FFmpeg below
        pass
    return _decode_with_av(data, name), SAMPLE_RATE


def _decode_with_av(data: bytes, name: str) -> np.ndarray:
    """Decode the first audio stream with FFmpeg, resampled to 16 kHz, channels averaged.

    FFmpeg's own stereo-to-mono mix sums the channels at 0.707 each, which can leave [-1, 1];
    so we resample keeping the channels and average them ourselves.
    """
    import av

    chunks: list[np.ndarray] = []
    resampler, setup = None, None
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise _fail(name, "no audio stream found")
            for frame in container.decode(audio=0):
                if (frame.layout.name, frame.sample_rate) != setup:
                    # The first frame, or the stream changed layout or rate mid-way (it happens
                    # in concatenated streams): a resampler takes one input setup only.
                    if resampler is not None:
                        chunks += _averaged(resampler.resample(None))
                    setup = (frame.layout.name, frame.sample_rate)
                    resampler = av.AudioResampler("fltp", frame.layout.name, SAMPLE_RATE)
                chunks += _averaged(resampler.resample(frame))
            if resampler is not None:
                chunks += _averaged(resampler.resample(None))
    except AudioDecodeError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as error:
        if not chunks:
            raise _fail(name, f"cannot be decoded as audio ({error.__class__.__name__})") from None
        # FFmpeg decoded a prefix before failing (a cut stream): keep what was decoded.
    if not chunks:
        raise _fail(name, "contains no audio samples")
    return np.concatenate(chunks)


def _averaged(frames: list) -> list[np.ndarray]:
    # Planar float frames come out as (channels, samples).
    return [frame.to_ndarray().mean(axis=0, dtype=np.float32) for frame in frames]


def _from_array(audio: np.ndarray, rate: int, name: str) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.dtype.kind in "iu":
        # Map the type's full range onto [-1, 1): int16 divides by 32768, uint8 centres on 128.
        info = np.iinfo(audio.dtype)
        middle, half_range = (info.min + info.max + 1) / 2, (info.max - info.min + 1) / 2
        audio = (audio.astype(np.float64) - middle) / half_range
    elif audio.dtype.kind != "f":
        raise _fail(name, f"array of {audio.dtype} is not audio samples")
    if audio.size == 0:
        raise _fail(name, "contains no audio samples")
    if audio.ndim == 2:
        # (samples, channels) as soundfile returns; a (channels, samples) array is transposed.
        channel_axis = 1 if audio.shape[1] <= audio.shape[0] else 0
        audio = audio.mean(axis=channel_axis)
    if audio.ndim != 1:
        raise _fail(name, f"expected 1-D or 2-D samples, got shape {audio.shape}")
    if rate <= 0:
        raise _fail(name, f"sample rate must be positive, not {rate}")
    audio = audio.astype(np.float32, copy=False)
    if not np.all(np.isfinite(audio)):
        raise _fail(name, "samples contain NaN or infinity")
    if rate != SAMPLE_RATE:
        audio = _resample(audio, rate, name)
    # Lossy decoders and resampling overshoot full-scale peaks a little; Whisper wants [-1, 1].
    return np.ascontiguousarray(np.clip(audio, -1.0, 1.0))


def _resample(audio: np.ndarray, rate: int, name: str) -> np.ndarray:
    """Band-limited resampling through FFmpeg's resampler (PyAV)."""
    import av

    frame = av.AudioFrame.from_ndarray(audio[None, :], format="fltp", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    pieces = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    pieces += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    if not pieces:  # a handful of samples rounds to none at 16 kHz
        raise _fail(name, f"too short: {len(audio)} samples at {rate} Hz")
    return np.concatenate(pieces).astype(np.float32, copy=False)
