"""``Transcriber.transcribe_segments`` with ``vad``: speech chunks (vad.py) decoded in batches
(``transcribe_batch``), their segments put on the file's timeline, lazily batch by batch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import torch

from .audio import SAMPLE_RATE
from .batching import Scheduler
from .decoding.kv_decoder import CrossKV
from .decoding.options import SpecStats, TranscribeOptions
from .decoding.prompt import detect_language
from .decoding.window import WindowDecoder
from .errors import SpecwhisperError
from .features import log_mel
from .segments import Segment
from .vad import Chunk, chunk_audio, chunks_of, shifted, speech_regions


def vad_segments(transcriber, audio, options: TranscribeOptions, limits, should_stop, progress):
    """(segments, info) as ``transcribe_segments`` returns them."""
    from .transcribe import TranscriptionInfo

    prepared = transcriber.prepare(audio, limits)
    chunks = chunks_of(speech_regions(prepared.stream))
    reader = chunk_audio(prepared.stream, chunks)
    stats = SpecStats()
    language, probability = options.language, 1.0
    first_chunk = next(reader, None)
    # chunk index -> its window's encoder output and cross-attention keys/values
    encoded: dict[int, tuple[torch.Tensor, CrossKV]] = {}
    if language is None and transcriber.main.multilingual and first_chunk is not None:
        # Detected once, on the first chunk of speech, as openai-whisper does on the first
        # window; every chunk is then decoded in that language. ``log_mel`` is the window's
        # own features, so the chunk's decoding reuses this encoder output and the keys/values
        # projected from it.
        # A window decoder of its own (no draft) times both as decoding would.
        detector = WindowDecoder(
            transcriber.main, None, transcriber.chooser, options, stats, torch.Generator()
        )
        with transcriber._lock, torch.inference_mode():
            encoder_out = detector.encode(log_mel(first_chunk, transcriber.main))
            cross_kv = detector.cross_kv(encoder_out)
            encoded[0] = (encoder_out, cross_kv)
            language, probability = detect_language(transcriber.main, encoder_out, cross_kv)
    info = TranscriptionInfo(
        language=language or "en",
        language_probability=probability,
        duration=prepared.duration,
        model=transcriber.main.name,
        draft=transcriber.draft_name if options.use_speculative else None,
        options=options,
        eot=transcriber.main.special.eot,
        stats=stats,
    )
    per_chunk = replace(
        options, vad=False, language=info.language, condition_on_previous_text=False
    )
    samples = iter([first_chunk]) if first_chunk is not None else iter(())
    audio_chunks = _chain(samples, reader)
    segments = _segments(
        transcriber, chunks, audio_chunks, per_chunk, info, should_stop, progress, encoded
    )
    return segments, info


def _chain(first, rest):
    yield from first
    yield from rest


def _segments(
    transcriber,
    chunks: list[Chunk],
    audio_chunks: Iterator,
    options: TranscribeOptions,
    info,
    should_stop,
    progress,
    encoded: dict[int, tuple[torch.Tensor, CrossKV]],
) -> Iterator[Segment]:
    # Every chunk is one window, cut whole (segments.cut_window); chunks are read as places
    # in the batch come free and decoded with continuous batching, their segments handed out
    # in order.
    scheduler = Scheduler(
        transcriber,
        audio_chunks,
        options,
        None,
        options.batch_size,
        lambda _: should_stop,
        whole=True,
        encoded=encoded,
        count=len(chunks),
    )
    next_id = 0
    for index, result in scheduler.results():
        if isinstance(result, SpecwhisperError):
            raise result
        chunk = chunks[index]
        info.stats.add(result.stats)
        for segment in result.segments:
            yield shifted(segment, chunk, next_id)
            next_id += 1
        if progress is not None:
            progress(chunk.end / SAMPLE_RATE, info.duration)
