"""Typed options and results of one decode, and the one place that validates options."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Task = Literal["transcribe", "translate"]
TASKS: tuple[str, ...] = ("transcribe", "translate")
MAX_BEAM_SIZE = 5
MAX_DRAFT_LENGTH = 16


class OptionsError(ValueError):
    """An option has a value we cannot use; the message names the accepted values."""


@dataclass(frozen=True)
class DecodeOptions:
    # Language code ("en", "de", ...). None: detect it (multilingual models) or English (".en").
    language: str | None = None
    # "translate" asks a multilingual model for English text from speech in another language.
    task: Task = "transcribe"
    # 1 is greedy (the only search that speculative decoding accelerates); 2..5 is beam search.
    beam_size: int = 1
    # Cap on generated text tokens; None lets the model run to its 448-position limit.
    max_new_tokens: int | None = None
    # Fixed number of draft tokens per verification; None adapts it from measured costs.
    draft_length: int | None = None

    def validated(self, languages: dict[str, int]) -> DecodeOptions:
        """Return self, or raise OptionsError naming the allowed values.

        ``languages`` maps the model's language codes to token ids (empty for English-only models).
        """
        if self.task not in TASKS:
            raise OptionsError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if not isinstance(self.beam_size, int) or not 1 <= self.beam_size <= MAX_BEAM_SIZE:
            raise OptionsError(
                f"beam_size must be an integer from 1 to {MAX_BEAM_SIZE}, not {self.beam_size!r}"
            )
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise OptionsError(f"max_new_tokens must be at least 1, not {self.max_new_tokens}")
        if self.draft_length is not None and not 1 <= self.draft_length <= MAX_DRAFT_LENGTH:
            raise OptionsError(
                f"draft_length must be from 1 to {MAX_DRAFT_LENGTH} or None "
                f"(adaptive), not {self.draft_length}"
            )
        if languages:
            if self.language is not None and self.language not in languages:
                raise OptionsError(
                    f"unknown language {self.language!r}; use one of "
                    f"{', '.join(sorted(languages))} or leave it empty to detect"
                )
        else:
            if self.language not in (None, "en"):
                raise OptionsError(
                    f"this model is English-only: language must be 'en' or empty, "
                    f"not {self.language!r}"
                )
            if self.task != "transcribe":
                raise OptionsError("this model is English-only: task must be 'transcribe'")
        return self


@dataclass
class SpecStats:
    """What one decode did, for users and benchmarks. Times are wall-clock seconds."""

    tokens_generated: int = 0
    main_forward_calls: int = 0
    tokens_drafted: int = 0
    tokens_accepted: int = 0
    main_encoder_s: float = 0.0
    draft_encoder_s: float = 0.0
    drafting_s: float = 0.0
    verifying_s: float = 0.0
    draft_lengths: list[int] = field(default_factory=list)  # k chosen at each verification
    accepted_per_verify: list[int] = field(default_factory=list)
    # Cross-vocabulary drafts only: how draft tokens mapped onto main tokens.
    remap: dict[str, int] = field(default_factory=dict)

    @property
    def acceptance_rate(self) -> float:
        return self.tokens_accepted / self.tokens_drafted if self.tokens_drafted else 0.0

    @property
    def tokens_per_verify(self) -> float:
        return self.tokens_generated / self.main_forward_calls if self.main_forward_calls else 0.0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["acceptance_rate"] = round(self.acceptance_rate, 4)
        data["tokens_per_verify"] = round(self.tokens_per_verify, 4)
        for key in ("main_encoder_s", "draft_encoder_s", "drafting_s", "verifying_s"):
            data[key] = round(data[key], 4)
        return data


@dataclass(frozen=True)
class DecodeResult:
    tokens: list[int]  # main-model ids of the text part: no prompt, no end-of-text
    text: str
    language: str
    stats: SpecStats
