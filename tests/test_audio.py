"""load_audio: every accepted format, any rate, stereo, and one clear error for bad input."""

import av
import numpy as np
import pytest
import soundfile

from specwhisper.audio import SAMPLE_RATE, AudioDecodeError, load_audio

TONE_HZ = 440.0


@pytest.fixture(scope="module")
def encoded(tmp_path_factory) -> dict[str, bytes]:
    """A 1 s, 44.1 kHz stereo tone encoded in every accepted format."""
    folder = tmp_path_factory.mktemp("formats")
    t = np.arange(44100) / 44100
    stereo = 0.5 * np.stack([np.sin(2 * np.pi * TONE_HZ * t)] * 2, axis=1).astype(np.float32)
    for ext in ("wav", "flac", "ogg"):
        soundfile.write(folder / f"tone.{ext}", stereo, 44100)
    # mp3, aac in m4a/mp4, opus in webm and ogg: through PyAV's bundled FFmpeg encoders.
    for ext, codec, container in (
        ("mp3", "libmp3lame", "mp3"),
        ("m4a", "aac", "ipod"),
        ("mp4", "aac", "mp4"),
        ("webm", "libopus", "webm"),
        ("opus", "libopus", "ogg"),
    ):
        _encode(stereo, folder / f"tone.{ext}", codec, container)
    return {p.suffix[1:]: p.read_bytes() for p in folder.iterdir()}


def _encode(stereo: np.ndarray, path, codec: str, container_format: str) -> None:
    rate = 48000 if codec == "libopus" else 44100
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="stereo")
        resampler = av.AudioResampler(format=stream.format.name, layout="stereo", rate=rate)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(stereo.T), format="fltp", layout="stereo"
        )
        frame.sample_rate = 44100
        for resampled in resampler.resample(frame) + resampler.resample(None):
            container.mux(stream.encode(resampled))
        container.mux(stream.encode(None))


def _dominant_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(audio))


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3", "m4a", "mp4", "webm", "opus"])
def test_every_format_decodes_to_16k_mono(ext, encoded, tmp_path):
    path = tmp_path / f"clip.{ext}"
    path.write_bytes(encoded[ext])
    for source in (path, str(path), encoded[ext]):
        audio = load_audio(source)
        assert audio.dtype == np.float32 and audio.ndim == 1
        assert abs(len(audio) / SAMPLE_RATE - 1.0) < 0.1, ext  # encoders add a little padding
        assert abs(_dominant_hz(audio) - TONE_HZ) < 5, ext
        assert np.abs(audio).max() <= 1.0


def test_arrays_int16_and_other_rates():
    t = np.arange(8000) / 8000
    int16 = (0.5 * 32767 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)
    audio = load_audio(int16, sample_rate_hint=8000)
    assert len(audio) == pytest.approx(SAMPLE_RATE, abs=40)
    assert abs(_dominant_hz(audio) - TONE_HZ) < 5
    assert 0.45 < np.abs(audio).max() < 0.55
    same = np.zeros(16000, dtype=np.float32)
    assert np.array_equal(load_audio(same), same)  # 16 kHz float32 passes through unchanged


def test_real_dev_clip(dev_set):
    audio = load_audio(dev_set[0].audio_path)
    assert 2 < len(audio) / SAMPLE_RATE < 25 and np.abs(audio).max() > 0.05


@pytest.mark.parametrize(
    "make_bad, expected",
    [
        (lambda tmp, good: tmp / "missing.wav", "no such file"),
        (lambda tmp, good: _write(tmp / "empty.wav", b""), "empty"),
        (lambda tmp, good: _write(tmp / "cut.wav", good[:2000]), "truncated"),
        (lambda tmp, good: _write(tmp / "header.wav", good[:30]), "truncated"),
        (lambda tmp, good: _write(tmp / "image.png", b"\x89PNG\r\n\x1a\n" + bytes(200)), "audio"),
        (lambda tmp, good: _write(tmp / "notes.txt", b"this is not audio\n" * 20), "cannot"),
    ],
)
def test_bad_files_raise_one_clear_error(make_bad, expected, encoded, tmp_path):
    path = make_bad(tmp_path, encoded["wav"])
    with pytest.raises(AudioDecodeError) as error:
        load_audio(path)
    message = str(error.value)
    assert str(path) in message and expected in message
    assert "wav, flac, ogg, mp3, m4a, mp4, webm" in message


def test_bad_bytes_and_arrays():
    for bad in (b"", b"garbage" * 10):
        with pytest.raises(AudioDecodeError, match="<bytes>.*wav"):
            load_audio(bad)
    with pytest.raises(AudioDecodeError, match="<array>.*no audio samples"):
        load_audio(np.zeros(0, dtype=np.float32))
    with pytest.raises(AudioDecodeError, match="NaN"):
        load_audio(np.full(100, np.nan, dtype=np.float32))


def _write(path, data: bytes):
    path.write_bytes(data)
    return path
