"""Several inputs decoded together: the current window of each, in one batch per round.

Each input is a ``LongFormStream`` (the segment stage) with its own window decoder
(statistics, random source). A round takes the next window of every active input, encodes
them one by one (the encoder is compute-bound: batching it gains nothing on a CPU, and one
window at a time keeps its numbers those of a lone transcription), decodes their greedy
attempts together (``batch_search``), and hands each result to its window decoder, which
keeps it, or falls back to higher temperatures, or decodes the window again alone when a
token was kept by a hair (``verify.NEAR_TIE``): so each input's text is what ``transcribe``
gives it alone. A finished input's place goes to the next waiting one.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import torch

from .decoding.batch_search import SessionsDraft, batch_search
from .decoding.drafters.base import WindowContext
from .decoding.lean_decoder import LeanDecoder
from .decoding.options import TranscribeOptions, WindowResult
from .decoding.prompt import build_prompt
from .decoding.window import WindowDecoder
from .errors import (
    AudioDecodeError,
    AudioTooLongError,
    SpecwhisperError,
    TranscriptionCancelled,
)
from .longform import LongFormStream, WindowInput
from .segments import Segment


@dataclass
class _Input:
    index: int
    stream: LongFormStream
    decoder: WindowDecoder
    info: object  # TranscriptionInfo
    first_encoded: torch.Tensor | None
    started: float
    segments: list[Segment] = field(default_factory=list)


def transcribe_many(
    transcriber,
    audios: list,
    options: TranscribeOptions,
    limits,
    batch_size,
    stops,
    whole: bool = False,
):
    """See ``Transcriber.transcribe_batch``. ``whole``: the audios are VAD chunks, each
    decoded as one window."""
    from .transcribe import Transcription

    results: list = [None] * len(audios)
    waiting = deque(range(len(audios)))
    active: list[_Input] = []
    while waiting or active:
        while waiting and len(active) < batch_size:
            index = waiting.popleft()
            started = time.perf_counter()
            try:
                stream, decoder, info, first = transcriber._start(
                    audios[index], options, limits, whole
                )
            except (AudioDecodeError, AudioTooLongError) as error:
                results[index] = error
                continue
            active.append(_Input(index, stream, decoder, info, first, started))
        still: list[_Input] = []
        for item in list(active):
            stop = stops[item.index]
            if stop is not None and stop():
                results[item.index] = TranscriptionCancelled(
                    "transcription stopped: nobody waits for it", item.info.stats.windows
                )
            elif item.stream.done:  # nothing to decode (all silence skipped, or empty)
                results[item.index] = Transcription.collect(
                    item.info, iter(item.segments), item.started
                )
            else:
                still.append(item)
        active = still
        if not active:
            continue
        windows = [item.stream.next_window() for item in active]
        with transcriber._lock, torch.inference_mode():
            decoded, encoded = decode_round(transcriber, active, windows, options)
            for item, result, out in zip(active, decoded, encoded, strict=True):
                item.segments += item.stream.advance(result, out)
                item.first_encoded = None
    return results


def decode_round(
    transcriber, items: list[_Input], windows: list[WindowInput], options: TranscribeOptions
) -> tuple[list[WindowResult], list[torch.Tensor]]:
    """Each item's window decoded (the greedy attempts together, the rest window by window),
    and the windows' encoder outputs (word timestamps read them)."""
    encoded = []
    for item, window in zip(items, windows, strict=True):
        first = item.first_encoded if window.seek == 0 else None
        encoded.append(first if first is not None else item.decoder.encode(window.audio.features))
    languages = [item.info.language for item in items]
    batched = options.temperature[0] == 0 and options.beam_size == 1 and len(items) > 1
    firsts = [None] * len(items)
    if batched:
        firsts = _greedy_together(transcriber, items, windows, encoded, languages, options)
    results = [
        item.decoder.decode(w.audio, out, w.previous, lang, w.carried, first=first)
        for item, w, out, lang, first in zip(
            items, windows, encoded, languages, firsts, strict=True
        )
    ]
    return results, encoded


def _greedy_together(transcriber, items, windows, encoded, languages, options):
    main = transcriber.main
    decoders: list[WindowDecoder] = [item.decoder for item in items]
    timestamps = not options.without_timestamps
    prompts = [
        build_prompt(main, lang, options.task, w.previous, timestamps)
        for w, lang in zip(windows, languages, strict=True)
    ]
    cross_kvs = [d.cross_kv(out) for d, out in zip(decoders, encoded, strict=True)]
    decoder = LeanDecoder(main.model, cross_kvs=cross_kvs)
    draft = None
    if transcriber.drafter is not None and options.use_speculative:
        contexts: list[WindowContext] = []
        for d, w, out, kv, prompt, lang in zip(
            decoders, windows, encoded, cross_kvs, prompts, languages, strict=True
        ):
            context = d.window_context(w.audio, out, kv, prompt, w.previous, lang)
            context.carried = list(w.carried)
            contexts.append(context)
        draft = transcriber.drafter.batch(contexts)
        if draft is None:
            sessions = [transcriber.drafter.start(context) for context in contexts]
            for d, session in zip(decoders, sessions, strict=True):
                d.stats.draft_encoder_s += session.encoder_s
            draft = SessionsDraft(sessions)
    return batch_search(
        decoder,
        decoders[0].filters,
        prompts,
        options.sample_len,
        main.special.eot,
        [d.stats for d in decoders],
        draft,
        decoders[0].chooser,
        main.special.no_speech,
    )


__all__ = ["transcribe_many", "SpecwhisperError"]
