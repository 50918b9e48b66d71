"""OpenAI-compatible endpoints, so that the official clients work with ``base_url`` changed.

Accepted for compatibility, with documented limits: ``prompt`` is not used for conditioning yet;
``temperature`` may be 0..1 but decoding is always greedy (temperature 0, what makes speculative
decoding lossless); there are no timestamps yet, so srt/vtt/verbose_json hold one segment over
the whole audio and ``timestamp_granularities[]=word`` adds no words.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from ..decoding.options import Task
from .catalog import OPENAI_MODEL
from .errors import ApiError, error_responses
from .formats import ResponseFormat, render
from .jobs import Job, check_job, clean_language, get_state, transcribe_upload
from .schemas import OpenAIModel, OpenAIModelList, OpenAITranscription, OpenAIVerboseTranscription

router = APIRouter(prefix="/v1")

OWNER = "specwhisper"

_AUDIO_RESPONSES: dict[int | str, dict] = {
    200: {
        "model": OpenAITranscription | OpenAIVerboseTranscription,
        "description": "json / verbose_json as JSON; text and srt as text/plain; vtt as text/vtt",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "text/vtt": {"schema": {"type": "string"}},
        },
    },
    **error_responses(400, 413, 415, 422, 503),
}

ModelField = Annotated[
    str,
    Form(description=f"{OPENAI_MODEL} (the server's default model), a model name or a preset"),
]
PromptField = Annotated[str | None, Form(description="accepted, but not used for conditioning yet")]
FormatField = Annotated[ResponseFormat, Form()]
TemperatureField = Annotated[
    float, Form(ge=0, le=1, description="accepted; decoding is always greedy (temperature 0)")
]
DraftField = Annotated[
    str | None, Form(description="specwhisper extension: auto, none, self-int8 or a model name")
]
AudioField = Annotated[UploadFile, File(description="audio: wav, flac, ogg, mp3, m4a/mp4, webm")]


async def _run(
    request: Request,
    file: UploadFile,
    response_format: str,
    *,
    model: str,
    draft: str | None,
    language: str | None = None,
    task: Task = "transcribe",
) -> Response:
    state = get_state(request)
    job = Job(state.catalog.key_for(model, draft), clean_language(language), task)
    with state.admission.admit(1):
        # There is no `task` field here: an English-only model asked to translate is a bad
        # `model`, so that is the field the error names.
        await check_job(state, job, task_param="model")
        data = await file.read()
        outcome = await transcribe_upload(state, job, data, file.filename, request=request)
    return render(outcome.result, job.task, response_format)


@router.post("/audio/transcriptions", response_model=None, responses=_AUDIO_RESPONSES)
async def create_transcription(
    request: Request,
    file: AudioField,
    model: ModelField = OPENAI_MODEL,
    language: Annotated[
        str | None, Form(description="ISO-639-1 code such as en; empty: detect")
    ] = None,
    prompt: PromptField = None,
    response_format: FormatField = "json",
    temperature: TemperatureField = 0.0,
    timestamp_granularities: Annotated[
        list[Literal["word", "segment"]] | None,
        Form(alias="timestamp_granularities[]", description="accepted; no word timestamps yet"),
    ] = None,
    draft: DraftField = None,
) -> Response:
    """Transcribe audio (up to 30 s) in its own language."""
    return await _run(request, file, response_format, model=model, draft=draft, language=language)


@router.post("/audio/translations", response_model=None, responses=_AUDIO_RESPONSES)
async def create_translation(
    request: Request,
    file: AudioField,
    model: ModelField = OPENAI_MODEL,
    prompt: PromptField = None,
    response_format: FormatField = "json",
    temperature: TemperatureField = 0.0,
    draft: DraftField = None,
) -> Response:
    """Translate speech (up to 30 s) into English text; needs a multilingual model."""
    return await _run(request, file, response_format, model=model, draft=draft, task="translate")


@router.get("/models", response_model=OpenAIModelList)
async def list_models(request: Request) -> OpenAIModelList:
    state = get_state(request)
    entries = await run_in_threadpool(state.catalog.describe)
    created = int(state.started)
    return OpenAIModelList(
        data=[OpenAIModel(id=entry["name"], created=created, owned_by=OWNER) for entry in entries]
    )


@router.get("/models/{model_id:path}", response_model=OpenAIModel, responses=error_responses(404))
async def retrieve_model(request: Request, model_id: str) -> OpenAIModel:
    state = get_state(request)
    if model_id not in state.catalog.names():
        raise ApiError(
            404,
            f"the model {model_id!r} does not exist; use one of {', '.join(state.catalog.names())}",
            "model_not_found",
            "model",
        )
    return OpenAIModel(id=model_id, created=int(state.started), owned_by=OWNER)
