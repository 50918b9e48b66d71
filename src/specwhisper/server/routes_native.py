"""specwhisper's own endpoints: /, /health, /models, /transcribe, /transcribe/batch."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from .. import __version__
from ..decoding.options import MAX_BEAM_SIZE, MAX_DRAFT_LENGTH
from .catalog import DRAFT_KEYWORDS
from .errors import ApiError, api_error, error_responses
from .jobs import (
    Job,
    Outcome,
    ServerState,
    check_job,
    clean_language,
    get_state,
    transcribe_upload,
)
from .schemas import (
    BatchItem,
    BatchResponse,
    HealthResponse,
    ModelInfo,
    ModelsResponse,
    QueueState,
    RootResponse,
    TranscribeResponse,
)

router = APIRouter()

TRANSCRIBE_ERRORS = error_responses(400, 413, 415, 422, 503)


@dataclass(frozen=True)
class NativeFields:
    """The form fields shared by /transcribe and /transcribe/batch. A test keeps them in
    agreement with the CLI's ``transcribe`` flags and the engine's ``DecodeOptions``."""

    model: str | None
    draft: str | None
    language: str | None
    task: Literal["transcribe", "translate"]
    use_speculative: bool
    beam_size: int
    draft_length: int | None
    max_new_tokens: int | None

    def job(self, state: ServerState) -> Job:
        return Job(
            key=state.catalog.key_for(self.model, self.draft),
            language=clean_language(self.language),
            task=self.task,
            beam_size=self.beam_size,
            use_speculative=self.use_speculative,
            draft_length=self.draft_length,
            max_new_tokens=self.max_new_tokens,
        )


def native_fields(
    model: Annotated[
        str | None,
        Form(
            description="model name (tiny.en, base, ...) or preset (default, v2, v3); "
            "empty: the server's default"
        ),
    ] = None,
    draft: Annotated[
        str | None,
        Form(
            description="auto, none, self-int8 or a draft model name; empty: the preset's "
            "draft, else the server's default"
        ),
    ] = None,
    language: Annotated[
        str | None, Form(description="language code such as en or de; empty: detect")
    ] = None,
    task: Annotated[Literal["transcribe", "translate"], Form()] = "transcribe",
    use_speculative: Annotated[
        bool, Form(description="false decodes plainly (same text, no draft)")
    ] = True,
    beam_size: Annotated[
        int, Form(ge=1, le=MAX_BEAM_SIZE, description="1 = greedy (speculative); 2-5 = beam")
    ] = 1,
    draft_length: Annotated[
        int | None,
        Form(ge=1, le=MAX_DRAFT_LENGTH, description="fixed draft tokens; empty: adaptive"),
    ] = None,
    max_new_tokens: Annotated[
        int | None, Form(ge=1, description="cap on generated tokens; empty: no cap")
    ] = None,
) -> NativeFields:
    return NativeFields(
        model, draft, language, task, use_speculative, beam_size, draft_length, max_new_tokens
    )


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
        timing=outcome.timing,  # type: ignore[arg-type]
        stats=result.stats.as_dict(),  # type: ignore[arg-type]
    )


@router.get("/", response_model=RootResponse, summary="API documentation links")
async def root() -> RootResponse:
    return RootResponse(
        name="specwhisper",
        version=__version__,
        docs="/docs",
        redoc="/redoc",
        openapi="/openapi.json",
        endpoints={
            "GET /health": "liveness, loaded models and queue",
            "GET /models": "model names, presets and drafts",
            "POST /transcribe": "one file (multipart field `file`)",
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
    )


@router.get("/models", response_model=ModelsResponse)
async def models(request: Request) -> ModelsResponse:
    state = get_state(request)
    default = state.catalog.key_for(None)
    entries = await run_in_threadpool(state.catalog.describe)  # touches the file system
    return ModelsResponse(
        default={"model": default.model, "draft": default.draft},
        models=[ModelInfo(**entry) for entry in entries],
        drafts=[*DRAFT_KEYWORDS, "<model name>"],
        loaded=[key.label() for key in state.pool.loaded()],
    )


@router.post("/transcribe", response_model=TranscribeResponse, responses=TRANSCRIBE_ERRORS)
async def transcribe(
    request: Request,
    file: Annotated[UploadFile, File(description="audio: wav, flac, ogg, mp3, m4a/mp4, webm")],
    fields: Annotated[NativeFields, Depends(native_fields)],
) -> TranscribeResponse:
    """Transcribe one file of up to 30 s with speculative decoding."""
    state = get_state(request)
    job = fields.job(state)
    with state.admission.admit(1):
        await check_job(state, job)
        data = await file.read()
        outcome = await transcribe_upload(state, job, data, file.filename, request=request)
    return native_body(outcome)


@router.post("/transcribe/batch", response_model=BatchResponse, responses=TRANSCRIBE_ERRORS)
async def transcribe_batch(
    request: Request,
    files: Annotated[list[UploadFile], File(description="audio files, each up to 30 s")],
    fields: Annotated[NativeFields, Depends(native_fields)],
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
    job = fields.job(state)

    async def one(index: int, upload: UploadFile) -> BatchItem:
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
                state, job, data, upload.filename, "files", request=request
            )
        except Exception as error:  # one bad file fails alone
            failure = api_error(error, "files")
            return BatchItem(
                index=index,
                filename=upload.filename,
                status=failure.status,
                error=failure.body(),  # type: ignore[arg-type]
            )
        return BatchItem(
            index=index, filename=upload.filename, status=200, result=native_body(outcome)
        )

    with state.admission.admit(len(files)):
        await check_job(state, job)  # options are the same for every file: check them once
        items = await asyncio.gather(*(one(i, upload) for i, upload in enumerate(files)))
    failed = sum(item.status != 200 for item in items)
    return BatchResponse(results=list(items), succeeded=len(items) - failed, failed=failed)
