"""VAD-batched long form: Silero VAD finds the speech, the speech regions are put end to end
into chunks of at most 30 s of speech (the silence between them left out), and the chunks are
decoded in batches (``Transcriber.transcribe_batch``), as faster-whisper's
``BatchedInferencePipeline`` does.

Unlike sequential long form, a chunk is decoded alone: no prompt of earlier text, no seek from
one window into the next; a chunk is one window, cut whole (its text after the last timestamp
pair is its last segment, not decoded again: ``segments.cut_window``). So chunks can be
decoded together (throughput), long silences and music never reach the model (fewer
hallucinations, fewer windows), but the text of one chunk does not inform the next (a name
spelled two ways, say). Times in a chunk's window are mapped back to the file's timeline
piece by piece (``Chunk.file_time``).

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
from .features import CHUNK_SECONDS, FRAMES_PER_SECOND, N_SAMPLES, SampleBuffer
from .segments import Segment, Word

# Audio the VAD reads at once. Silero keeps state across its 32 ms frames; a block boundary
# restarts it, and a speech region cut there is joined again below.
VAD_BLOCK_SECONDS = 300
# faster-whisper's batched pipeline's settings (Silero's defaults are 30 and 100): a region
# keeps up to 0.4 s of its silence on each side, so where two regions meet in a chunk the
# model still hears a pause of up to 0.8 s between their words; and the same settings as the
# pipeline we are measured against give the same chunks. No region outgrows one window.
SPEECH_PAD_MS = 400
MIN_SILENCE_MS = 160


@dataclass(frozen=True)
class Chunk:
    """Speech regions of the file, [start, end) samples each, in order, decoded as one window:
    their samples put end to end (the silence between them left out), at most 30 s in all."""

    pieces: tuple[tuple[int, int], ...]

    @property
    def start(self) -> int:
        return self.pieces[0][0]

    @property
    def end(self) -> int:
        return self.pieces[-1][1]

    @property
    def samples(self) -> int:
        return sum(end - start for start, end in self.pieces)

    def file_time(self, seconds: float, is_end: bool = False) -> float:
        """A time in the chunk's window -> the same instant in the file. A time on the seam
        of two pieces is the first piece's end if ``is_end`` (a segment or word that ends
        there), else the second's start; a time past the last piece (the window's padding)
        runs on from it."""
        position = seconds * SAMPLE_RATE
        before = 0  # samples of the window before the piece
        for start, end in self.pieces[:-1]:
            length = end - start
            if position < before + length or (is_end and position == before + length):
                return (start + position - before) / SAMPLE_RATE
            before += length
        return (self.pieces[-1][0] + position - before) / SAMPLE_RATE


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
            if regions and start <= regions[-1][1] + 1 and end - regions[-1][0] <= N_SAMPLES:
                regions[-1] = (regions[-1][0], end)  # joined across a block boundary
            else:
                regions.append((start, end))
        position += block
        if buffer.finished and position >= buffer.end:
            break
    return regions


def chunks_of(regions: list[tuple[int, int]]) -> list[Chunk]:
    """Speech regions, in order, gathered into chunks of at most one window of speech (as
    faster-whisper's ``collect_chunks``: the silence between regions is not decoded)."""
    chunks: list[Chunk] = []
    pieces = [  # a region longer than a window (none from speech_regions) in several
        (begin, min(begin + N_SAMPLES, end))
        for start, end in regions
        for begin in range(start, end, N_SAMPLES)
    ]
    for piece in pieces:
        if chunks and chunks[-1].samples + piece[1] - piece[0] <= N_SAMPLES:
            chunks[-1] = Chunk((*chunks[-1].pieces, piece))
        else:
            chunks.append(Chunk((piece,)))
    return chunks


def chunk_audio(stream: AudioStream, chunks: list[Chunk]) -> Iterator[np.ndarray]:
    """The samples of each chunk (its pieces end to end), in order, read in one pass."""
    buffer = SampleBuffer(stream.blocks())
    for chunk in chunks:
        yield np.concatenate([buffer.read(start, end) for start, end in chunk.pieces])


def shifted(segment: Segment, chunk: Chunk, segment_id: int) -> Segment:
    """``segment`` of a chunk's window on the file's timeline."""
    words = None
    if segment.words is not None:
        words = [
            Word(w.word, chunk.file_time(w.start), chunk.file_time(w.end, True), w.probability)
            for w in segment.words
        ]
    return replace(
        segment,
        id=segment_id,
        start=chunk.file_time(segment.start),
        end=chunk.file_time(segment.end, True),
        seek=round(chunk.file_time(segment.seek / FRAMES_PER_SECOND) * FRAMES_PER_SECOND),
        words=words,
    )
