"""specwhisper's own endpoints: the web page at /, /api, /health, /models, /transcribe,
/transcribe/batch and /transcribe/stream (segments as newline-delimited JSON, sent as they are
decoded)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse

from .. import __version__
from ..segments import Segment
from ..transcribe import Transcription, TranscriptionInfo
from .auth import require_key
from .catalog import DRAFT_KEYWORDS
from .errors import ApiError, api_error, error_responses
from .forms import option_fields
from .jobs import (
    Job,
    Outcome,
    check_job,
    get_state,
    prepare_upload,
    run_segments,
    transcribe_upload,
)
from .pool import ClientWatch
from .schemas import (
    BatchItem,
    BatchResponse,
    HealthResponse,
    ModelInfo,
    ModelsResponse,
    QueueState,
    RootResponse,
    TranscribeResponse,
    WorkState,
)

router = APIRouter()
# Routes that transcribe or describe models need a key when the server has keys.
protected = APIRouter(dependencies=[Depends(require_key)])

TRANSCRIBE_ERRORS = error_responses(400, 401, 413, 415, 422, 503)
NDJSON = "application/x-ndjson"
# The web page: plain HTML, CSS and JavaScript, no build step (app.py mounts it at /static).
STATIC_DIR = Path(__file__).parent / "static"

ModelField = Annotated[
    str | None,
    Form(
        description="model name (tiny.en, base, ...) or preset (default, v2, v3); "
        "empty: the server's default"
    ),
]
DraftField = Annotated[
    str | None,
    Form(
        description="auto, none, self-int8 or a draft model name; empty: the preset's "
        "draft, else the server's default"
    ),
]


ComputeField = Annotated[
    str | None,
    Form(description="float32 (default) or int8: the main model in 8-bit integers"),
]


def native_job(
    request: Request,
    model: ModelField = None,
    draft: DraftField = None,
    compute_type: ComputeField = None,
    options: dict = Depends(option_fields),  # noqa: B008 (FastAPI's dependency idiom)
) -> Job:
    """The form fields shared by the native transcription routes. A test keeps them in
    agreement with the CLI's flags and the engine's ``TranscribeOptions``."""
    return Job(get_state(request).catalog.key_for(model, draft, compute_type), options)


def native_body(outcome: Outcome) -> TranscribeResponse:
    result = outcome.result
    return TranscribeResponse(
        text=result.text,
        language=result.language,
        task=outcome.task,  # type: ignore[arg-type]
        model=result.model,
        draft=result.draft,
        duration=round(result.duration, 3),
        tokens=result.tokens,
        segments=[segment.as_dict() for segment in result.segments],  # type: ignore[misc]
        timing=outcome.timing,  # type: ignore[arg-type]
        stats=result.stats.as_dict(),  # type: ignore[arg-type]
    )


@router.get("/", include_in_schema=False)
async def root() -> FileResponse:
    """The web page (open, like /docs: the page asks for a key when the API needs one)."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


@router.get("/api", response_model=RootResponse, summary="API documentation links")
async def api_links() -> RootResponse:
    return RootResponse(
        name="specwhisper",
        version=__version__,
        docs="/docs",
        redoc="/redoc",
        openapi="/openapi.json",
        endpoints={
            "GET /": "the web page",
            "GET /health": "liveness, loaded models and queue",
            "GET /models": "model names, presets and drafts",
            "POST /transcribe": "one file (multipart field `file`)",
            "POST /transcribe/stream": "one file; segments as NDJSON lines while decoding",
            "POST /transcribe/batch": "several files (multipart field `files`), one result each",
            "POST /v1/audio/transcriptions": "OpenAI-compatible transcription",
            "POST /v1/audio/translations": "OpenAI-compatible translation to English",
            "GET /v1/models": "OpenAI-compatible model list",
        },
    )


@router.get("/health", response_model=HealthResponse)
async def health(request: Request) -> HealthResponse:
    state = get_state(request)
    admission = state.admission
    return HealthResponse(
        status="ok",
        version=__version__,
        uptime_s=round(time.time() - state.started, 1),
        default_model=state.settings.default_model,
        loaded=[key.label() for key in state.pool.loaded()],
        queue=QueueState(
            running=admission.running,
            waiting=admission.waiting,
            capacity=admission.capacity,
            concurrency=admission.concurrency,
        ),
        work=WorkState(**state.counters.as_dict()),
    )


@protected.get("/models", response_model=ModelsResponse, responses=error_responses(401))
async def models(request: Request) -> ModelsResponse:
    state = get_state(request)
    default = state.catalog.key_for(None)
    entries = await run_in_threadpool(state.catalog.describe)
    return ModelsResponse(
        default={"model": default.model, "draft": default.draft},
        models=[ModelInfo(**entry) for entry in entries],
        drafts=[*DRAFT_KEYWORDS, "<any model name>"],
        loaded=[key.label() for key in state.pool.loaded()],
    )


AudioFile = Annotated[
    UploadFile, File(description="audio: wav, flac, ogg, mp3, m4a/mp4, webm; any length")
]


# exclude_unset: a segment has `words` only when word timestamps were asked for, as in the
# engine's JSON; every other field is always set.
@protected.post(
    "/transcribe",
    response_model=TranscribeResponse,
    response_model_exclude_unset=True,
    responses=TRANSCRIBE_ERRORS,
)
async def transcribe(
    request: Request,
    file: AudioFile,
    job: Annotated[Job, Depends(native_job)],
) -> TranscribeResponse:
    """Transcribe one file of any length: text, segments with timestamps, and what
    speculative decoding did."""
    state = get_state(request)
    with state.admission.admit(1) as ticket:
        options = await check_job(state, job)
        data = await file.read()
        outcome = await transcribe_upload(
            state, job, options, data, file.filename, request=request, ticket=ticket
        )
    return native_body(outcome)


@protected.post(
    "/transcribe/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "newline-delimited JSON: one `info` line, one `segment` line per "
            "segment as it is decoded, then `done` (or `error`)",
            "content": {NDJSON: {"schema": {"type": "string"}}},
        },
        **TRANSCRIBE_ERRORS,
    },
)
async def transcribe_stream(
    request: Request,
    file: AudioFile,
    job: Annotated[Job, Depends(native_job)],
) -> StreamingResponse:
    """Transcribe one file and send each segment the moment it is decoded, as a JSON line:
    `{"type": "info", ...}` (language, duration), then `{"type": "segment", ...}` per segment,
    then `{"type": "done", ...}` with the text, stats and timing. Errors found before decoding
    starts are ordinary HTTP errors; a later one is an `{"type": "error", "error": {...}}` line.
    A client that disconnects stops the transcription at the next window."""
    state = get_state(request)
    admitted = state.admission.admit(1)
    ticket = admitted.__enter__()
    try:
        options = await check_job(state, job)
        audio = await prepare_upload(state, job, await file.read(), file.filename)
        lines = _stream_lines(state, job, options, audio, request, ticket)
        first = await anext(lines)  # waits for a worker: queue errors are still HTTP errors
    except BaseException:
        admitted.__exit__(None, None, None)
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            yield first
            async for line in lines:
                yield line
        finally:
            await lines.aclose()
            admitted.__exit__(None, None, None)

    return StreamingResponse(body(), media_type=NDJSON)


async def _stream_lines(state, job, options, audio, request, ticket) -> AsyncIterator[bytes]:
    """The lines of a streamed transcription, produced by a worker thread. The first line
    comes once a worker is free; the generator always waits for that thread to end."""
    watch = ClientWatch(request)
    work = run_segments(state, job, options, audio, watch, ticket)
    send, receive = anyio.create_memory_object_stream[dict](max_buffer_size=64)

    def produce(info: TranscriptionInfo, segments: Iterator[Segment], began: float) -> None:
        anyio.from_thread.run(send.send, _info_line(info))
        collected = []
        for segment in segments:
            collected.append(segment)
            anyio.from_thread.run(send.send, {"type": "segment", **segment.as_dict()})
        result = Transcription.collect(info, iter(collected), began)
        anyio.from_thread.run(send.send, _done_line(result))

    async def run() -> None:
        try:
            await anyio.to_thread.run_sync(lambda: work(produce), limiter=state.admission.threads)
        except Exception as error:  # reported in the stream: the headers are sent by now
            if not watch.gone.is_set():
                await send.send({"type": "error", "error": api_error(error).body()})
        finally:
            send.close()

    async with state.admission.slot(watch) as waited:
        yield _line({"type": "queued", "queue_s": round(waited, 4)})
        # Plain tasks, not a task group: this generator is resumed from another task than
        # the one that started it, and a task group may not span yields across tasks.
        worker = asyncio.ensure_future(run())
        watcher = asyncio.ensure_future(watch.wait_gone())
        try:
            with receive:
                async for item in receive:
                    yield _line(item)
        finally:
            watch.gone.set()  # the client stopped reading: stop at the next window
            watcher.cancel()
            with anyio.CancelScope(shield=True):
                await worker  # the worker slot is free only once the thread has ended


def _line(item: dict) -> bytes:
    return (json.dumps(item, ensure_ascii=False) + "\n").encode()


def _info_line(info: TranscriptionInfo) -> dict:
    return {
        "type": "info",
        "language": info.language,
        "language_probability": round(info.language_probability, 4),
        "duration": round(info.duration, 3),
        "model": info.model,
        "draft": info.draft,
    }


def _done_line(result: Transcription) -> dict:
    record = result.as_dict()
    del record["segments"]  # already sent one by one
    return {"type": "done", **record}


@protected.post(
    "/transcribe/batch",
    response_model=BatchResponse,
    response_model_exclude_unset=True,  # as /transcribe; BatchItem sets all of its fields
    responses=TRANSCRIBE_ERRORS,
)
async def transcribe_batch(
    request: Request,
    files: Annotated[list[UploadFile], File(description="audio files")],
    job: Annotated[Job, Depends(native_job)],
) -> BatchResponse:
    """Transcribe several files with the same options: one result per file, in order. A file
    that fails gets its own error; the others are transcribed all the same."""
    state = get_state(request)
    settings = state.settings
    limit = min(settings.max_batch_files, settings.capacity)
    if len(files) > limit:
        raise ApiError(
            422,
            f"files: at most {limit} files per batch, got {len(files)}",
            "invalid_value",
            "files",
        )

    async def one(index: int, upload: UploadFile, options) -> BatchItem:
        try:
            if upload.size is not None and upload.size > settings.max_upload_bytes:
                raise ApiError(
                    413,
                    f"{upload.filename}: {upload.size} bytes; the limit is "
                    f"{settings.max_upload_bytes} bytes per file",
                    "file_too_large",
                    "files",
                )
            data = await upload.read()
            outcome = await transcribe_upload(
                state, job, options, data, upload.filename, "files", request=request
            )
        except Exception as error:  # one bad file fails alone
            failure = api_error(error, "files")
            return BatchItem(
                index=index,
                filename=upload.filename,
                status=failure.status,
                result=None,
                error=failure.body(),  # type: ignore[arg-type]
            )
        return BatchItem(
            index=index,
            filename=upload.filename,
            status=200,
            result=native_body(outcome),
            error=None,
        )

    with state.admission.admit(len(files)):
        options = await check_job(state, job)  # the same for every file: checked once
        items = await asyncio.gather(*(one(i, f, options) for i, f in enumerate(files)))
    failed = sum(item.status != 200 for item in items)
    return BatchResponse(results=list(items), succeeded=len(items) - failed, failed=failed)
