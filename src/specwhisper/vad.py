"""VAD-batched long form: Silero VAD finds the speech, the speech is cut into chunks of at most
30 s, and the chunks are decoded in batches (``Transcriber.transcribe_batch``), as
faster-whisper's ``BatchedInferencePipeline`` does.

Unlike sequential long form, a chunk is decoded alone: no prompt of earlier text, no seek from
one window into the next. So chunks can be decoded together (throughput), and a stretch of
silence or music never reaches the model (fewer hallucinations), but the text of one chunk
does not inform the next (a name spelled two ways, say). Timestamps are mapped back to the
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


@lru_cache(maxsize=1)
def _silero():
    # Importing silero_vad calls torch.set_num_threads(1) for the whole process (its model.py
    # does, at import): every encoder and decoder pass after the first VAD use then ran on one
    # core, half the speed on two. The VAD needs no more than one; the rest keeps its own.
    threads = torch.get_num_threads()
    try:
        from silero_vad import get_speech_timestamps, load_silero_vad

        return load_silero_vad(), get_speech_timestamps
    finally:
        torch.set_num_threads(threads)


def speech_regions(stream: AudioStream) -> list[tuple[int, int]]:
    """(start, end) samples of the speech in ``stream``, read block by block."""
    model, get_speech_timestamps = _silero()
    block = VAD_BLOCK_SECONDS * SAMPLE_RATE
    buffer = SampleBuffer(stream.blocks())
    regions: list[tuple[int, int]] = []
    position = 0
    while True:
        samples = buffer.read(position, position + block)
        real = min(block, max(0, buffer.end - position)) if buffer.finished else block
        if real <= 0:
            break
        found = get_speech_timestamps(
            torch.from_numpy(np.ascontiguousarray(samples[:real])),
            model,
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
