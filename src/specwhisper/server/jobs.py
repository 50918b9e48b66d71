"""One uploaded file through the server: check the options, check the audio, queue, transcribe.

Every route calls these, so every route answers errors the same way. The order is the cheap
checks first: names (catalog), option values (once, by the engine), the audio (header, then a
decoding pass that refuses what is too long or undecodable), and only then a queue place and a
worker.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields

import anyio
import anyio.to_thread
from fastapi import Request

from ..audio import DecodeLimits
from ..decoding.options import TranscribeOptions
from ..errors import AudioDecodeError, AudioTooLongError, OptionsError, TranscriptionCancelled
from ..features import CHUNK_SECONDS, PreparedAudio
from ..segments import Segment
from ..transcribe import Transcription, TranscriptionInfo
from .batcher import Batcher
from .catalog import Catalog, ModelKey
from .errors import ApiError, api_error
from .pool import Admission, ClientWatch, Ticket, TranscriberPool
from .settings import ServerSettings

# Audio is checked and scanned before a request waits for a model; a few at a time keep a
# burst of large uploads from decoding all at once (a 25 MB mp3 can hold hours of audio).
DECODE_THREADS = 2


@dataclass
class WorkCounters:
    """What the server has done since it started (``GET /health``): how many transcriptions
    ended each way, and the 30 s windows decoded, which is where its time goes."""

    completed: int = 0
    cancelled: int = 0  # stopped between windows: the client went away while it ran
    abandoned: int = 0  # never started: the client went away while it waited
    joined: int = 0  # started in a batch that was already running
    windows_decoded: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_lock"}


class ServerState:
    """Everything the routes share; one per app, made by ``create_app``."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.catalog = Catalog(settings)
        self.pool = TranscriberPool(settings.threads, settings.device)
        self.counters = WorkCounters()
        self.admission = Admission(
            settings.concurrency,
            settings.capacity,
            settings.request_timeout,
            on_abandoned=lambda: self.counters.add(abandoned=1),
        )
        self.decode_limiter = anyio.CapacityLimiter(DECODE_THREADS)
        self.limits = DecodeLimits(settings.max_audio_seconds, settings.max_decode_seconds)
        self.batcher = Batcher(self, settings.batch_size)
        self.started = time.time()


def get_state(request: Request) -> ServerState:
    return request.app.state.specwhisper


@dataclass(frozen=True)
class Job:
    """What to do with each file of a request: which models, which options (as given, checked
    once against the model by ``check_job``), and what the request called each option."""

    key: ModelKey
    overrides: dict = field(default_factory=dict)  # TranscribeOptions fields
    params: dict[str, str] = field(default_factory=dict)  # option -> request field


def clean_language(value: str | None) -> str | None:
    """Form input to a language code: "" and blanks mean "detect"; codes are lower case."""
    value = (value or "").strip().lower()
    return value or None


@dataclass(frozen=True)
class Outcome:
    result: Transcription
    task: str
    timing: dict[str, float] = field(default_factory=dict)


async def check_job(state: ServerState, job: Job) -> TranscribeOptions:
    """Load the job's models (once per server) and check its options against them, in one
    place (the engine's). Raises ApiError 422 naming the offending field, or 400 if the models
    cannot load."""
    await anyio.to_thread.run_sync(state.pool.prepare, job.key)
    transcriber = state.pool.reference(job.key)
    try:
        return transcriber.options(**job.overrides)
    except OptionsError as error:
        raise api_error(error, job.params.get(error.field or "", error.field)) from None


async def prepare_upload(
    state: ServerState, job: Job, data: bytes, filename: str | None, param: str = "file"
) -> PreparedAudio:
    """Check and scan an upload in a decoding thread: 400 empty or too long, 415 not audio."""
    if not data:
        raise ApiError(
            400, f"{filename or 'the file'}: the uploaded file is empty", "empty_file", param
        )
    transcriber = state.pool.reference(job.key)

    def prepare() -> PreparedAudio:
        return transcriber.prepare(data, state.limits, name=filename or "the file")

    try:
        return await anyio.to_thread.run_sync(prepare, limiter=state.decode_limiter)
    except AudioTooLongError as error:
        raise ApiError(400, str(error), "audio_too_long", param) from None
    except AudioDecodeError as error:
        raise ApiError(415, str(error), "unsupported_audio", param) from None


# Called in the worker thread with the transcription's info, its lazy segments and the
# perf_counter() time its work began.
Consumer = Callable[[TranscriptionInfo, Iterator[Segment], float], object]


def windows_of(seconds: float) -> float:
    """Work of ``seconds`` of audio in 30 s windows (at least one)."""
    return max(1.0, math.ceil(seconds / CHUNK_SECONDS))


def run_segments(
    state: ServerState,
    job: Job,
    options: TranscribeOptions,
    audio: PreparedAudio,
    watch: ClientWatch,
    ticket: Ticket,
) -> Callable[[Consumer], object]:
    """A worker-thread function factory: borrows a Transcriber for ``job``, starts the
    transcription (stopping between windows once ``watch.gone``), keeps ``ticket``'s remaining
    work up to date for Retry-After, and hands (info, segments) to ``consume``."""
    total = windows_of(audio.duration)
    ticket.windows = total

    def progress(done: float, duration: float) -> None:
        ticket.windows = max(0.0, total - done / CHUNK_SECONDS)

    def work(consume: Consumer) -> object:
        began = time.perf_counter()
        info: TranscriptionInfo | None = None
        try:
            with state.pool.borrow(job.key) as transcriber:
                segments, info = transcriber.transcribe_segments(
                    audio, options, should_stop=watch.gone.is_set, progress=progress
                )
                outcome = consume(info, segments, began)
        except TranscriptionCancelled:
            state.counters.add(cancelled=1)
            raise
        finally:
            state.counters.add(windows_decoded=info.stats.windows if info else 0)
        state.counters.add(completed=1)
        state.admission.record(total, time.perf_counter() - began)
        return outcome

    return work


async def transcribe_upload(
    state: ServerState,
    job: Job,
    options: TranscribeOptions,
    data: bytes,
    filename: str | None,
    param: str = "file",
    request: Request | None = None,
    ticket: Ticket | None = None,
) -> Outcome:
    """Transcribe one uploaded file; ``param`` is its form field, named in errors. With
    ``request``, the work is dropped if its client goes away while it waits or between its
    windows."""
    started = time.perf_counter()
    audio = await prepare_upload(state, job, data, filename, param)
    decoded = time.perf_counter()
    watch = ClientWatch(request)
    ticket = ticket or Ticket(1)
    ticket.windows = windows_of(audio.duration)
    try:
        result, queued = await state.batcher.transcribe(job.key, options, audio, watch, ticket)
    except Exception as error:
        raise api_error(error, param) from error
    timing = {
        "audio_s": decoded - started,
        "queue_s": queued,
        "transcribe_s": result.seconds,
        "total_s": time.perf_counter() - started,
    }
    return Outcome(result, options.task, {name: round(value, 4) for name, value in timing.items()})


async def preload(state: ServerState, warmup: bool) -> None:
    """Load the default model and ``preload`` entries; optionally run one second of silence
    through the default model, so that the first request does not pay one-time costs."""
    settings = state.settings
    default = state.catalog.key_for(settings.default_model)
    keys = [default]
    keys += [state.catalog.key_for(*entry) for entry in settings.preload_pairs()]
    for key in keys:
        await anyio.to_thread.run_sync(state.pool.prepare, key)
    if warmup:
        import numpy as np

        def warm() -> None:
            with state.pool.borrow(default) as transcriber:
                silence = np.zeros(16000, dtype=np.float32)
                transcriber.transcribe(silence, max_new_tokens=4, temperature=0.0)

        await anyio.to_thread.run_sync(warm)
