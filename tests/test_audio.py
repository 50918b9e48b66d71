"""load_audio: every accepted format, any rate, stereo, and one clear error for bad input."""

import io
import time
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from server.server_helpers import flac_of_silence

from specwhisper.audio import (
    ACCEPTED_FORMATS,
    BLOCK_SAMPLES,
    SAMPLE_RATE,
    AudioDecodeError,
    DecodeLimits,
    audio_duration,
    load_audio,
    open_audio,
)
from specwhisper.errors import AudioTooLongError

TONE_HZ = 440.0
TONE_AMPLITUDE = 0.5
SOURCE_RATE = 44100

# name -> (file name, PyAV codec, PyAV container); None: written by soundfile.
FORMATS = {
    "wav": ("tone.wav", None, None),
    "flac": ("tone.flac", None, None),
    "ogg-vorbis": ("tone.ogg", None, None),
    "ogg-opus": ("tone_opus.ogg", "libopus", "ogg"),
    "mp3": ("tone.mp3", "libmp3lame", "mp3"),
    "m4a": ("tone.m4a", "aac", "ipod"),
    "mp4": ("tone.mp4", "aac", "mp4"),
    "webm": ("tone.webm", "libopus", "webm"),
}


@pytest.fixture(scope="module")
def encoded(tmp_path_factory) -> dict[str, Path]:
    """A 1 s, 44.1 kHz stereo tone encoded in every accepted format."""
    folder = tmp_path_factory.mktemp("formats")
    t = np.arange(SOURCE_RATE) / SOURCE_RATE
    tone = TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)
    stereo = np.stack([tone, tone], axis=1).astype(np.float32)
    paths = {}
    for name, (file_name, codec, container) in FORMATS.items():
        paths[name] = folder / file_name
        if codec is None:
            soundfile.write(paths[name], stereo, SOURCE_RATE)
        else:
            _encode(stereo, paths[name], codec, container)
    return paths


def _encode(stereo: np.ndarray, path: Path, codec: str, container_format: str) -> None:
    rate = 48000 if codec == "libopus" else SOURCE_RATE  # opus encodes at 48 kHz only
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="stereo")
        resampler = av.AudioResampler(format=stream.format.name, layout="stereo", rate=rate)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(stereo.T), format="fltp", layout="stereo"
        )
        frame.sample_rate = SOURCE_RATE
        for resampled in resampler.resample(frame) + resampler.resample(None):
            container.mux(stream.encode(resampled))
        container.mux(stream.encode(None))


def _dominant_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(audio))


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_decodes_to_16k_mono(name, encoded):
    path = encoded[name]
    for source in (path, str(path), path.read_bytes()):
        audio = load_audio(source)
        assert audio.dtype == np.float32 and audio.ndim == 1
        assert abs(audio_duration(audio) - 1.0) < 0.1, name  # encoders add a little padding
        assert abs(_dominant_hz(audio) - TONE_HZ) < 5, name
        # Channels are averaged: the mono peak stays the per-channel peak (a sum would not).
        assert abs(np.abs(audio).max() - TONE_AMPLITUDE) < 0.1, name


def test_arrays_int_types_and_other_rates():
    t = np.arange(8000) / 8000
    int16 = (0.5 * 32767 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)
    audio = load_audio(int16, sample_rate_hint=8000)
    assert audio.dtype == np.float32
    assert len(audio) == pytest.approx(SAMPLE_RATE, abs=40)
    assert abs(_dominant_hz(audio) - TONE_HZ) < 5
    assert 0.45 < np.abs(audio).max() < 0.55
    uint8 = np.array([0, 128, 255], dtype=np.uint8)
    assert load_audio(uint8).tolist() == [-1.0, 0.0, pytest.approx(127 / 128)]
    same = np.linspace(-0.5, 0.5, 16000, dtype=np.float32)
    assert np.array_equal(load_audio(same), same)  # 16 kHz float32 passes through unchanged
    stereo_first = np.stack([same, np.zeros_like(same)])  # (channels, samples)
    assert np.allclose(load_audio(stereo_first), same / 2)


def test_streamed_wav_header_is_not_called_truncated(encoded):
    # espeak-ng --stdout and sox to a pipe leave a placeholder data size near 2 GiB.
    data = bytearray(encoded["wav"].read_bytes())
    data_chunk = data.index(b"data")
    data[data_chunk + 4 : data_chunk + 8] = (0x7FFFF000).to_bytes(4, "little")
    assert abs(audio_duration(load_audio(bytes(data))) - 1.0) < 0.01


def test_real_dev_clip(dev_set):
    audio = load_audio(dev_set[0].audio_path)
    assert audio.dtype == np.float32 and 2 < audio_duration(audio) < 25
    assert np.abs(audio).max() > 0.05


PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


@pytest.mark.parametrize(
    "make_bad, expected",
    [
        (lambda tmp, good: tmp / "missing.wav", "no such file"),
        (lambda tmp, good: tmp, "cannot be read"),  # a folder
        (lambda tmp, good: _write(tmp / "empty.wav", b""), "empty"),
        (lambda tmp, good: _write(tmp / "cut.wav", good[:2000]), "truncated"),
        (lambda tmp, good: _write(tmp / "header.wav", good[:30]), "truncated"),
        (lambda tmp, good: _write(tmp / "image.png", PNG), "audio"),
        (lambda tmp, good: _write(tmp / "notes.txt", b"this is not audio\n" * 20), "cannot"),
    ],
)
def test_bad_files_raise_one_clear_error(make_bad, expected, encoded, tmp_path):
    path = make_bad(tmp_path, encoded["wav"].read_bytes())
    with pytest.raises(AudioDecodeError) as error:
        load_audio(path)
    message = str(error.value)
    assert str(path) in message and expected in message
    assert ", ".join(ACCEPTED_FORMATS) in message


@pytest.mark.parametrize(
    "bad, expected",
    [
        (b"", "empty"),
        (bytearray(b"garbage" * 10), "cannot"),
        (PNG, "audio"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00", "truncated WAV"),
    ],
)
def test_bad_bytes_raise_one_clear_error(bad, expected):
    with pytest.raises(AudioDecodeError, match=f"<bytes>: .*{expected}.*wav, flac"):
        load_audio(bad)


@pytest.mark.parametrize(
    "bad, expected",
    [
        (np.zeros(0, dtype=np.float32), "no audio samples"),
        (np.zeros((0, 2), dtype=np.int16), "no audio samples"),
        (np.full(100, np.nan, dtype=np.float32), "NaN"),
        (np.array(["a", "b"]), "not audio samples"),
        (np.zeros((2, 2, 2), dtype=np.float32), "shape"),
    ],
)
def test_bad_arrays_raise_one_clear_error(bad, expected):
    with pytest.raises(AudioDecodeError, match=f"<array>: .*{expected}.*wav, flac"):
        load_audio(bad)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- Hostile and long input: bounded memory and work whatever the file claims ---------------


@pytest.fixture(scope="module")
def eight_hours() -> bytes:
    return flac_of_silence(8 * 3600)


def test_hours_in_a_small_flac_are_refused_from_the_header(eight_hours):
    assert len(eight_hours) < 2_000_000
    started = time.perf_counter()
    with pytest.raises(
        AudioTooLongError, match=r"limit is 7200 s and its header declares 28800\.0 s"
    ):
        open_audio(eight_hours, DecodeLimits(max_seconds=7200))
    assert time.perf_counter() - started < 1.0  # nothing was decoded


def _flac_with_total_samples(seconds: float, total: int) -> bytes:
    """A FLAC whose header claims ``total`` samples (0: "unknown", as a streamed FLAC has)."""
    buffer = io.BytesIO()
    noise = 0.1 * np.random.default_rng(0).standard_normal(int(16000 * seconds))
    soundfile.write(buffer, noise.astype(np.float32), 16000, format="FLAC")
    data = bytearray(buffer.getvalue())
    info = slice(18, 26)  # in STREAMINFO: rate, channels, bits, then 36 bits of total samples
    bits = int.from_bytes(data[info], "big")
    data[info] = ((bits & ~((1 << 36) - 1)) | total).to_bytes(8, "big")
    return bytes(data)


def test_a_header_without_a_length_is_stopped_while_decoding():
    stream = open_audio(_flac_with_total_samples(20, 0), DecodeLimits(max_seconds=5))
    assert stream.declared_seconds is None
    with pytest.raises(AudioTooLongError, match="limit is 5 s and it lasts longer"):
        for _ in stream.blocks():
            pass
    # Without a limit the same file decodes whole.
    assert abs(audio_duration(load_audio(_flac_with_total_samples(20, 0))) - 20) < 0.01


def test_a_header_that_understates_the_length_bounds_the_decoding():
    audio = load_audio(_flac_with_total_samples(20, 16000), max_seconds=5)
    assert audio_duration(audio) == 1.0  # what the header declares is all that is read


def test_decoding_streams_in_bounded_blocks(eight_hours):
    stream = open_audio(eight_hours, DecodeLimits(max_seconds=9 * 3600))
    first = next(stream.blocks())
    assert len(first) <= BLOCK_SAMPLES  # 1M samples, not 460M


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_every_wav_sample_format(subtype, tmp_path):
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float64)
    path = tmp_path / f"{subtype}.wav"
    soundfile.write(path, tone, 16000, subtype=subtype)
    audio = load_audio(path)
    assert abs(np.abs(audio).max() - 0.5) < 0.02 and abs(_dominant_hz(audio) - TONE_HZ) < 5


def test_nan_samples_in_a_float_wav_are_refused(tmp_path):
    path = tmp_path / "nan.wav"
    soundfile.write(path, np.full(1600, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="NaN"):
        load_audio(path)


def test_an_absurd_sample_rate_is_refused_from_the_header():
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(100, dtype=np.int16), 16000, format="WAV")
    data = bytearray(buffer.getvalue())
    data[24:28] = (1).to_bytes(4, "little")  # 1 Hz: 100 samples would last 100 s
    with pytest.raises(AudioDecodeError, match="sample rate 1 Hz"):
        open_audio(bytes(data))


def test_many_channels_are_averaged(tmp_path):
    path = tmp_path / "sixteen.wav"
    soundfile.write(path, np.full((1600, 16), 0.25, dtype=np.float32), 16000)
    assert np.allclose(load_audio(path), 0.25)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_one_clear_error(seed, capfd):
    data = np.random.default_rng(seed).bytes(5000)
    if seed % 2:
        data = b"\xff\xfb\x90\x64" + data  # an mp3 frame sync, then garbage
    with pytest.raises(AudioDecodeError, match="<bytes>"):
        load_audio(data)
    assert capfd.readouterr().err == ""  # no decoder chatter on stderr


def test_the_decode_budget_counts_the_decoder_not_the_caller(tmp_path, monkeypatch):
    """A long transcription reads blocks for minutes while the model works: only the audio
    decoder's own time counts against ``max_decode_s``."""
    import specwhisper.audio as audio_module

    path = tmp_path / "four-blocks.flac"
    soundfile.write(path, np.zeros(BLOCK_SAMPLES * 4, np.float32), SAMPLE_RATE)
    limits = DecodeLimits(max_decode_s=0.5)
    blocks = 0
    for _ in open_audio(path, limits).blocks():
        time.sleep(0.3)  # the caller's work: 1.2 s in all, over the budget
        blocks += 1
    assert blocks == 4
    decode = audio_module._soundfile_blocks

    def slow_decoder(file, name):
        for block in decode(file, name):
            time.sleep(0.3)  # a pathological file: the decoder itself is slow
            yield block

    monkeypatch.setattr(audio_module, "_soundfile_blocks", slow_decoder)
    with pytest.raises(AudioDecodeError, match="decoding took longer than the allowed 0.5 s"):
        list(open_audio(path, limits).blocks())
