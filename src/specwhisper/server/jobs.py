"""One uploaded file through the server: check the options, decode, queue, transcribe.

Both the native and the OpenAI routes call these, so both answer errors the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
from fastapi import Request

from ..audio import SAMPLE_RATE, AudioDecodeError, load_audio
from ..decoding.options import DecodeOptions, OptionsError, Task
from ..features import CHUNK_SECONDS
from ..transcribe import Transcription
from .catalog import Catalog, ModelKey
from .errors import ApiError, api_error
from .pool import Admission, TranscriberPool
from .settings import ServerSettings

# Audio decoding runs before a request waits for a model; a few at a time keep a burst of
# large uploads from decoding all at once (a 25 MB mp3 can hold an hour of audio).
DECODE_THREADS = 2


class ServerState:
    """Everything the routes share; one per app, made by ``create_app``."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.catalog = Catalog(settings)
        self.pool = TranscriberPool(settings.threads)
        self.admission = Admission(
            settings.concurrency, settings.capacity, settings.request_timeout
        )
        self.decode_limiter = anyio.CapacityLimiter(DECODE_THREADS)
        self.started = time.time()


def get_state(request: Request) -> ServerState:
    return request.app.state.specwhisper


@dataclass(frozen=True)
class Job:
    """What to do with each file of a request (the fields of ``DecodeOptions`` plus which
    model and whether to speculate)."""

    key: ModelKey
    language: str | None = None
    task: Task = "transcribe"
    beam_size: int = 1
    use_speculative: bool = True
    draft_length: int | None = None
    max_new_tokens: int | None = None


def clean_language(value: str | None) -> str | None:
    """Form input to a language code: "" and blanks mean "detect"; codes are lower case."""
    value = (value or "").strip().lower()
    return value or None


@dataclass(frozen=True)
class Outcome:
    result: Transcription
    task: str
    timing: dict[str, float] = field(default_factory=dict)


async def check_job(state: ServerState, job: Job, task_param: str = "task") -> None:
    """Load the job's models (once per server) and check its options against them.
    Raises ApiError 422 naming the offending field, or 400 if the models cannot load."""
    languages = await anyio.to_thread.run_sync(state.pool.prepare, job.key)
    # One field at a time, so that the error can say which field is wrong.
    checks: list[tuple[str, DecodeOptions]] = [
        ("language", DecodeOptions(language=job.language)),
        (task_param, DecodeOptions(task=job.task)),
        ("beam_size", DecodeOptions(beam_size=job.beam_size)),
        ("draft_length", DecodeOptions(draft_length=job.draft_length)),
        ("max_new_tokens", DecodeOptions(max_new_tokens=job.max_new_tokens)),
    ]
    for param, options in checks:
        try:
            options.validated(languages)
        except OptionsError as error:
            raise api_error(error, param) from None


async def transcribe_upload(
    state: ServerState,
    job: Job,
    data: bytes,
    filename: str | None,
    param: str = "file",
    request: Request | None = None,
) -> Outcome:
    """Transcribe one uploaded file; ``param`` is its form field, named in errors. With
    ``request``, the work is skipped if its client has gone by the time a worker is free."""
    started = time.perf_counter()
    if not data:
        raise ApiError(
            400, f"{filename or 'the file'}: the uploaded file is empty", "empty_file", param
        )
    try:
        waveform = await anyio.to_thread.run_sync(load_audio, data, limiter=state.decode_limiter)
    except AudioDecodeError as error:
        message = str(error)
        if filename and message.startswith("<bytes>"):  # the engine's name for raw bytes
            message = filename + message.removeprefix("<bytes>")
        raise ApiError(415, message, "unsupported_audio", param) from None
    duration = len(waveform) / SAMPLE_RATE
    if duration > CHUNK_SECONDS + 0.01:  # the engine's own limit, checked before queueing
        raise ApiError(
            400,
            f"{filename or 'the file'}: audio is {duration:.1f} s long; up to {CHUNK_SECONDS} s "
            "is supported for now (long-form transcription is not implemented yet): split it "
            "first",
            "audio_too_long",
            param,
        )
    decoded = time.perf_counter()

    def work() -> Transcription:
        with state.pool.borrow(job.key) as transcriber:
            return transcriber.transcribe(
                waveform,
                job.language,
                job.task,
                job.beam_size,
                max_new_tokens=job.max_new_tokens,
                draft_length=job.draft_length,
                use_speculative=job.use_speculative,
            )

    try:
        client_gone = request.is_disconnected if request is not None else None
        result, queued = await state.admission.run(work, client_gone)
    except Exception as error:
        raise api_error(error, param) from error
    timing = {
        "audio_s": decoded - started,
        "queue_s": queued,
        "transcribe_s": result.seconds,
        "total_s": time.perf_counter() - started,
    }
    return Outcome(result, job.task, {name: round(value, 4) for name, value in timing.items()})


async def preload(state: ServerState, warmup: bool) -> None:
    """Load the default model and ``preload`` entries; optionally run one second of silence
    through the default model, so that the first request does not pay one-time costs."""
    settings = state.settings
    default = state.catalog.key_for(settings.default_model)
    keys = [default]
    keys += [state.catalog.key_for(model, draft) for model, draft in settings.preload_pairs()]
    for key in keys:
        await anyio.to_thread.run_sync(state.pool.prepare, key)
    if warmup:
        import numpy as np

        def warm() -> None:
            with state.pool.borrow(default) as transcriber:
                silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
                transcriber.transcribe(silence, language=None, max_new_tokens=4)

        await anyio.to_thread.run_sync(warm)
