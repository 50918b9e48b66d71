"""The Python entry point: audio in, segments out, speculative decoding inside.

>>> from specwhisper import Transcriber
>>> result = Transcriber(model="base", draft="self-int8").transcribe("clip.wav")
>>> result.text, result.segments[0].start, result.stats.acceptance_rate

``transcribe`` returns the whole result; ``transcribe_segments`` returns a lazy iterator of
segments (decoded as they are asked for) and the information known up front, as
faster-whisper does. Both run openai-whisper's long-form algorithm (``_seek_loop``) over 30 s
windows of any length of audio, read as a stream: memory stays bounded by a few windows.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import torch

from .audio import AudioInput, AudioStream, DecodeLimits
from .decoding.draft_length import DraftLengthChooser
from .decoding.drafters import make_drafter
from .decoding.options import MAX_DRAFT_LENGTH, SpecStats, TranscribeOptions
from .decoding.prompt import detect_language
from .decoding.window import WindowDecoder
from .errors import (
    AudioDecodeError,
    AudioTooLongError,
    OptionsError,
    SpecwhisperError,
    TranscriptionCancelled,
)
from .features import (
    MelFilters,
    PreparedAudio,
    WindowFeatures,
    prepare_audio,
)
from .longform import LongFormStream
from .models.devices import resolve_device
from .models.int8 import COMPUTE_TYPES, int8_bundle
from .models.loading import load_model
from .models.registry import resolve_pair
from .segments import Segment
from .words import WordAligner

# Called with (seconds of audio done, seconds in all) after each window.
ProgressCallback = Callable[[float, float], None]
# Asked before each window; True stops the transcription (TranscriptionCancelled).
StopCheck = Callable[[], bool]


@dataclass
class TranscriptionInfo:
    """What is known before the segments are decoded; ``stats`` fills in as they are."""

    language: str
    language_probability: float  # 1.0 when the language was given, or the model is English-only
    duration: float  # audio seconds
    model: str
    draft: str | None  # drafter in use; None for plain decoding (and beam search)
    options: TranscribeOptions
    eot: int  # the main model's <|endoftext|>: ids below it are text
    stats: SpecStats = field(default_factory=SpecStats)


@dataclass(frozen=True)
class Transcription:
    text: str
    language: str
    tokens: list[int]  # main-model ids of the text of every segment (no timestamps)
    segments: list[Segment]
    model: str
    draft: str | None  # drafter actually used; None for plain decoding (and beam search)
    stats: SpecStats
    seconds: float  # wall time of this transcription, audio decoding included
    duration: float  # audio seconds
    language_probability: float = 1.0

    @classmethod
    def collect(
        cls, info: TranscriptionInfo, segments: Iterator[Segment], started: float
    ) -> Transcription:
        """Decode every segment of ``segments``; ``started`` is the perf_counter() time the
        transcription began (for ``seconds``)."""
        collected = list(segments)
        return cls(
            text="".join(s.text for s in collected).strip(),
            language=info.language,
            tokens=[t for s in collected for t in s.tokens if t < info.eot],
            segments=collected,
            model=info.model,
            draft=info.draft,
            stats=info.stats,
            seconds=time.perf_counter() - started,
            duration=info.duration,
            language_probability=info.language_probability,
        )

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "language": self.language,
            "language_probability": round(self.language_probability, 4),
            "model": self.model,
            "draft": self.draft,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 4),
            "duration": round(self.duration, 3),
            "stats": self.stats.as_dict(),
            "segments": [segment.as_dict() for segment in self.segments],
        }


def set_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads (default: $SPECWHISPER_THREADS, else torch's choice)."""
    threads = threads or int(os.environ.get("SPECWHISPER_THREADS", "0"))
    if threads > 0:
        torch.set_num_threads(threads)


class Transcriber:
    """A main Whisper plus an optional drafter.

    ``model`` is a model name, hub id or folder, or a preset (``default``, ``v2``, ``v3``), in
    which case ``draft`` defaults to the preset's draft. ``draft`` is ``auto`` (the fastest
    lossless choice), ``none``, ``self-int8``, ``ngram``, ``ngram+DRAFT`` or a model name.
    ``compute_type`` ``int8`` runs the main model in 8-bit integers (``models/int8.py``): the
    output is then that int8 model's own greedy output, with or without a draft. ``device``
    ``auto`` (the default, or $SPECWHISPER_DEVICE) runs the models on a GPU when PyTorch sees
    one (float32 only: int8 is the CPU's), else ``cpu``; ``cuda`` / ``cuda:N`` ask for one. The
    drafter
    holds weights only, and every window gets its own caches; what is shared across calls is
    the draft-length statistics, which learn this machine's costs.
    """

    def __init__(
        self,
        model: str = "base",
        draft: str | None = "auto",
        threads: int | None = None,
        compute_type: str = "float32",
        device: str | None = None,
    ) -> None:
        if compute_type not in COMPUTE_TYPES:
            raise OptionsError(
                f"compute_type must be one of {', '.join(COMPUTE_TYPES)}, not {compute_type!r}",
                "compute_type",
            )
        self.device = resolve_device(device)
        if compute_type == "int8" and self.device != "cpu":
            raise OptionsError(
                f"compute_type int8 runs on the CPU (PyTorch's int8 kernels); on {self.device} "
                "use compute_type float32, or device cpu",
                "compute_type",
            )
        set_threads(threads)
        model, draft = resolve_pair(model, draft)
        weights = load_model(model, self.device)
        self.compute_type = compute_type
        # Drafts are built from the float weights: a draft's int8 copy is its own.
        self.main = int8_bundle(weights) if compute_type == "int8" else weights
        self.drafter = make_drafter(draft, weights, compute_type)
        self.filters = MelFilters(self.main)
        self.chooser = DraftLengthChooser(MAX_DRAFT_LENGTH)
        self._lock = threading.Lock()  # one window at a time: the chooser is shared

    @property
    def model_name(self) -> str:
        return self.main.name

    @property
    def draft_name(self) -> str | None:
        return self.drafter.name if self.drafter else None

    def options(self, options: TranscribeOptions | None = None, **overrides) -> TranscribeOptions:
        """``options`` (default: all defaults) with ``overrides``, validated for this model."""
        unknown = set(overrides) - set(TranscribeOptions.__dataclass_fields__)
        if unknown:
            raise OptionsError(
                f"unknown option {sorted(unknown)[0]!r}; the options are "
                f"{', '.join(TranscribeOptions.__dataclass_fields__)}",
                sorted(unknown)[0],
            )
        if isinstance(overrides.get("temperature"), int | float):
            overrides["temperature"] = (float(overrides["temperature"]),)
        options = replace(options or TranscribeOptions(), **overrides)
        return options.validated(self.main.special.languages)

    def prepare(
        self,
        audio: AudioInput | AudioStream | PreparedAudio,
        limits: DecodeLimits | None = None,
        name: str | None = None,
    ) -> PreparedAudio:
        """Check and scan ``audio`` for this model (the first of the two passes over it), so
        that a caller can refuse bad input before it waits for a worker. ``name`` replaces the
        input's own name in error messages."""
        return prepare_audio(audio, self.filters, limits, name)

    def transcribe(
        self,
        audio: AudioInput | AudioStream | PreparedAudio,
        options: TranscribeOptions | None = None,
        *,
        limits: DecodeLimits | None = None,
        should_stop: StopCheck | None = None,
        progress: ProgressCallback | None = None,
        **overrides,
    ) -> Transcription:
        """Transcribe ``audio`` (a path, bytes, a 16 kHz array, an open stream or prepared
        audio) of any length.

        ``options`` and keyword ``overrides`` are ``TranscribeOptions`` fields (``language``,
        ``task``, ``temperature``...). ``limits`` caps the audio's duration and decoding time.
        """
        started = time.perf_counter()
        segments, info = self.transcribe_segments(
            audio,
            options,
            limits=limits,
            should_stop=should_stop,
            progress=progress,
            **overrides,
        )
        return Transcription.collect(info, segments, started)

    def transcribe_batch(
        self,
        audios: Sequence[AudioInput | AudioStream | PreparedAudio],
        options: TranscribeOptions | None = None,
        *,
        limits: DecodeLimits | None = None,
        should_stop: Sequence[StopCheck | None] | None = None,
        **overrides,
    ) -> list[Transcription | SpecwhisperError]:
        """Transcribe several inputs with the same options: one result per input, in order.

        Up to ``batch_size`` (an option) inputs are decoded together, window by window in
        lockstep (each file's windows stay in order; a finished file's place goes to the next
        one); every input's text is what ``transcribe`` gives it alone. An input that fails
        (unreadable, too long) gets its error in its place; the others are transcribed all
        the same. Options are checked once, before any input is read. ``should_stop``: per
        input, asked before each of its windows (True stops it: TranscriptionCancelled)."""
        from .batching import transcribe_many

        options = self.options(options, **overrides)
        stops = list(should_stop) if should_stop is not None else [None] * len(audios)
        if options.vad:  # each input's chunks are the batch
            return [r for _, r in self._each_alone(audios, options, limits, stops.__getitem__)]
        return transcribe_many(self, list(audios), options, limits, options.batch_size, stops)

    def transcribe_queue(
        self,
        inputs: Iterable[AudioInput | AudioStream | PreparedAudio | None],
        options: TranscribeOptions | None = None,
        *,
        limits: DecodeLimits | None = None,
        stop_for: Callable[[int], StopCheck | None] = lambda index: None,
        **overrides,
    ) -> Iterator[tuple[int, Transcription | SpecwhisperError]]:
        """``transcribe_batch`` over a queue: ``inputs`` is read only as places in the batch
        come free, and may yield None for "nothing waits just now" (the places stay open; with
        nothing in flight, the run ends). Yields (index of the input, its result) as each one
        finishes, in any order. ``stop_for(index)``: that input's stop check, or None."""
        from .batching import Scheduler

        options = self.options(options, **overrides)
        if options.vad:  # each input's chunks are its own batch
            return self._each_alone(inputs, options, limits, stop_for)
        scheduler = Scheduler(self, inputs, options, limits, options.batch_size, stop_for)
        return scheduler.results(in_order=False)

    def _each_alone(self, inputs, options, limits, stop_for):
        for index, audio in enumerate(inputs):
            if audio is None:  # nothing waits, and nothing is in flight: the run ends
                return
            try:
                yield (
                    index,
                    self.transcribe(audio, options, limits=limits, should_stop=stop_for(index)),
                )
            except (AudioDecodeError, AudioTooLongError, TranscriptionCancelled) as error:
                yield index, error

    def transcribe_segments(
        self,
        audio: AudioInput | AudioStream | PreparedAudio,
        options: TranscribeOptions | None = None,
        *,
        limits: DecodeLimits | None = None,
        should_stop: StopCheck | None = None,
        progress: ProgressCallback | None = None,
        **overrides,
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """Segments, decoded lazily as the iterator is consumed, and what is known up front.

        Checks the options, reads the audio once for its length and loudness, and detects the
        language on the first window before returning; everything else happens per segment.
        """
        options = self.options(options, **overrides)
        if options.vad:
            from .vad_transcribe import vad_segments

            return vad_segments(self, audio, options, limits, should_stop, progress)
        stream, decoder, info, first_encoded = self._start(audio, options, limits)
        return self._seek_loop(stream, decoder, info, first_encoded, should_stop, progress), info

    def _start(
        self,
        audio: AudioInput | AudioStream | PreparedAudio,
        options: TranscribeOptions,
        limits: DecodeLimits | None,
        whole: bool = False,
    ) -> tuple[LongFormStream, WindowDecoder, TranscriptionInfo, torch.Tensor | None]:
        """Everything a transcription needs before its first window is decoded: the audio
        scanned, a window decoder (statistics, random source), the language (detected on the
        first window, whose encoder output is kept for decoding it). ``whole``: the audio is a
        VAD chunk, decoded as one window (``LongFormStream``)."""
        prepared = self.prepare(audio, limits)
        audio_scan = prepared.scan
        windows = WindowFeatures(prepared.stream, self.filters, audio_scan)
        stats = SpecStats()
        generator = torch.Generator()
        generator.manual_seed(options.seed if options.seed is not None else _random_seed())
        chooser = self.chooser
        if options.draft_length is not None:
            chooser = DraftLengthChooser(MAX_DRAFT_LENGTH, fixed=options.draft_length)
        decoder = WindowDecoder(self.main, self.drafter, chooser, options, stats, generator)
        language, probability, first_encoded = options.language, 1.0, None
        if language is None and self.main.multilingual:
            with self._lock, torch.inference_mode():
                first_encoded = decoder.encode(windows.features(0))
                # The window's keys/values stay with the decoder, which decodes it next.
                cross_kv = decoder.cross_kv(first_encoded)
                language, probability = detect_language(self.main, first_encoded, cross_kv)
        speculative = options.use_speculative and options.beam_size == 1
        info = TranscriptionInfo(
            language=language or "en",
            language_probability=probability,
            duration=audio_scan.duration,
            model=self.main.name,
            draft=self.draft_name if speculative else None,
            options=options,
            eot=self.main.special.eot,
            stats=stats,
        )
        aligner = None
        if options.word_timestamps:
            aligner = WordAligner(self.main, info.language, options.task, stats)
        stream = LongFormStream(self.main, windows, audio_scan, options, aligner, whole)
        return stream, decoder, info, first_encoded

    def _seek_loop(
        self,
        stream: LongFormStream,
        decoder: WindowDecoder,
        info: TranscriptionInfo,
        first_encoded: torch.Tensor | None,
        should_stop: StopCheck | None,
        progress: ProgressCallback | None,
    ) -> Iterator[Segment]:
        """openai-whisper's ``transcribe()`` loop: the stream's windows, one after another."""
        while not stream.done:
            if should_stop is not None and should_stop():
                raise TranscriptionCancelled("transcription stopped: nobody waits for it")
            window = stream.next_window()
            with self._lock, torch.inference_mode():
                encoder_out = first_encoded if window.seek == 0 else None
                if encoder_out is None:
                    encoder_out = decoder.encode(window.audio.features)
                result = decoder.decode(
                    window.audio, encoder_out, window.previous, info.language, window.carried
                )
            with self._lock:
                segments = stream.advance(result, encoder_out)
            yield from segments
            if progress is not None:
                progress(stream.seconds_done, stream.duration)


def _random_seed() -> int:
    return int.from_bytes(os.urandom(8), "little") >> 1


__all__ = [
    "Transcriber",
    "Transcription",
    "TranscriptionInfo",
    "Segment",
    "AudioTooLongError",
    "OptionsError",
]
