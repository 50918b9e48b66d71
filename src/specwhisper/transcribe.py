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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import torch

from .audio import AudioInput, AudioStream, DecodeLimits
from .decoding.draft_length import DraftLengthChooser
from .decoding.drafters import make_drafter
from .decoding.logit_filters import timestamp_begin
from .decoding.options import MAX_DRAFT_LENGTH, SpecStats, TranscribeOptions
from .decoding.prompt import detect_language
from .decoding.window import WindowAudio, WindowDecoder, is_silence
from .errors import (
    AudioDecodeError,
    AudioTooLongError,
    OptionsError,
    SpecwhisperError,
    TranscriptionCancelled,
)
from .features import (
    FRAMES_PER_SECOND,
    HOP_LENGTH,
    N_FRAMES,
    AudioScan,
    MelFilters,
    PreparedAudio,
    WindowFeatures,
    prepare_audio,
)
from .models.int8 import COMPUTE_TYPES, int8_bundle
from .models.loading import load_model
from .models.registry import resolve_pair
from .segments import Segment, cut_window
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
    output is then that int8 model's own greedy output, with or without a draft. The drafter
    holds weights only, and every window gets its own caches; what is shared across calls is
    the draft-length statistics, which learn this machine's costs.
    """

    def __init__(
        self,
        model: str = "base",
        draft: str | None = "auto",
        threads: int | None = None,
        compute_type: str = "float32",
    ) -> None:
        if compute_type not in COMPUTE_TYPES:
            raise OptionsError(
                f"compute_type must be one of {', '.join(COMPUTE_TYPES)}, not {compute_type!r}",
                "compute_type",
            )
        set_threads(threads)
        model, draft = resolve_pair(model, draft)
        weights = load_model(model)
        self.compute_type = compute_type
        # Drafts are built from the float weights: a draft's int8 copy is its own.
        self.main = int8_bundle(weights) if compute_type == "int8" else weights
        self.drafter = make_drafter(draft, weights)
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
        **overrides,
    ) -> list[Transcription | SpecwhisperError]:
        """Transcribe several inputs with the same options: one result per input, in order.
        An input that fails (unreadable, too long) gets its error in its place; the others are
        transcribed all the same. Options are checked once, before any input is read."""
        options = self.options(options, **overrides)
        results: list[Transcription | SpecwhisperError] = []
        for audio in audios:
            try:
                results.append(self.transcribe(audio, options, limits=limits))
            except (AudioDecodeError, AudioTooLongError) as error:
                results.append(error)
        return results

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
                language, probability = detect_language(self.main, first_encoded)
        language = language or "en"
        speculative = options.use_speculative and options.beam_size == 1
        info = TranscriptionInfo(
            language=language,
            language_probability=probability,
            duration=audio_scan.duration,
            model=self.main.name,
            draft=self.draft_name if speculative else None,
            options=options,
            eot=self.main.special.eot,
            stats=stats,
        )
        loop = self._seek_loop(
            windows, audio_scan, decoder, info, first_encoded, should_stop, progress
        )
        return loop, info

    def _seek_loop(
        self,
        windows: WindowFeatures,
        audio_scan: AudioScan,
        decoder: WindowDecoder,
        info: TranscriptionInfo,
        first_encoded: torch.Tensor | None,
        should_stop: StopCheck | None,
        progress: ProgressCallback | None,
    ) -> Iterator[Segment]:
        """openai-whisper's ``transcribe()`` loop over 30 s windows at ``seek``."""
        options, tokenizer = info.options, self.main.tokenizer
        eot, stamp = self.main.special.eot, timestamp_begin(self.main)
        content_frames = audio_scan.frames
        all_tokens: list[int] = []
        if options.initial_prompt:
            text = " " + options.initial_prompt.strip()
            all_tokens += tokenizer.encode(text, add_special_tokens=False)
        prompt_reset_since = 0
        next_id = 0
        seek = 0
        carried: list[int] = []  # for drafts: what the previous window left unfinished
        aligner = None
        if options.word_timestamps:
            aligner = WordAligner(self.main, info.language, options.task, info.stats)
        while seek < content_frames:
            if should_stop is not None and should_stop():
                raise TranscriptionCancelled("transcription stopped: nobody waits for it")
            window_frames = min(N_FRAMES, content_frames - seek)
            audio = WindowAudio(
                windows.features(seek),
                windows.samples(seek, N_FRAMES),
                window_frames * HOP_LENGTH,
            )
            with self._lock, torch.inference_mode():
                encoder_out = first_encoded if seek == 0 and first_encoded is not None else None
                if encoder_out is None:
                    encoder_out = decoder.encode(audio.features)
                result = decoder.decode(
                    audio, encoder_out, all_tokens[prompt_reset_since:], info.language, carried
                )
            carried = []
            if is_silence(result, options):
                seek += window_frames
            else:
                cut = cut_window(result.tokens, stamp, window_frames)
                offset = seek / FRAMES_PER_SECOND
                window_segments: list[Segment] = []
                for piece in cut.pieces:
                    text = tokenizer.decode([t for t in piece.tokens if t < eot])
                    if piece.start == piece.end or not text.strip():
                        continue  # an instant or no text: openai-whisper empties it, we drop it
                    segment = Segment(
                        id=next_id,
                        seek=seek,
                        start=offset + piece.start,
                        end=offset + piece.end,
                        text=text,
                        tokens=piece.tokens,
                        temperature=result.temperature,
                        avg_logprob=result.avg_logprob,
                        compression_ratio=result.compression_ratio,
                        no_speech_prob=result.no_speech_prob,
                    )
                    window_segments.append(segment)
                    next_id += 1
                    all_tokens += piece.tokens
                next_seek, carried = seek + cut.advance, cut.carried
                if aligner is not None:
                    with self._lock:
                        window_segments, next_seek, carried = aligner.finish_window(
                            window_segments, encoder_out, seek, window_frames, cut
                        )
                yield from window_segments
                seek = next_seek
                if not options.condition_on_previous_text or result.temperature > 0.5:
                    # Text sampled that freely is a poor prompt for the next window.
                    prompt_reset_since = len(all_tokens)
            if progress is not None:
                progress(min(seek, content_frames) / FRAMES_PER_SECOND, audio_scan.duration)


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
