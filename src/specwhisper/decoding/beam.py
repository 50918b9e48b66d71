"""Searches run by transformers' own ``generate()``: beam search, and the references we test
and benchmark against.

Speculative decoding accelerates greedy search and sampling; beam search (2..5 beams) runs here
on the main model alone, window by window, with our prompt (earlier text included) and
transformers' own logit processors for the same rules (begin-suppress, suppress, timestamps).
"""

from __future__ import annotations

import copy

import torch
from transformers import GenerationConfig
from transformers.generation import GenerationMixin
from transformers.generation.logits_process import (
    LogitsProcessorList,
    SuppressTokensAtBeginLogitsProcessor,
    SuppressTokensLogitsProcessor,
    WhisperTimeStampLogitsProcessor,
)

from ..models.loading import WhisperBundle
from .logit_filters import TIME_PRECISION


@torch.inference_mode()
def generate_window(
    main: WhisperBundle,
    features: torch.Tensor,
    prompt: list[int],
    sample_len: int,
    timestamps: bool,
    beam_size: int = 1,
    max_initial_timestamp: float = 1.0,
    assistant: WhisperBundle | None = None,
) -> tuple[list[int], bool]:
    """transformers' search over one (1, n_mels, 3000) window after ``prompt`` (our tokens,
    earlier text included): the sampled tokens (timestamps included, no end-of-text) and
    whether it reached end-of-text. Greedy with ``beam_size`` 1.

    With ``assistant``, transformers' own assisted generation drafts (greedy only); it is here
    to be measured against, not used by the product.
    """
    special = main.special
    config: GenerationConfig = copy.deepcopy(main.generation_config)
    begin = len(prompt)
    processors = LogitsProcessorList(
        [
            SuppressTokensAtBeginLogitsProcessor(config.begin_suppress_tokens or [], begin),
            SuppressTokensLogitsProcessor(config.suppress_tokens or []),
        ]
    )
    if timestamps:
        config.max_initial_timestamp_index = round(max_initial_timestamp / TIME_PRECISION)
        processors.append(WhisperTimeStampLogitsProcessor(config, begin_index=begin))
    # The processors above are the rules; keep generate() from adding its own copies.
    config.suppress_tokens = None
    config.begin_suppress_tokens = None
    for name in ("lang_to_id", "task_to_id", "forced_decoder_ids"):
        if hasattr(config, name):
            delattr(config, name)
    positions = main.model.config.max_target_positions
    kwargs: dict = {
        "num_beams": beam_size,
        "do_sample": False,
        # As openai-whisper: at most sample_len tokens, and the last one may sit at the
        # position after the decoder's last (it is never fed).
        "max_new_tokens": min(sample_len, positions + 1 - begin),
        "logits_processor": processors,
        "generation_config": config,
    }
    if assistant is not None:
        kwargs["assistant_model"] = assistant.model
    output = GenerationMixin.generate(
        main.model,
        input_features=features.to(main.device),
        decoder_input_ids=torch.tensor([prompt], device=main.device),
        **kwargs,
    )
    tokens = output[0, begin:].tolist()
    finished = special.eot in tokens
    if finished:
        tokens = tokens[: tokens.index(special.eot)]
    return tokens, finished


def language_kwargs(main: WhisperBundle, language: str | None, task: str) -> dict:
    """generate()'s language and task arguments: none for an English-only model; without a
    language a multilingual one detects it, as specwhisper and faster-whisper do."""
    if not main.multilingual:
        return {}
    return {"task": task} if language is None else {"task": task, "language": language}


@torch.inference_mode()
def generate_tokens(
    main: WhisperBundle,
    features: torch.Tensor,
    language: str | None,
    task: str,
    beam_size: int = 1,
    max_new_tokens: int | None = None,
    assistant: WhisperBundle | None = None,
) -> list[int]:
    """Text tokens (no prompt, no end-of-text) from ``model.generate()`` on one window without
    timestamps: transformers' short-form transcription, the historical reference. ``language``
    None: generate() detects it, as specwhisper and faster-whisper do.

    With ``assistant``, transformers' own assisted generation drafts (greedy only).
    """
    kwargs: dict = {
        "num_beams": beam_size,
        "do_sample": False,
        **language_kwargs(main, language, task),
    }
    if max_new_tokens is not None:
        kwargs["max_new_tokens"] = max_new_tokens
    if assistant is not None:
        kwargs["assistant_model"] = assistant.model
        if assistant.tokenizer.get_vocab() != main.tokenizer.get_vocab():
            kwargs.update(tokenizer=main.tokenizer, assistant_tokenizer=assistant.tokenizer)
    output = main.model.generate(features.to(main.device), **kwargs)
    tokens = output[0].tolist()
    special = main.special
    # generate() returns new tokens only in transformers 5; strip a prompt if a version keeps it.
    while tokens and tokens[0] in (
        special.sot,
        special.no_timestamps,
        special.transcribe,
        special.translate,
        *special.languages.values(),
    ):
        tokens.pop(0)
    if special.eot in tokens:
        tokens = tokens[: tokens.index(special.eot)]
    return tokens
