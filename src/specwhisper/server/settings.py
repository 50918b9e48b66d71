"""Server settings, read once from ``SPECWHISPER_*`` environment variables (CLI flags win)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MiB = 1024 * 1024


class ServerSettings(BaseSettings):
    """Every field is also the environment variable ``SPECWHISPER_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="SPECWHISPER_", extra="ignore")

    # What a request gets when it names no model, and what OpenAI's "whisper-1" means here.
    default_model: str = "base"
    default_draft: str = "auto"
    # float32, or int8: the main model's linear layers in 8-bit integers (faster, its own
    # output; requests may ask for either with the compute_type field).
    default_compute_type: Literal["float32", "int8"] = "float32"
    # Extra models loaded at startup, as "model", "model:draft" or "model:draft:int8",
    # comma-separated (e.g. "tiny.en:none,base:self-int8"). The default model loads first.
    preload: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # OpenAI's own limit is 25 MB. A compressed file can hold far more audio than its size
    # suggests (8 h of silence in a 1.5 MB FLAC): ``max_audio_seconds`` bounds that.
    max_upload_bytes: int = Field(default=25 * MiB, ge=1)
    # Longer audio is refused with 400: from the header before decoding when it declares its
    # length, else the moment decoding passes it. Memory does not grow with the length (audio
    # is decoded window by window); the time a transcription holds a worker does.
    max_audio_seconds: float = Field(default=3 * 3600.0, gt=0)
    # Seconds the audio decoder may spend on one pass over an upload (a pathological file: very
    # high sample rate, many channels) before it is refused as undecodable; the model's time
    # between blocks does not count.
    max_decode_seconds: float = Field(default=120.0, gt=0)
    # How many transcriptions run at once. One saturates a small CPU; raise it on big machines
    # and lower `threads` so that concurrency x threads <= cores.
    concurrency: int = Field(default=1, ge=1, le=64)
    # Requests (batch files count one each) allowed to wait for a free worker beyond those
    # running; more get 503 with Retry-After rather than piling up without bound.
    max_queue: int = Field(default=32, ge=0, le=10_000)
    # Seconds a request may wait in the queue before it is answered 503. A transcription that
    # has started runs to its end unless its client goes away (checked between windows).
    request_timeout: float = Field(default=300.0, gt=0)
    # Requests waiting at the same moment for the same model and options are decoded together,
    # up to this many (1: never batch). Nothing waits to form a batch.
    batch_size: int = Field(default=8, ge=1, le=64)
    # Files per POST /transcribe/batch (also capped by concurrency + max_queue).
    max_batch_files: int = Field(default=16, ge=1)
    # torch CPU threads; None keeps torch's choice.
    threads: int | None = Field(default=None, ge=1)
    # Where the models compute: auto (a GPU when PyTorch sees one, else the CPU), cpu, cuda or
    # cuda:N. int8 requests are refused on a GPU (422: int8 is the CPU's).
    device: str = "auto"
    # Run one second of silence through the default model at startup, so that the first
    # request does not pay one-time costs (allocations, kernel selection).
    warmup: bool = True
    # Let clients name any hub id or server-side folder as a model. Off by default: a public
    # server should not let a request make it download models or probe its file system.
    allow_any_model: bool = False
    # API keys, comma-separated. Empty: the server is open. Set: every transcription and model
    # route needs ``Authorization: Bearer KEY`` with one of them (/health and the docs stay
    # open). Keys are compared in constant time and never logged.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # Origins allowed to call the API from a browser page elsewhere (CORS), comma-separated;
    # "*" for any. Empty: no cross-origin access.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("preload", "api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        """Checked at startup, not at the first request: cuda without a GPU is a setup error."""
        from ..errors import OptionsError
        from ..models.devices import resolve_device

        try:
            resolve_device(value)
        except OptionsError as error:
            raise ValueError(str(error)) from None
        return value

    @property
    def capacity(self) -> int:
        """Requests admitted at once: running plus waiting."""
        return self.concurrency + self.max_queue

    def preload_pairs(self) -> list[tuple[str, str | None, str | None]]:
        """(model, draft, compute type) for each ``preload`` entry ("model[:draft[:int8]]");
        None where the entry leaves it to the defaults."""
        entries: list[tuple[str, str | None, str | None]] = []
        for entry in self.preload:
            model, _, rest = entry.partition(":")
            draft, _, compute_type = rest.partition(":")
            entries.append((model.strip(), draft.strip() or None, compute_type.strip() or None))
        return entries
