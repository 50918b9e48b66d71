"""Typed options of a transcription, the one place that validates them, and what decoding
reports back (``SpecStats`` per transcription, ``WindowResult`` per 30 s window).

The CLI flags, the server's form fields and ``TranscribeOptions`` are kept in agreement by a
test: a new option is a new field here, then a flag and a field there.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Literal

from ..errors import OptionsError

Task = Literal["transcribe", "translate"]
TASKS: tuple[str, ...] = ("transcribe", "translate")
MAX_BEAM_SIZE = 5
MAX_BEST_OF = 10
MAX_DRAFT_LENGTH = 16
MAX_BATCH_SIZE = 64
# openai-whisper's fallback ladder: greedy first, then sampling ever more freely.
DEFAULT_TEMPERATURES: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# A window is decoded with at most this many sampled tokens: half of the decoder's 448
# positions, the other half being for the prompt of earlier text (openai-whisper's sample_len).
MAX_WINDOW_TOKENS = 224
# Characters of initial prompt accepted (its tokens are cut to the last 223 anyway).
MAX_PROMPT_CHARS = 4000


@dataclass(frozen=True)
class TranscribeOptions:
    """How to transcribe. Every field has openai-whisper's meaning and default, unless noted."""

    # Language code ("en", "de", ...). None: detect it on the first window (multilingual
    # models) or English (".en" models).
    language: str | None = None
    # "translate" asks a multilingual model for English text from speech in another language.
    task: Task = "transcribe"
    # 1 is greedy (what speculative decoding accelerates); 2..5 is beam search at temperature 0.
    beam_size: int = 1
    # Candidates sampled per window at temperature > 0; the most likely one is kept.
    best_of: int = 1
    # Temperatures tried in turn for a window whose decode fails the thresholds below.
    # (0.0,) decodes greedily only: no fallback, every window exact.
    temperature: tuple[float, ...] = DEFAULT_TEMPERATURES
    # Fallback when the window's text compresses too well (zlib ratio): repetition loops.
    compression_ratio_threshold: float | None = 2.4
    # Fallback when the average log-probability of the window's tokens is below this.
    logprob_threshold: float | None = -1.0
    # A window whose no-speech probability is above this, and whose average log-probability is
    # below ``logprob_threshold``, is skipped as silence.
    no_speech_threshold: float | None = 0.6
    # Prompt each window with the text of earlier windows (the last 223 tokens).
    condition_on_previous_text: bool = True
    # Text put before the first window's prompt (spellings, names, style).
    initial_prompt: str | None = None
    # False: timestamp tokens on, segments cut at them. True: one segment per window.
    without_timestamps: bool = False
    # The first timestamp of a window may not be later than this (seconds).
    max_initial_timestamp: float = 1.0
    # Cap on sampled tokens per window; None: 224 (half the decoder's positions).
    max_new_tokens: int | None = None
    # Seed of the sampler at temperature > 0, for reproducible output; None: random.
    seed: int | None = None
    # Speculative decoding on (the default) or off: the output is the same either way.
    use_speculative: bool = True
    # Fixed number of draft tokens per verification; None adapts it from measured costs.
    draft_length: int | None = None
    # Word-level timestamps (``Segment.words``) from the main model's cross-attention and
    # dynamic time warping, as openai-whisper's: one extra decoder pass per window, over its
    # final tokens, so drafting never changes them. Segments then span their words, and a
    # window that ends mid-sentence is followed by one starting at its last word's end.
    word_timestamps: bool = False
    # VAD-batched long form: Silero VAD cuts the speech into chunks of at most 30 s, decoded
    # in batches and alone (no prompt of earlier text). Faster on many-core or batched
    # hardware, and silence never reaches the model; see vad.py for what differs.
    vad: bool = False
    # Inputs (or VAD chunks) decoded together by transcribe_batch.
    batch_size: int = 8

    @property
    def sample_len(self) -> int:
        return self.max_new_tokens or MAX_WINDOW_TOKENS

    def validated(self, languages: dict[str, int]) -> TranscribeOptions:
        """Return self (``language`` ``auto`` made None: detect it, as whisper.cpp spells
        it), or raise OptionsError naming the field and the allowed values.

        ``languages`` maps the model's language codes to token ids (empty for English-only
        models).
        """
        if self.language == "auto":
            return replace(self, language=None).validated(languages)
        if self.task not in TASKS:
            raise OptionsError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}", "task")
        _integer(self, "beam_size", 1, MAX_BEAM_SIZE)
        _integer(self, "best_of", 1, MAX_BEST_OF)
        _integer(self, "max_new_tokens", 1, MAX_WINDOW_TOKENS, optional=True)
        _integer(self, "draft_length", 1, MAX_DRAFT_LENGTH, optional=True)
        _integer(self, "seed", 0, 2**63 - 1, optional=True)
        _integer(self, "batch_size", 1, MAX_BATCH_SIZE)
        temperatures = self.temperature
        if (
            not isinstance(temperatures, tuple)
            or not temperatures
            or not all(_number(t) and 0.0 <= t <= 1.0 for t in temperatures)
        ):
            raise OptionsError(
                "temperature must be a number from 0 to 1, or several in increasing order "
                f"(e.g. 0,0.2,0.4,0.6,0.8,1), not {temperatures!r}",
                "temperature",
            )
        if list(temperatures) != sorted(temperatures):
            raise OptionsError(
                f"temperature: the fallback temperatures must increase, not {temperatures!r}",
                "temperature",
            )
        for name, low, high in (
            ("compression_ratio_threshold", 0.0, 100.0),
            ("logprob_threshold", -100.0, 0.0),
            ("no_speech_threshold", 0.0, 1.0),
            ("max_initial_timestamp", 0.0, 30.0),
        ):
            value = getattr(self, name)
            if value is None and name != "max_initial_timestamp":
                continue
            if not _number(value) or not low <= value <= high:
                raise OptionsError(
                    f"{name} must be a number from {low:g} to {high:g}"
                    + (" or empty (off)" if name != "max_initial_timestamp" else "")
                    + f", not {value!r}",
                    name,
                )
        if self.initial_prompt is not None and len(self.initial_prompt) > MAX_PROMPT_CHARS:
            raise OptionsError(
                f"initial_prompt is {len(self.initial_prompt)} characters long; at most "
                f"{MAX_PROMPT_CHARS} are accepted (only its last 223 tokens are used)",
                "initial_prompt",
            )
        if languages:
            if self.language is not None and self.language not in languages:
                raise OptionsError(
                    f"unknown language {self.language!r}; use one of "
                    f"{', '.join(sorted(languages))}, or auto (or nothing) to detect it",
                    "language",
                )
        else:
            if self.language not in (None, "en"):
                raise OptionsError(
                    f"this model is English-only: language must be 'en', auto or empty, "
                    f"not {self.language!r}",
                    "language",
                )
            if self.task != "transcribe":
                raise OptionsError("this model is English-only: task must be 'transcribe'", "task")
        return self


def option_names() -> list[str]:
    """Every field of ``TranscribeOptions``, for the tests that keep front ends in agreement."""
    return [f.name for f in fields(TranscribeOptions)]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _integer(options: TranscribeOptions, name: str, low: int, high: int, optional=False) -> None:
    value = getattr(options, name)
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise OptionsError(
            f"{name} must be an integer from {low} to {high}"
            + (" or empty" if optional else "")
            + f", not {value!r}",
            name,
        )


@dataclass
class SpecStats:
    """What one transcription's decoding did, summed over its windows. Times are wall-clock
    seconds; lists have one entry per verification."""

    # Main-model tokens decoded, timestamps included, in every attempt: a fallback, a sampled
    # candidate and a near-tie re-decode count too, as their forward calls do.
    tokens_generated: int = 0
    main_forward_calls: int = 0
    tokens_drafted: int = 0
    tokens_accepted: int = 0
    main_encoder_s: float = 0.0
    draft_encoder_s: float = 0.0
    drafting_s: float = 0.0
    verifying_s: float = 0.0
    word_timing_s: float = 0.0  # word timestamps: the extra decoder pass and DTW
    windows: int = 0  # 30 s windows decoded
    fallbacks: int = 0  # window decodes retried at a higher temperature
    # Windows decoded again plainly because a kept token won by less than verify.NEAR_TIE:
    # the check that keeps speculative output identical to plain output.
    near_ties: int = 0
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
        for key in (
            "main_encoder_s",
            "draft_encoder_s",
            "drafting_s",
            "verifying_s",
            "word_timing_s",
        ):
            data[key] = round(data[key], 4)
        return data

    def add_remap(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            self.remap[key] = self.remap.get(key, 0) + value

    def add(self, other: SpecStats) -> None:
        """Add ``other``'s counts, times and lists to these (parts of one transcription)."""
        for name, value in vars(other).items():
            if name == "remap":
                self.add_remap(value)
            else:
                setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class WindowResult:
    """One 30 s window decoded at one temperature: openai-whisper's ``DecodingResult``."""

    tokens: list[int]  # sampled main-model tokens, timestamps included, no end-of-text
    temperature: float
    sum_logprob: float  # over the sampled tokens and the end-of-text (if reached)
    avg_logprob: float  # sum_logprob / (len(tokens) + 1), as openai-whisper
    compression_ratio: float  # of the window's text: > 2.4 suggests a repetition loop
    no_speech_prob: float  # P(<|nospeech|>) at the start-of-transcript position
