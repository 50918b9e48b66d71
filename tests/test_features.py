"""Window features: what a whole-file computation gives, from two streamed passes (fast)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from specwhisper.audio import DecodeLimits, open_audio
from specwhisper.features import (
    HOP_LENGTH,
    N_FRAMES,
    MelFilters,
    SampleBuffer,
    WindowFeatures,
    log_mel,
    normalized,
    prepare_audio,
)


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    envelope = np.abs(np.sin(2 * np.pi * 0.7 * t)) ** 2
    tones = np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 1250 * t)
    return (0.3 * envelope * tones + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


def _whole_file_mel(audio: np.ndarray, filters: MelFilters) -> torch.Tensor:
    """openai-whisper's log_mel_spectrogram(audio, padding=30 s): the reference computation."""
    padded = torch.from_numpy(np.concatenate([audio, np.zeros(480000, np.float32)]))
    stft = torch.stft(padded, 400, HOP_LENGTH, window=torch.hann_window(400), return_complex=True)
    power = stft[..., :-1].abs() ** 2
    log_spec = torch.clamp(filters.bank @ power, min=1e-10).log10()
    return normalized(log_spec, float(log_spec.max()))


def test_short_clip_equals_transformers_feature_extractor(tiny_en):
    audio = _speechlike(7.3)
    ours = log_mel(audio, tiny_en)
    theirs = tiny_en.feature_extractor(audio, sampling_rate=16000, return_tensors="pt")
    assert ours.shape == (1, 80, N_FRAMES)
    assert torch.allclose(ours, theirs.input_features, atol=1e-5)


@pytest.mark.parametrize("seek", [0, 1234, 3000, 7777])
def test_windows_of_a_long_file_equal_the_whole_file_mel(tiny_en, seek):
    audio = _speechlike(95.0, seed=seek)
    filters = MelFilters(tiny_en)
    whole = _whole_file_mel(audio, filters)
    prepared = prepare_audio(audio, filters)
    assert prepared.scan.frames == len(audio) // HOP_LENGTH
    windows = WindowFeatures(prepared.stream, filters, prepared.scan)
    window = windows.features(seek)[0]
    expected = whole[:, seek : seek + N_FRAMES]
    # Past the end of the file both read the log-mel of silence.
    assert torch.allclose(window, expected, atol=1e-5)


@pytest.mark.parametrize("seconds", [7.3, 40.0])
def test_a_window_is_computed_once(tiny_en, monkeypatch, seconds):
    """The scan's first window is the first window's log-mel (a short file's only one), and
    language detection and decoding both read the first window: one log-mel each."""
    audio = _speechlike(seconds, seed=3)
    filters = MelFilters(tiny_en)
    computed = []
    log10_mel = filters.log10_mel
    monkeypatch.setattr(filters, "log10_mel", lambda s: computed.append(1) or log10_mel(s))
    prepared = prepare_audio(audio, filters)
    scanned = len(computed)
    assert scanned == (1 if seconds < 30 else 2)
    windows = WindowFeatures(prepared.stream, filters, prepared.scan)
    first = windows.features(0)
    assert windows.features(0) is first and len(computed) == scanned
    fresh = WindowFeatures(prepared.stream, filters, replace(prepared.scan, first_window=None))
    assert torch.equal(first, fresh.features(0))
    if seconds > 30:
        assert windows.features(1000).shape == first.shape and len(computed) == scanned + 2


def test_the_file_maximum_sets_every_window_floor(tiny_en):
    """A quiet stretch far from the loudest one still gets the whole file's floor."""
    loud = _speechlike(10.0)
    audio = np.concatenate([0.001 * _speechlike(40.0, 1), loud])
    filters = MelFilters(tiny_en)
    prepared = prepare_audio(audio, filters)
    first = WindowFeatures(prepared.stream, filters, prepared.scan).features(0)
    alone = log_mel(audio[: 30 * 16000], tiny_en)
    assert first.min() > alone.min()  # the floor is M - 8 of the whole file, not the window's


def test_sample_buffer_holds_only_what_is_still_needed():
    blocks = iter([np.arange(i, i + 1000, dtype=np.float32) for i in range(0, 10000, 1000)])
    buffer = SampleBuffer(blocks)
    assert buffer.read(0, 1500).tolist() == list(range(1500))
    assert buffer.read(1200, 1300)[0] == 1200
    with pytest.raises(ValueError, match="already dropped"):
        buffer.read(100, 200)
    tail = buffer.read(9900, 10100)
    assert tail[:100].tolist() == list(range(9900, 10000)) and not tail[100:].any()
    assert buffer.finished and buffer.end == 10000


def test_streamed_file_is_decoded_block_by_block(tiny_en, tmp_path):
    import soundfile

    audio = _speechlike(200.0)
    path = tmp_path / "long.flac"
    soundfile.write(path, audio, 16000)
    stream = open_audio(path, DecodeLimits(max_seconds=300))
    assert abs(stream.declared_seconds - 200.0) < 0.01
    assert max(len(block) for block in stream.blocks()) < len(audio)
    prepared = prepare_audio(stream, MelFilters(tiny_en))
    assert abs(prepared.duration - 200.0) < 0.01
