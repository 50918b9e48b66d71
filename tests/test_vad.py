"""The VAD: Silero's probabilities computed a block at once equal Silero's own frame-by-frame
loop, and so do the speech regions cut from them (real Silero weights, real speech)."""

import numpy as np
import torch

from specwhisper.audio import load_audio, open_audio
from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset
from specwhisper.vad import SileroVad, chunks_of, speech_regions

PARAMETERS = {"sampling_rate": 16000, "max_speech_duration_s": 30, "min_silence_duration_ms": 100}


def _frame_by_frame(model, samples: torch.Tensor) -> np.ndarray:
    model.reset_states()
    found = []
    for start in range(0, len(samples), 512):
        frame = samples[start : start + 512]
        frame = torch.nn.functional.pad(frame, (0, 512 - len(frame)))
        found.append(model(frame, 16000).item())
    return np.array(found)


def test_block_probabilities_and_regions_equal_silero_frame_by_frame(dev_set):
    vad = SileroVad()
    threads = torch.get_num_threads()
    samples = torch.from_numpy(load_audio(dev_set[0].audio_path)[: 16000 * 4 + 100])
    batched = vad.probabilities(samples)
    alone = _frame_by_frame(vad.model, samples)
    assert batched.shape == alone.shape and np.abs(batched - alone).max() < 1e-5
    assert alone.max() > 0.5  # speech was found: the comparison saw both states
    expected = vad.get_speech_timestamps(samples, vad.model, **PARAMETERS)
    assert vad.regions(samples, **PARAMETERS) == expected and expected
    assert torch.get_num_threads() == threads  # silero_vad's import set one thread


def test_a_long_file_is_cut_into_chunks_of_at_most_one_window():
    path = load_dataset(LONG_DEV_SET)[0].audio_path
    regions = speech_regions(open_audio(path))
    chunks = chunks_of(regions)
    assert len(regions) > len(chunks) > 1
    assert all(0 < c.end - c.start <= 30 * 16000 for c in chunks)
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:], strict=False))
