"""VAD-batched long form: Silero VAD finds the speech, the speech is cut into chunks of at most
30 s, and the chunks are decoded in batches (``Transcriber.transcribe_batch``), as
faster-whisper's ``BatchedInferencePipeline`` does.

Unlike sequential long form, a chunk is decoded alone: no prompt of earlier text, no seek from
one window into the next; a chunk is one window, cut whole (its text after the last timestamp
pair is its last segment, not decoded again: ``segments.cut_window``). So chunks can be
decoded together (throughput), and a stretch of silence or music never reaches the model
(fewer hallucinations), but the text of one chunk does not inform the next (a name spelled two
ways, say). Timestamps are mapped back to the
file's timeline by each chunk's start.

The audio is read twice, in blocks, as everywhere else: once for the VAD (speech regions,
kept as numbers), once for the chunks (a batch of them at a time).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import torch

from .audio import SAMPLE_RATE, AudioStream
from .features import CHUNK_SECONDS, SampleBuffer
from .segments import Segment, Word

# Audio the VAD reads at once. Silero keeps state across its 32 ms frames; a block boundary
# restarts it, and a speech region cut there is joined again below.
VAD_BLOCK_SECONDS = 300
# Silero's own defaults, except that no speech region may outgrow one Whisper window.
SPEECH_PAD_MS = 30
MIN_SILENCE_MS = 100


@dataclass(frozen=True)
class Chunk:
    """Samples [start, end) of the file: one or more speech regions, at most 30 s in all."""

    start: int
    end: int

    @property
    def offset(self) -> float:
        return self.start / SAMPLE_RATE


# Frames of 32 ms that the VAD's stateless front end (STFT and convolutions) takes at once.
VAD_BATCH_FRAMES = 2048
_FRAME = 512  # samples per Silero frame at 16 kHz
_CONTEXT = 64  # samples of the previous frame that Silero prepends to each frame


class SileroVad:
    """Silero VAD's speech probabilities for a whole block at once.

    Silero's own loop calls its model once per 32 ms frame (a 3-minute file: 5,600 calls,
    about 2 s here). Only its LSTM carries state from frame to frame; the STFT and the
    convolutions before it see one frame (plus 64 samples of the previous one) at a time. So
    the front end runs on many frames in one call, the LSTM cell's weights run as an
    ``nn.LSTM`` over the whole sequence, and the output layer on every frame at once: the same
    probabilities to within 1e-5 (tested), about 10x faster.
    """

    def __init__(self) -> None:
        # Importing silero_vad calls torch.set_num_threads(1) for the whole process (its
        # model.py does, at import): every encoder and decoder pass after the first VAD use then
        # ran on one core. The VAD needs no more; the rest keeps its own.
        threads = torch.get_num_threads()
        try:
            from silero_vad import get_speech_timestamps, load_silero_vad

            self.model = load_silero_vad().eval()
        finally:
            torch.set_num_threads(threads)
        self.get_speech_timestamps = get_speech_timestamps
        network = self.model._model  # the 16 kHz network
        self.front = lambda frames: network.encoder(network.stft(frames))
        cell = network.decoder.rnn
        self.lstm = torch.nn.LSTM(cell.input_size, cell.hidden_size, batch_first=True).eval()
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(self.lstm, f"{name}_l0").data = getattr(cell, name).data
        self.output = network.decoder.decoder

    @torch.inference_mode()
    def probabilities(self, samples: torch.Tensor) -> np.ndarray:
        """P(speech) of each 32 ms frame of ``samples`` (the last frame zero-padded), with
        the state fresh at the first frame, as ``get_speech_timestamps`` computes them."""
        count = -(-len(samples) // _FRAME)
        frames = torch.nn.functional.pad(samples, (0, count * _FRAME - len(samples)))
        frames = frames.view(count, _FRAME)
        context = torch.cat([torch.zeros(1, _CONTEXT), frames[:-1, -_CONTEXT:]])
        inputs = torch.cat([context, frames], dim=1)
        features = torch.cat(
            [
                self.front(inputs[i : i + VAD_BATCH_FRAMES]).squeeze(-1)
                for i in range(0, count, VAD_BATCH_FRAMES)
            ]
        )
        hidden, _ = self.lstm(features.unsqueeze(0))
        scores = self.output(hidden[0].unsqueeze(-1))  # (frames, 1, 1)
        return scores.reshape(count).numpy()

    def regions(self, samples: torch.Tensor, **parameters) -> list[dict]:
        """Silero's ``get_speech_timestamps`` over ``samples``, fed the probabilities above."""
        return self.get_speech_timestamps(
            samples, _Replayed(self.probabilities(samples)), **parameters
        )


class _Replayed:
    """Stands in for Silero's model inside its ``get_speech_timestamps``: hands out the
    precomputed probability of each frame in the order that loop asks for them."""

    def __init__(self, probabilities: np.ndarray) -> None:
        self.probabilities = probabilities
        self.position = 0

    def reset_states(self) -> None:
        self.position = 0

    def __call__(self, frame: torch.Tensor, sampling_rate: int) -> np.float32:
        value = self.probabilities[self.position]  # numpy scalar: has .item(), as a tensor
        self.position += 1
        return value


@lru_cache(maxsize=1)
def _silero() -> SileroVad:
    return SileroVad()


def speech_regions(stream: AudioStream) -> list[tuple[int, int]]:
    """(start, end) samples of the speech in ``stream``, read block by block."""
    vad = _silero()
    block = VAD_BLOCK_SECONDS * SAMPLE_RATE
    buffer = SampleBuffer(stream.blocks())
    regions: list[tuple[int, int]] = []
    position = 0
    while True:
        samples = buffer.read(position, position + block)
        real = min(block, max(0, buffer.end - position)) if buffer.finished else block
        if real <= 0:
            break
        found = vad.regions(
            torch.from_numpy(np.ascontiguousarray(samples[:real])),
            sampling_rate=SAMPLE_RATE,
            max_speech_duration_s=CHUNK_SECONDS,
            min_silence_duration_ms=MIN_SILENCE_MS,
            speech_pad_ms=SPEECH_PAD_MS,
        )
        for item in found:
            start, end = position + item["start"], position + item["end"]
            if regions and start <= regions[-1][1] + 1 and end - regions[-1][0] <= block:
                regions[-1] = (regions[-1][0], end)  # joined across a block boundary
            else:
                regions.append((start, end))
        position += block
        if buffer.finished and position >= buffer.end:
            break
    return regions


def chunks_of(regions: list[tuple[int, int]]) -> list[Chunk]:
    """Speech regions merged, in order, into chunks no longer than one window."""
    limit = CHUNK_SECONDS * SAMPLE_RATE
    chunks: list[Chunk] = []
    for start, end in regions:
        end = min(end, start + limit)
        if chunks and end - chunks[-1].start <= limit:
            chunks[-1] = Chunk(chunks[-1].start, end)
        else:
            chunks.append(Chunk(start, end))
    return chunks


def chunk_audio(stream: AudioStream, chunks: list[Chunk]) -> Iterator[np.ndarray]:
    """The samples of each chunk, in order, read in one pass."""
    buffer = SampleBuffer(stream.blocks())
    for chunk in chunks:
        yield buffer.read(chunk.start, chunk.end).copy()


def shifted(segment: Segment, offset: float, segment_id: int) -> Segment:
    """``segment`` of a chunk on the file's timeline."""
    words = None
    if segment.words is not None:
        words = [
            Word(w.word, w.start + offset, w.end + offset, w.probability) for w in segment.words
        ]
    return replace(
        segment,
        id=segment_id,
        start=segment.start + offset,
        end=segment.end + offset,
        seek=segment.seek + round(offset * 100),
        words=words,
    )
