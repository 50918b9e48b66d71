"""OpenAI-compatible endpoints, so that the official clients work with ``base_url`` changed.

``prompt`` prompts the first window (openai-whisper's ``initial_prompt``); ``temperature`` 0 is
greedy with the fallback ladder when a window fails the thresholds (as OpenAI documents it),
t > 0 starts the ladder at t; srt, vtt and verbose_json carry the real segments, and
``timestamp_granularities[]=word`` adds OpenAI's top-level ``words`` to verbose_json.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from ..decoding.options import Task
from .auth import require_key
from .catalog import OPENAI_MODEL
from .errors import ApiError, error_responses
from .formats import ResponseFormat, render
from .forms import openai_temperatures
from .jobs import Job, check_job, clean_language, get_state, transcribe_upload
from .schemas import OpenAIModel, OpenAIModelList, OpenAITranscription, OpenAIVerboseTranscription

router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])
# The request's names for the options, for error messages.
_PARAMS = {"initial_prompt": "prompt", "task": "model"}

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
    **error_responses(400, 401, 413, 415, 422, 503),
}

ModelField = Annotated[
    str,
    Form(description=f"{OPENAI_MODEL} (the server's default model), a model name or a preset"),
]
PromptField = Annotated[
    str | None, Form(description="text that prompts the first window (spellings, names, style)")
]
FormatField = Annotated[ResponseFormat, Form()]
TemperatureField = Annotated[
    float,
    Form(
        description="0 (default): greedy, raised step by step for a window that fails the "
        "thresholds; t in (0, 1]: that ladder from t"
    ),
]
DraftField = Annotated[
    str | None, Form(description="specwhisper extension: auto, none, self-int8 or a model name")
]
ComputeField = Annotated[
    str | None, Form(description="specwhisper extension: float32 (default) or int8")
]
AudioField = Annotated[UploadFile, File(description="audio: wav, flac, ogg, mp3, m4a/mp4, webm")]


async def _run(
    request: Request,
    file: UploadFile,
    response_format: str,
    *,
    model: str,
    draft: str | None,
    prompt: str | None,
    temperature: float,
    compute_type: str | None = None,
    language: str | None = None,
    task: Task = "transcribe",
    granularities: list[str] | None = None,
) -> Response:
    state = get_state(request)
    options: dict = {"task": task, "initial_prompt": prompt or None}
    if "word" in (granularities or []) and response_format == "verbose_json":
        # Only verbose_json has room for words (as with OpenAI); other formats skip their cost.
        options["word_timestamps"] = True
    if language := clean_language(language):
        options["language"] = language
    if not 0 <= temperature <= 1:  # NaN included
        raise ApiError(
            422,
            f"temperature must be a number from 0 to 1, not {temperature}",
            "invalid_value",
            "temperature",
        )
    options["temperature"] = openai_temperatures(temperature)
    job = Job(state.catalog.key_for(model, draft, compute_type), options, _PARAMS)
    with state.admission.admit(1) as ticket:
        # There is no `task` field here: an English-only model asked to translate is a bad
        # `model`, so that is the field the error names.
        checked = await check_job(state, job)
        data = await file.read()
        outcome = await transcribe_upload(
            state, job, checked, data, file.filename, request=request, ticket=ticket
        )
    return render(outcome.result, job.overrides["task"], response_format)


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
        Form(
            alias="timestamp_granularities[]",
            description="with response_format=verbose_json: segment (always there) and/or "
            "word (adds the top-level `words` list; costs one extra decoder pass per window)",
        ),
    ] = None,
    draft: DraftField = None,
    compute_type: ComputeField = None,
) -> Response:
    """Transcribe audio of any length in its own language."""
    return await _run(
        request,
        file,
        response_format,
        model=model,
        draft=draft,
        prompt=prompt,
        temperature=temperature,
        compute_type=compute_type,
        language=language,
        granularities=timestamp_granularities,
    )


@router.post("/audio/translations", response_model=None, responses=_AUDIO_RESPONSES)
async def create_translation(
    request: Request,
    file: AudioField,
    model: ModelField = OPENAI_MODEL,
    prompt: PromptField = None,
    response_format: FormatField = "json",
    temperature: TemperatureField = 0.0,
    draft: DraftField = None,
    compute_type: ComputeField = None,
) -> Response:
    """Translate speech of any length into English text; needs a multilingual model."""
    return await _run(
        request,
        file,
        response_format,
        model=model,
        draft=draft,
        prompt=prompt,
        temperature=temperature,
        compute_type=compute_type,
        task="translate",
    )


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
