"""One 30 s window, decoded: encoder, prompt, draft session, then the search at each
temperature of the fallback ladder until the result passes the thresholds.

The thresholds read only the main model's numbers (average log-probability of its tokens,
compression ratio of its text, its P(no speech)), so a draft can never change which window
falls back or is skipped as silence.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from ..models.loading import WhisperBundle
from .beam import generate_window
from .draft_length import DraftLengthChooser
from .drafters.base import Drafter, DraftSession, WindowContext
from .kv_decoder import CrossKV, cross_key_values, encode
from .lean_decoder import LeanDecoder
from .logit_filters import LogitFilters, build_filters, timestamp_begin
from .options import SpecStats, TranscribeOptions, WindowResult
from .prompt import Prompt, build_prompt, max_previous_tokens
from .search import SearchResult, search
from .verify import NEAR_TIE, Sampling

# Draft length of seeded sampling (see ``WindowDecoder._sample``): the adaptive chooser's start.
SEEDED_DRAFT_LENGTH = 4


def compression_ratio(text: str) -> float:
    """Whisper's repetition signal: text bytes over zlib-compressed bytes (> 2.4 is suspect)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data))


def needs_fallback(result: WindowResult, options: TranscribeOptions) -> bool:
    """openai-whisper's rule: too repetitive or too unlikely, unless it is just silence."""
    failed = False
    if (
        options.compression_ratio_threshold is not None
        and result.compression_ratio > options.compression_ratio_threshold
    ):
        failed = True
    if options.logprob_threshold is not None and result.avg_logprob < options.logprob_threshold:
        failed = True
        if (
            options.no_speech_threshold is not None
            and result.no_speech_prob > options.no_speech_threshold
        ):
            failed = False  # silence: skipping it is the seek loop's business
    return failed


def is_silence(result: WindowResult, options: TranscribeOptions) -> bool:
    """A window to skip: the model thinks nobody speaks, and what it wrote is unlikely."""
    if options.no_speech_threshold is None or result.no_speech_prob <= options.no_speech_threshold:
        return False
    return options.logprob_threshold is None or result.avg_logprob <= options.logprob_threshold


@dataclass
class WindowAudio:
    """A window's input: the main model's features and, for drafts with their own encoder,
    the waveform under them."""

    features: torch.Tensor  # (1, n_mels, 3000)
    samples: np.ndarray  # (480000,) 16 kHz, zeros past the end of the audio
    speech_samples: int  # how many of ``samples`` are audio


class WindowDecoder:
    """Decodes the windows of one transcription. Holds what lasts across windows: the models,
    the draft-length statistics and the random source; each window gets fresh caches."""

    def __init__(
        self,
        main: WhisperBundle,
        drafter: Drafter | None,
        chooser: DraftLengthChooser,
        options: TranscribeOptions,
        stats: SpecStats,
        generator: torch.Generator,
    ) -> None:
        self.main = main
        self.drafter = drafter
        self.chooser = chooser
        self.options = options
        self.stats = stats
        self.generator = generator
        self.filters: LogitFilters = build_filters(main, options)
        self.timestamps = not options.without_timestamps
        self._last_cross: tuple[torch.Tensor, CrossKV] | None = None  # see cross_kv

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        began = time.perf_counter()
        encoder_out = encode(self.main.model, features)
        self.stats.main_encoder_s += time.perf_counter() - began
        return encoder_out

    def decode(
        self,
        audio: WindowAudio,
        encoder_out: torch.Tensor,
        previous: list[int],
        language: str,
        carried: list[int] | None = None,
        first: SearchResult | None = None,
    ) -> WindowResult:
        """The window's result at the first temperature that passes the thresholds (or the
        last one tried). ``previous``: earlier tokens to condition on (may be empty);
        ``carried``: the previous window's unfinished tail, for drafts (may be empty);
        ``first``: the greedy attempt, when a batch already decoded it (batching.py)."""
        main, options, stats = self.main, self.options, self.stats
        stats.windows += 1
        prompt = build_prompt(main, language, options.task, previous, self.timestamps)
        context = (audio, encoder_out, prompt, previous, language, carried or [])
        built: tuple[LeanDecoder, DraftSession | None] | None = None
        no_speech_prob: float | None = None
        result: WindowResult | None = None
        for attempt, temperature in enumerate(options.temperature):
            if attempt:
                stats.fallbacks += 1
            if attempt == 0 and first is not None and not self._redo(first):
                outcome = first
            else:
                built = built or self._build(*context)
                decoder, session = built
                if attempt == 0 and first is not None:
                    # The batch kept a token by a hair. Verifying alone would score several
                    # positions at once again and likely find the same hair: decode plainly.
                    session = None
                if temperature == 0 and options.beam_size > 1:
                    outcome = self._beam(audio.features, decoder, prompt, no_speech_prob is None)
                else:
                    candidates = options.best_of if temperature > 0 else 1
                    outcome = self._sample(
                        decoder, prompt, session, temperature, candidates, no_speech_prob is None
                    )
            if outcome.no_speech_prob is not None:
                no_speech_prob = outcome.no_speech_prob
            result = self._result(outcome, temperature, no_speech_prob or 0.0)
            if not needs_fallback(result, options):
                break
        if built is not None and built[1] is not None:
            stats.add_remap(built[1].counters())
        assert result is not None  # options.temperature is never empty
        return result

    def _redo(self, first: SearchResult) -> bool:
        """A batched greedy attempt kept a token by a hair: decode the window alone."""
        if first.margin >= NEAR_TIE or getattr(self.main.model, "row_invariant", False):
            return False
        self.stats.near_ties += 1
        return True

    def cross_kv(self, encoder_out: torch.Tensor) -> CrossKV:
        """The main decoder's cross-attention keys/values of a window, computed once rather
        than in the first verification so that a drafter can share them. Counted as
        verifying: verification needs them whether or not a drafter reads them too.

        The last window's are kept: language detection, a batch and a window decoded again
        alone (a near tie, a fallback) ask for the same window's, and on ``base`` each
        projection costs about a tenth of the encoder."""
        if self._last_cross is not None and self._last_cross[0] is encoder_out:
            return self._last_cross[1]
        projected = time.perf_counter()
        keys_values = cross_key_values(self.main.model, encoder_out)
        self.stats.verifying_s += time.perf_counter() - projected
        self._last_cross = (encoder_out, keys_values)
        return keys_values

    def remember_cross_kv(self, encoder_out: torch.Tensor, cross_kv: CrossKV) -> None:
        """Keys/values of ``encoder_out`` projected elsewhere (a VAD run's language
        detection), for ``cross_kv`` to hand out."""
        self._last_cross = (encoder_out, cross_kv)

    def _build(self, audio, encoder_out, prompt, previous, language, carried):
        """The main decoder and the draft session of a window."""
        cross_kv = self.cross_kv(encoder_out)
        decoder = LeanDecoder(self.main.model, encoder_out, cross_kv=cross_kv)
        context = self.window_context(audio, encoder_out, cross_kv, prompt, previous, language)
        session = None
        if context is not None:
            context.carried = list(carried)
            session = self.drafter.start(context)
            self.stats.draft_encoder_s += session.encoder_s
        return decoder, session

    def window_context(
        self, audio, encoder_out, cross_kv, prompt, previous, language
    ) -> WindowContext | None:
        """What a drafter learns of a window; None when there is no draft to run."""
        if self.drafter is None or not self.options.use_speculative:
            return None
        return WindowContext(
            samples=audio.samples,
            speech_samples=audio.speech_samples,
            main_encoder_out=encoder_out,
            main_prompt=prompt.tokens,
            previous=previous[-max_previous_tokens(self.main) :] if previous else [],
            language=language,
            task=self.options.task,
            options=self.options,
            main_cross_kv=cross_kv,
        )

    def _sample(
        self,
        decoder: LeanDecoder,
        prompt: Prompt,
        session: DraftSession | None,
        temperature: float,
        candidates: int,
        first: bool,
    ) -> SearchResult:
        """Greedy (temperature 0) or the most likely of ``candidates`` samples."""
        sampling = Sampling(temperature, self.generator) if temperature > 0 else None
        chooser = self.chooser
        if sampling is not None and self.options.seed is not None and chooser.fixed is None:
            # Which random numbers a sample uses depends on the draft lengths, and adaptive
            # lengths follow measured times: with a seed, the length is fixed instead, so that
            # the same seed gives the same text.
            chooser = DraftLengthChooser(chooser.max_length, fixed=SEEDED_DRAFT_LENGTH)

        def run(session, sampling, no_speech_token) -> SearchResult:
            return search(
                decoder,
                self.filters,
                prompt,
                self.options.sample_len,
                self.main.special.eot,
                self.stats,
                session,
                chooser,
                sampling,
                no_speech_token,
            )

        best: SearchResult | None = None
        no_speech: float | None = None
        for candidate in range(candidates):
            if decoder.length:  # a retry: keep the prompt's keys/values but its last token's
                decoder.crop(len(prompt.tokens) - 1)
            found = run(
                session, sampling, self.main.special.no_speech if first and candidate == 0 else None
            )
            if (
                session is not None
                and sampling is None
                and found.margin < NEAR_TIE
                and not decoder.row_invariant
            ):
                # A token chosen by a hair while scoring several positions at once: decode
                # plainly, one position at a time, to be certain of the plain output.
                self.stats.near_ties += 1
                measured = found.no_speech_prob
                decoder.crop(len(prompt.tokens) - 1)
                found = run(None, None, None)
                found = SearchResult(found.tokens, found.sum_logprob, measured, found.margin)
            no_speech = found.no_speech_prob if candidate == 0 else no_speech
            # openai-whisper ranks candidates by sum of log-probabilities over length.
            if best is None or _score(found) > _score(best):
                best = found
        assert best is not None
        return SearchResult(best.tokens, best.sum_logprob, no_speech)

    def _beam(
        self, features: torch.Tensor, decoder: LeanDecoder, prompt: Prompt, first: bool
    ) -> SearchResult:
        """transformers' beam search over the window, then one forward pass of ours over its
        tokens for the numbers the thresholds need."""
        began = time.perf_counter()
        tokens, finished = generate_window(
            self.main,
            features,
            prompt.tokens,
            self.options.sample_len,
            self.timestamps,
            self.options.beam_size,
            self.options.max_initial_timestamp,
        )
        result = score_tokens(
            decoder, self.filters, prompt, tokens, finished, self.main.special, first
        )
        self.stats.verifying_s += time.perf_counter() - began
        self.stats.tokens_generated += len(tokens)
        return result

    def _result(
        self, outcome: SearchResult, temperature: float, no_speech_prob: float
    ) -> WindowResult:
        tokens = outcome.tokens
        text_tokens = [t for t in tokens if t < self.main.special.eot]
        text = self.main.tokenizer.decode(text_tokens).strip()
        return WindowResult(
            tokens=tokens,
            temperature=temperature,
            sum_logprob=outcome.sum_logprob,
            avg_logprob=outcome.sum_logprob / (len(tokens) + 1),
            compression_ratio=compression_ratio(text),
            no_speech_prob=no_speech_prob,
        )


def _score(result: SearchResult) -> float:
    return result.sum_logprob / max(len(result.tokens), 1)


@torch.inference_mode()
def score_tokens(
    decoder: LeanDecoder,
    filters: LogitFilters,
    prompt: Prompt,
    tokens: list[int],
    finished: bool,
    special,
    first: bool,
) -> SearchResult:
    """The filtered log-probability of ``tokens`` after ``prompt`` (and of the end-of-text if
    ``finished``) in one forward pass, and P(no speech) if ``first``."""
    target = tokens + ([special.eot] if finished else [])
    if decoder.length:
        decoder.crop(len(prompt.tokens) - 1)
    fed = prompt.tokens[decoder.length :] + tokens
    offset = len(prompt.tokens) - decoder.length - 1  # row predicting the first sampled token
    rows = ([prompt.sot_index - decoder.length] if first else []) + [
        offset + i for i in range(len(target))
    ]
    logits = decoder.forward(fed, rows)
    no_speech = None
    if first:
        no_speech = float(logits[0].float().softmax(-1)[special.no_speech])
        logits = logits[1:]
    total = 0.0
    if target:
        logprobs = torch.log_softmax(filters.mask(logits, target[:-1]), dim=-1)
        total = float(sum(logprobs[i, t] for i, t in enumerate(target)))
    decoder.crop(len(prompt.tokens) - 1)
    return SearchResult(tokens, total, no_speech)


__all__ = ["WindowDecoder", "WindowAudio", "compression_ratio", "is_silence", "timestamp_begin"]
