"""Response bodies, as pydantic models so that /openapi.json documents them exactly."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error (fix the request) or server_error")
    param: str | None = Field(None, description="the form field at fault, when there is one")
    code: str | None = Field(None, description="e.g. unsupported_audio, unknown_model, queue_full")


class ErrorResponse(BaseModel):
    error: ErrorBody


class Timing(BaseModel):
    audio_s: float = Field(description="decoding the uploaded file to 16 kHz samples")
    queue_s: float = Field(description="waiting for a free worker")
    transcribe_s: float = Field(description="the engine's time: features, encoder, decoding")
    total_s: float


class SpeculativeStats(BaseModel):
    """The engine's ``SpecStats.as_dict()``; a test keeps the two in agreement."""

    model_config = ConfigDict(extra="allow")

    tokens_generated: int
    main_forward_calls: int
    tokens_drafted: int
    tokens_accepted: int
    acceptance_rate: float
    tokens_per_verify: float
    main_encoder_s: float
    draft_encoder_s: float
    drafting_s: float
    verifying_s: float
    word_timing_s: float
    windows: int
    fallbacks: int
    near_ties: int
    draft_lengths: list[int]
    accepted_per_verify: list[int]
    remap: dict[str, int]


class WordBody(BaseModel):
    word: str = Field(description="the word's text, with its leading space and punctuation")
    start: float = Field(description="seconds from the start of the audio")
    end: float
    probability: float = Field(description="mean probability of its tokens")


class SegmentBody(BaseModel):
    """The engine's ``Segment.as_dict()``: times in seconds from the start of the audio."""

    id: int
    seek: int = Field(description="log-mel frame (10 ms) where the segment's window started")
    start: float
    end: float
    text: str
    tokens: list[int] = Field(description="main-model tokens, timestamps included")
    temperature: float = Field(description="of the window's decode; 0 is greedy")
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    words: list[WordBody] | None = Field(
        None, description="only with word_timestamps=true: the segment's words, in order"
    )


class TranscribeResponse(BaseModel):
    text: str
    language: str = Field(description="language code, given or detected")
    task: Literal["transcribe", "translate"]
    model: str
    draft: str | None = Field(description="drafter used; null for plain decoding and beam search")
    duration: float = Field(description="audio seconds")
    tokens: list[int] = Field(description="main-model token ids of the text")
    segments: list[SegmentBody]
    timing: Timing
    stats: SpeculativeStats


class BatchItem(BaseModel):
    index: int = Field(description="position of the file in the request")
    filename: str | None
    status: int = Field(description="the HTTP status this file alone would have had")
    result: TranscribeResponse | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    results: list[BatchItem]
    succeeded: int
    failed: int


class QueueState(BaseModel):
    running: int
    waiting: int
    capacity: int
    concurrency: int


class WorkState(BaseModel):
    completed: int = Field(description="transcriptions finished")
    cancelled: int = Field(description="stopped between windows: the client had gone")
    abandoned: int = Field(description="dropped before starting: the client had gone")
    joined: int = Field(description="started in a batch already running (continuous batching)")
    windows_decoded: int = Field(description="30 s windows decoded, all requests together")


class HealthResponse(BaseModel):
    status: Literal["ok"]
    version: str
    uptime_s: float
    default_model: str
    loaded: list[str] = Field(description="model:draft pairs ready to serve")
    queue: QueueState
    work: WorkState


class ModelInfo(BaseModel):
    name: str
    source: str = Field(description="bundled, folder, cache (Hugging Face), hub, preset or alias")
    offline: bool = Field(description="usable without a network")
    description: str


class ModelsResponse(BaseModel):
    default: dict[str, str]
    models: list[ModelInfo]
    drafts: list[str]
    loaded: list[str]


class RootResponse(BaseModel):
    name: str
    version: str
    docs: str
    redoc: str
    openapi: str
    endpoints: dict[str, str]


# --- OpenAI-compatible bodies (field names and types as in OpenAI's API) ---


class Usage(BaseModel):
    type: Literal["duration"] = "duration"
    seconds: float


class OpenAITranscription(BaseModel):
    text: str
    usage: Usage | None = None


class OpenAISegment(BaseModel):
    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float


class OpenAIWord(BaseModel):
    word: str
    start: float
    end: float


class OpenAIVerboseTranscription(BaseModel):
    task: Literal["transcribe", "translate"]
    language: str = Field(description="language name in lower case, as OpenAI returns it")
    duration: float
    text: str
    segments: list[OpenAISegment]
    words: list[OpenAIWord] | None = Field(
        None, description="with timestamp_granularities[]=word: every word, in order"
    )
    usage: Usage | None = None


class OpenAIModel(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class OpenAIModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIModel]
