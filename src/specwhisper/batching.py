"""Several inputs decoded together, with continuous batching.

Each input is a ``LongFormStream`` (the segment stage) with its own window decoder
(statistics, random source). Up to ``batch_size`` inputs are in flight, each with one window
in the batch at a time. A window is encoded alone (the encoder is compute-bound: batching it
gains nothing on a CPU, and one window at a time keeps its numbers those of a lone
transcription) and joins the batch (``BatchSearch``), whose rounds decode every row's greedy
attempt together. When a row finishes, its result goes to its window decoder, which keeps it,
or falls back to higher temperatures, or decodes the window again alone when a token was kept
by a hair (``verify.NEAR_TIE``): so each input's text is what ``transcribe`` gives it alone.
Then the input's next window, or the next waiting input, takes the row's place at once, so
the batch never waits for its slowest row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import torch

from .decoding.batch_search import BatchSearch, SessionsDraft
from .decoding.kv_decoder import CrossKV
from .decoding.options import TranscribeOptions
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
    window: WindowInput | None = None  # the window in the batch, and its encoder output
    encoded: torch.Tensor | None = None


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
    scheduler = Scheduler(
        transcriber, audios, options, limits, batch_size, stops.__getitem__, whole
    )
    return [result for _, result in scheduler.results()]


_END = object()  # the end of a Scheduler's inputs


class Scheduler:
    """Inputs decoded with up to ``batch_size`` in flight; ``stop_for(index)`` is that
    input's stop check (or None). ``audios`` may be any iterable, read only as places in the
    batch come free; it may also yield None for "nothing more just now" (a server's queue):
    places stay open for later, and a run with nothing in flight then ends. ``encoded``: the
    encoder outputs of some inputs' first windows and their cross-attention keys/values, by
    index, where they were made already (a VAD run's language detection). ``count``: how many
    inputs ``audios`` holds, when it has no length but the caller knows."""

    def __init__(
        self,
        transcriber,
        audios: Iterable,
        options: TranscribeOptions,
        limits,
        batch_size: int,
        stop_for: Callable[[int], Callable[[], bool] | None],
        whole: bool = False,
        encoded: dict[int, tuple[torch.Tensor, CrossKV]] | None = None,
        count: int | None = None,
    ) -> None:
        self.transcriber = transcriber
        self.audios = audios
        self.options = options
        self.limits = limits
        self.batch_size = batch_size
        self.stop_for = stop_for
        self.whole = whole  # the inputs are VAD chunks, each decoded as one window
        # Encoder outputs of inputs' first windows made already (language detection).
        self.encoded = dict(encoded or {})
        # How many inputs will come, when known (a list's length, a file's VAD chunks).
        self.count = len(audios) if count is None and hasattr(audios, "__len__") else count
        self.done: dict[int, object] = {}  # finished inputs not yet handed out
        self.running: dict[int, _Input] = {}
        # Greedy first attempts are batched; sampling and beam search decode window by window.
        self.batched = options.temperature[0] == 0 and options.beam_size == 1 and batch_size > 1
        self.search: BatchSearch | None = None  # made with the first window that joins
        self.handed_out = 0  # in order: the inputs before this one are out

    def results(self, in_order: bool = True) -> Iterator[tuple[int, object]]:
        """(index, Transcription or error) of every input, each as soon as it is done (and,
        ``in_order``, the ones before it)."""
        inputs = iter(self.audios)
        admitted = 0
        self.handed_out = 0
        exhausted = False
        while True:
            # Results first: a finished input's place is only taken once its result is out.
            yield from self._hand_out(in_order)
            while not exhausted and len(self.running) < self.batch_size:
                audio = next(inputs, _END)
                if audio is _END:
                    exhausted = True
                elif audio is None:  # nothing waits now
                    exhausted = not self.running
                    break
                else:
                    self._admit(admitted, audio)
                    admitted += 1
                    # Out before the next input is read: one that failed, was empty, or was
                    # decoded whole on admission (unbatched: batch size 1, sampling, beams),
                    # else a queue's results would wait for all of its inputs.
                    yield from self._hand_out(in_order)
            if exhausted and not self.running:
                return
            if self.search is None or not len(self.search):
                continue  # the inputs in flight finished (or failed) while they were admitted
            with self.transcriber._lock, torch.inference_mode():
                finished = self.search.step()
            for index, first in finished:
                item = self.running[index]
                with self.transcriber._lock, torch.inference_mode():
                    result = item.decoder.decode(
                        item.window.audio,
                        item.encoded,
                        item.window.previous,
                        item.info.language,
                        item.window.carried,
                        first=first,
                    )
                self._advance(item, result)

    def _hand_out(self, in_order: bool) -> Iterator[tuple[int, object]]:
        if in_order:
            while self.handed_out in self.done:
                yield self.handed_out, self.done.pop(self.handed_out)
                self.handed_out += 1
        else:
            for index in list(self.done):
                yield index, self.done.pop(index)

    def _admit(self, index: int, audio) -> None:
        started = time.perf_counter()
        try:
            stream, decoder, info, first = self.transcriber._start(
                audio, self.options, self.limits, self.whole
            )
        except (AudioDecodeError, AudioTooLongError) as error:
            self.done[index] = error
            return
        if first is None and index in self.encoded:
            first, cross_kv = self.encoded.pop(index)
            decoder.remember_cross_kv(first, cross_kv)
        item = _Input(index, stream, decoder, info, first, started)
        self.running[index] = item
        self._next_window(item)

    def _advance(self, item: _Input, result) -> None:
        with self.transcriber._lock:
            item.segments += item.stream.advance(result, item.encoded)
        item.first_encoded = None
        self._next_window(item)

    def _next_window(self, item: _Input) -> None:
        """The item's next window into the batch (or, unbatched, decoded now), or the item's
        result when it has no more."""
        from .transcribe import Transcription

        while True:
            stop = self.stop_for(item.index)
            if stop is not None and stop():
                self._finish(
                    item,
                    TranscriptionCancelled(
                        "transcription stopped: nobody waits for it", item.info.stats.windows
                    ),
                )
                return
            if item.stream.done:  # all decoded (or all silence skipped, or empty)
                self._finish(
                    item, Transcription.collect(item.info, iter(item.segments), item.started)
                )
                return
            window = item.stream.next_window()
            with self.transcriber._lock, torch.inference_mode():
                encoded = item.first_encoded if window.seek == 0 else None
                if encoded is None:
                    encoded = item.decoder.encode(window.audio.features)
                item.window, item.encoded = window, encoded
                if self.batched:
                    self._join(item)
                    return
                result = item.decoder.decode(
                    window.audio, encoded, window.previous, item.info.language, window.carried
                )
            with self.transcriber._lock:
                item.segments += item.stream.advance(result, encoded)
            item.first_encoded = None

    def _join(self, item: _Input) -> None:
        """The item's window as a new row of the batch."""
        decoder, window = item.decoder, item.window
        main, options = self.transcriber.main, self.options
        if self.search is None:
            # Every input has the same options, hence the same filters and draft lengths.
            draft = None
            if self.transcriber.drafter is not None and options.use_speculative:
                drafter = self.transcriber.drafter
                draft = drafter.batch(options) or SessionsDraft(drafter)
            self.search = BatchSearch.like(decoder, draft)
            # Known inputs get room for all their rows at once. A queue's rows (a server's)
            # grow as they come, so that a lone request holds one row's buffers, not a batch's.
            if self.count is not None:
                self.search.reserve(max(1, min(self.batch_size, self.count)))
        search = self.search
        prompt = build_prompt(
            main, item.info.language, options.task, window.previous, not options.without_timestamps
        )
        cross_kv = decoder.cross_kv(item.encoded)
        context = None
        if search.draft is not None:
            context = decoder.window_context(
                window.audio, item.encoded, cross_kv, prompt, window.previous, item.info.language
            )
            context.carried = list(window.carried)
            if isinstance(search.draft, SessionsDraft):
                session = self.transcriber.drafter.start(context)
                decoder.stats.draft_encoder_s += session.encoder_s
                search.draft.add_session(item.index, session)
                context = None  # added
        search.add(item.index, prompt, cross_kv, decoder.stats, context)

    def _finish(self, item: _Input, result) -> None:
        self.done[item.index] = result
        del self.running[item.index]


__all__ = ["transcribe_many", "Scheduler", "SpecwhisperError"]
