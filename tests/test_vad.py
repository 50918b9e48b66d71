"""The VAD: Silero's probabilities computed a block at once equal Silero's own frame-by-frame
loop, and so do the speech regions cut from them (real Silero weights, real speech)."""

import numpy as np
import pytest
import torch

from specwhisper.audio import load_audio, open_audio
from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset
from specwhisper.vad import Chunk, SileroVad, chunks_of, speech_regions

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


def test_a_long_file_is_cut_into_chunks_of_at_most_one_window_of_speech():
    path = load_dataset(LONG_DEV_SET)[0].audio_path
    regions = speech_regions(open_audio(path))
    chunks = chunks_of(regions)
    assert len(regions) >= len(chunks) > 1
    assert all(0 < c.samples <= 30 * 16000 for c in chunks)
    assert [piece for c in chunks for piece in c.pieces] == regions  # nothing lost or moved
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:], strict=False))


SECOND = 16000


def test_regions_are_put_end_to_end_up_to_one_window_and_a_long_one_is_split():
    regions = [(0, 10 * SECOND), (12 * SECOND, 30 * SECOND), (31 * SECOND, 40 * SECOND)]
    regions.append((50 * SECOND, 115 * SECOND))  # 65 s: longer than two windows
    chunks = chunks_of(regions)
    assert [c.pieces for c in chunks] == [
        ((0, 10 * SECOND), (12 * SECOND, 30 * SECOND)),  # 28 s of speech in 30 s
        ((31 * SECOND, 40 * SECOND),),  # 9 s more would make 37
        ((50 * SECOND, 80 * SECOND),),
        ((80 * SECOND, 110 * SECOND),),
        ((110 * SECOND, 115 * SECOND),),
    ]


def test_a_time_in_the_window_maps_to_its_piece_of_the_file():
    chunk = Chunk(((2 * SECOND, 5 * SECOND), (9 * SECOND, 10 * SECOND)))  # 3 s then 1 s
    assert chunk.file_time(0.0) == 2.0
    assert chunk.file_time(1.5) == 3.5
    assert chunk.file_time(3.0) == 9.0  # the seam: a start is the second piece's
    assert chunk.file_time(3.0, is_end=True) == 5.0  # an end the first piece's
    assert chunk.file_time(3.5) == pytest.approx(9.5)
    assert chunk.file_time(6.0, is_end=True) == 12.0  # the padding runs on from the last piece


@pytest.mark.slow
def test_speech_after_a_left_out_silence_keeps_its_place_in_the_file(dev_set):
    """Two clips 4 s apart make one chunk of two pieces, decoded as one window without the
    silence; the second clip's words land after the silence, where it is in the file."""
    from specwhisper.evaluation.metrics import word_error_rate
    from specwhisper.transcribe import Transcriber

    first, second = (load_audio(u.audio_path) for u in dev_set[:2])
    gap = 4 * SECOND
    samples = np.concatenate([first, np.zeros(gap, np.float32), second])
    chunks = chunks_of(speech_regions(open_audio(samples)))
    assert len(chunks) == 1 and len(chunks[0].pieces) >= 2  # the silence is left out
    silence = (len(first) / SECOND, (len(first) + gap) / SECOND)
    result = Transcriber("base", "self-int8").transcribe(
        samples, vad=True, word_timestamps=True, temperature=0.0, language="en"
    )
    words = [w for s in result.segments for w in s.words]
    # Silero pads each region with up to 0.4 s of its silence; no word starts beyond that.
    assert not [w for w in words if silence[0] + 0.5 < w.start < silence[1] - 0.5]
    before = "".join(w.word for w in words if w.start < silence[0] + 0.5)
    after = "".join(w.word for w in words if w.start >= silence[1] - 0.5)
    assert word_error_rate([dev_set[0].text], [before]) < 0.25
    assert word_error_rate([dev_set[1].text], [after]) < 0.25
    assert min(w.start for w in words if w.start >= silence[1] - 0.5) < silence[1] + 1.0
