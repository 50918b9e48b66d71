"""Audio in: a path, bytes or an array -> 16 kHz mono float32, block by block, or one clear error.

Files are never decoded whole: ``open_audio`` reads the container header (and refuses a file
whose declared duration is over the limit before decoding a sample), then ``AudioStream.blocks``
decodes a few seconds at a time and stops the moment the decoded audio passes the limit. So
memory stays bounded by a block whatever the file claims to be (a 1.5 MB FLAC can hold 8 h of
silence: 1.8 GB of float32). soundfile (libsndfile) reads wav/flac/ogg/aiff; everything else
(mp3, m4a/mp4, webm, opus) goes through PyAV's bundled FFmpeg. We write no decoder of our own.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AudioDecodeError, AudioTooLongError

SAMPLE_RATE = 16000  # Whisper's input rate: 100 log-mel frames per second at hop 160
ACCEPTED_FORMATS = ("wav", "flac", "ogg", "mp3", "m4a", "mp4", "webm")
# Input rates outside this range are not audio we can resample sensibly (a header that says
# 1 Hz makes a few bytes "last" for days; 10 MHz makes resampling the dominant cost).
MIN_INPUT_RATE, MAX_INPUT_RATE = 1000, 768000
# Samples (all channels together) decoded per block: 1M float32 = 4 MB, whatever the channel
# count a header declares, and about a minute of 16 kHz mono: few Python round trips.
BLOCK_SAMPLES = 1024 * 1024

AudioInput = str | os.PathLike | bytes | bytearray | np.ndarray

# WAV writers that stream to a pipe cannot go back to fill in the data size: FFmpeg leaves 0 or
# 0xFFFFFFFF, sox and espeak-ng write about 0x7FFFF000. Such sizes mean "until end of file".
_STREAMED_WAV_SIZE = 0x7FFF0000
# Containers libsndfile reads (by their first bytes); anything else goes straight to FFmpeg, so
# that libsndfile's mp3 decoder never prints its "Illegal Audio-MPEG-Header" notes to stderr.
_SOUNDFILE_MAGIC = (b"RIFF", b"RF64", b"fLaC", b"OggS", b"FORM", b".snd", b"caff")


def _fail(name: str, problem: str) -> AudioDecodeError:
    return AudioDecodeError(
        f"{name}: {problem}; accepted formats: {', '.join(ACCEPTED_FORMATS)} "
        "(any sample rate, mono or stereo)"
    )


def too_long(name: str, max_seconds: float, declared: float | None = None) -> AudioTooLongError:
    """``declared``: the length its header gives; None when decoding found it too long."""
    how = f"its header declares {declared:.1f} s" if declared else "it lasts longer than that"
    return AudioTooLongError(
        f"{name}: audio too long: the limit is {max_seconds:g} s and {how} "
        "(split the file, or raise the maximum duration)"
    )


@dataclass(frozen=True)
class DecodeLimits:
    """What one input may cost. ``max_seconds``: audio duration (None: no limit);
    ``max_decode_s``: seconds the audio decoder itself may spend on one full pass over the file
    (None: no limit); time the caller spends between blocks does not count."""

    max_seconds: float | None = None
    max_decode_s: float | None = None


class AudioStream:
    """An audio input decoded block by block, as often as needed (each ``blocks()`` call
    decodes from the start again; nothing is cached). Make one with ``open_audio``."""

    def __init__(
        self,
        name: str,
        limits: DecodeLimits,
        path: Path | None = None,
        data: bytes | None = None,
        array: np.ndarray | None = None,
    ) -> None:
        self.name = name
        self.limits = limits
        self._path, self._data, self._array = path, data, array
        self.declared_seconds: float | None = None  # from the header; None if it has none
        self._use_soundfile = False

    def _open(self):
        return open(self._path, "rb") if self._path is not None else io.BytesIO(self._data)

    def _probe(self) -> None:
        """Read the header: refuse a truncated WAV, a bad rate, or a declared duration over
        the limit, before any sample is decoded."""
        if self._array is not None:
            self.declared_seconds = len(self._array) / SAMPLE_RATE
        else:
            with self._open() as file:
                head = file.read(12)
                if not head:
                    raise _fail(self.name, "the file is empty")
                file.seek(0)
                _check_wav_complete(file, self.name)
                file.seek(0)
                self._use_soundfile = head[:4] in _SOUNDFILE_MAGIC and _soundfile_reads(file)
                file.seek(0)
                if self._use_soundfile:
                    self.declared_seconds = _soundfile_duration(file, self.name)
                else:
                    self.declared_seconds = _av_duration(file, self.name)
        limit = self.limits.max_seconds
        if limit is not None and self.declared_seconds and self.declared_seconds > limit:
            raise too_long(self.name, limit, self.declared_seconds)

    def blocks(self) -> Iterator[np.ndarray]:
        """16 kHz mono float32 blocks in [-1, 1]; raises AudioTooLongError as soon as the
        decoded audio passes ``limits.max_seconds``, AudioDecodeError on bad data."""
        if self._array is not None:
            step = BLOCK_SAMPLES
            for start in range(0, len(self._array), step):
                yield self._array[start : start + step]
            return
        limit = self.limits.max_seconds
        budget = self.limits.max_decode_s
        # The budget counts the decoder's own time only: between blocks the consumer may compute
        # log-mel or decode windows with the model for minutes, which is not the file's fault.
        spent = 0.0
        decoded = 0
        source = _soundfile_blocks if self._use_soundfile else _av_blocks
        with self._open() as file:
            blocks = source(file, self.name)
            while True:
                began = time.monotonic()
                block = next(blocks, None)
                spent += time.monotonic() - began
                if block is None:
                    break
                decoded += len(block)
                if limit is not None and decoded > limit * SAMPLE_RATE + 1:
                    raise too_long(self.name, limit)
                if budget is not None and spent > budget:
                    raise _fail(self.name, f"decoding took longer than the allowed {budget:g} s")
                yield block
        if decoded == 0:
            raise _fail(self.name, "contains no audio samples")

    def read(self) -> np.ndarray:
        """All samples at once: for inputs known to be short."""
        if self._array is not None:
            return self._array
        return np.concatenate(list(self.blocks()))


def open_audio(
    source: AudioInput | AudioStream,
    limits: DecodeLimits | None = None,
    sample_rate_hint: int | None = None,
    name: str | None = None,
) -> AudioStream:
    """Check ``source`` and its header; return a stream to decode it block by block.

    Arrays are taken as 16 kHz unless ``sample_rate_hint`` says otherwise; integer arrays are
    scaled from their type's range; 2-D arrays are averaged to mono. A WAV cut short of the size
    its header declares is refused; other formats carry no such size, so a cut mp3/flac/ogg
    yields the audio before the cut. ``name`` replaces the source's own name in messages (an
    upload's file name, say).
    """
    if isinstance(source, AudioStream):
        return source
    limits = limits or DecodeLimits()
    if isinstance(source, np.ndarray):
        label = name or "<array>"
        array = _from_array(source, sample_rate_hint or SAMPLE_RATE, label)
        stream = AudioStream(label, limits, array=array)
    elif isinstance(source, bytes | bytearray):
        stream = AudioStream(name or "<bytes>", limits, data=bytes(source))
    else:
        path = Path(source)
        label = name or str(path)
        if not path.exists():
            raise _fail(label, "no such file")
        if not path.is_file():
            raise _fail(label, "cannot be read (it is a folder, not a file)")
        if not os.access(path, os.R_OK):
            raise _fail(label, "cannot be read (permission denied)")
        stream = AudioStream(label, limits, path=path)
    stream._probe()
    return stream


def load_audio(
    source: AudioInput,
    sample_rate_hint: int | None = None,
    max_seconds: float | None = None,
) -> np.ndarray:
    """Decode ``source`` to a 1-D float32 array at 16 kHz in [-1, 1] (see ``open_audio``).
    Holds the whole audio: for long inputs use ``open_audio(...).blocks()``."""
    return open_audio(source, DecodeLimits(max_seconds=max_seconds), sample_rate_hint).read()


def audio_duration(audio: np.ndarray) -> float:
    """Seconds of 16 kHz audio."""
    return len(audio) / SAMPLE_RATE


def _check_wav_complete(file, name: str) -> None:
    """A WAV whose data chunk is shorter than its header declares was cut off (an interrupted
    upload or copy): refuse it rather than silently transcribe part of it. Reads chunk
    headers only."""
    file.seek(0, io.SEEK_END)
    total = file.tell()
    file.seek(0)
    head = file.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    offset = 12
    while offset + 8 <= total:
        file.seek(offset)
        header = file.read(8)
        chunk, size = header[:4], int.from_bytes(header[4:8], "little")
        if chunk == b"data":
            held = total - offset - 8
            if 0 < size < _STREAMED_WAV_SIZE and size > held:
                raise _fail(
                    name, f"truncated WAV: the header declares {size} data bytes but holds {held}"
                )
            return
        offset += 8 + size + (size & 1)  # chunks are padded to an even size
    raise _fail(name, "truncated WAV: no data chunk")


def _soundfile_reads(file) -> bool:
    """Whether libsndfile reads ``file`` and knows its length (it cannot seek through a FLAC
    of unknown length in memory; FFmpeg can)."""
    import soundfile

    try:
        frames = soundfile.info(file).frames
    except Exception:  # not something libsndfile reads after all: FFmpeg will try
        return False
    return 0 < frames < 2**62


def _check_rate(rate: float, name: str) -> None:
    if not MIN_INPUT_RATE <= rate <= MAX_INPUT_RATE:
        raise _fail(
            name,
            f"sample rate {rate:g} Hz is outside {MIN_INPUT_RATE}-{MAX_INPUT_RATE} Hz",
        )


def _soundfile_duration(file, name: str) -> float | None:
    import soundfile

    info = soundfile.info(file)
    _check_rate(info.samplerate, name)
    if info.channels < 1:
        raise _fail(name, "declares no audio channels")
    return info.frames / info.samplerate


def _soundfile_blocks(file, name: str) -> Iterator[np.ndarray]:
    import soundfile

    with soundfile.SoundFile(file) as sound:
        frames = max(1024, BLOCK_SAMPLES // sound.channels)
        resampler = _Resampler(sound.samplerate, name)
        try:
            for block in sound.blocks(blocksize=frames, dtype="float32", always_2d=True):
                mono = block.mean(axis=1, dtype=np.float32)
                yield from resampler.feed(_checked(mono, name))
        except (RuntimeError, soundfile.LibsndfileError) as error:
            raise _fail(name, f"cannot be decoded as audio ({error})") from None
        yield from resampler.flush()


def _av_duration(file, name: str) -> float | None:
    import av

    try:
        with av.open(file, mode="r") as container:
            if not container.streams.audio:
                raise _fail(name, "no audio stream found")
            stream = container.streams.audio[0]
            if stream.sample_rate:
                _check_rate(stream.sample_rate, name)
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / av.time_base
            return None
    except AudioDecodeError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as error:
        raise _fail(name, f"cannot be decoded as audio ({error.__class__.__name__})") from None


def _av_blocks(file, name: str) -> Iterator[np.ndarray]:
    """Decode the first audio stream with FFmpeg, resampled to 16 kHz, channels averaged.

    FFmpeg's own stereo-to-mono mix sums the channels at 0.707 each, which can leave [-1, 1];
    so we resample keeping the channels and average them ourselves.
    """
    import av

    pending: list[np.ndarray] = []
    held = 0
    resampler, setup = None, None
    yielded = False
    try:
        with av.open(file, mode="r") as container:
            for frame in container.decode(audio=0):
                if (frame.layout.name, frame.sample_rate) != setup:
                    # The first frame, or the stream changed layout or rate mid-way (it happens
                    # in concatenated streams): a resampler takes one input setup only.
                    _check_rate(frame.sample_rate, name)
                    if resampler is not None:
                        pending += _averaged(resampler.resample(None))
                    setup = (frame.layout.name, frame.sample_rate)
                    resampler = av.AudioResampler("fltp", frame.layout.name, SAMPLE_RATE)
                for piece in _averaged(resampler.resample(frame)):
                    pending.append(piece)
                    held += len(piece)
                if held >= BLOCK_SAMPLES // 2:
                    yielded = True
                    yield _checked(np.concatenate(pending), name)
                    pending, held = [], 0
            if resampler is not None:
                pending += _averaged(resampler.resample(None))
    except AudioDecodeError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as error:
        if not pending and not yielded:
            raise _fail(name, f"cannot be decoded as audio ({error.__class__.__name__})") from None
        # FFmpeg decoded a prefix before failing (a cut stream): keep what was decoded.
    if pending:
        yield _checked(np.concatenate(pending), name)


def _averaged(frames: list) -> list[np.ndarray]:
    # Planar float frames come out as (channels, samples).
    return [frame.to_ndarray().mean(axis=0, dtype=np.float32) for frame in frames]


def _checked(mono: np.ndarray, name: str) -> np.ndarray:
    """Finite samples in [-1, 1]: lossy decoders and resampling overshoot full-scale peaks a
    little, and Whisper wants [-1, 1]."""
    if not np.all(np.isfinite(mono)):
        raise _fail(name, "samples contain NaN or infinity")
    return np.ascontiguousarray(np.clip(mono, -1.0, 1.0), dtype=np.float32)


class _Resampler:
    """Streaming band-limited resampling to 16 kHz through FFmpeg's resampler (PyAV); blocks
    in, blocks out, with the filter state carried across blocks."""

    def __init__(self, rate: int, name: str) -> None:
        self.rate = rate
        self.name = name
        self._resampler = None
        if rate != SAMPLE_RATE:
            import av

            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def feed(self, mono: np.ndarray) -> list[np.ndarray]:
        if self._resampler is None:
            return [mono]
        import av

        frame = av.AudioFrame.from_ndarray(mono[None, :], format="fltp", layout="mono")
        frame.sample_rate = self.rate
        return [
            _checked(f.to_ndarray().reshape(-1), self.name) for f in self._resampler.resample(frame)
        ]

    def flush(self) -> list[np.ndarray]:
        if self._resampler is None:
            return []
        return [
            _checked(f.to_ndarray().reshape(-1), self.name) for f in self._resampler.resample(None)
        ]


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
        resampler = _Resampler(rate, name)
        pieces = resampler.feed(audio) + resampler.flush()
        if not pieces or not sum(len(p) for p in pieces):  # a handful of samples rounds to none
            raise _fail(name, f"too short: {len(audio)} samples at {rate} Hz")
        audio = np.concatenate(pieces)
    return _checked(audio, name)
