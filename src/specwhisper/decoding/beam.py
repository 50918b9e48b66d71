"""Searches run by transformers' own ``generate()``: beam search, and the greedy reference.

Speculative decoding accelerates greedy search only; beam search (2..5 beams) runs here, on the
main model alone, with the same prompt and logit rules as ``generate()`` always applies.
"""

from __future__ import annotations

import torch

from ..models.loading import WhisperBundle


@torch.inference_mode()
def generate_tokens(
    main: WhisperBundle,
    features: torch.Tensor,
    language: str,
    task: str,
    beam_size: int = 1,
    max_new_tokens: int | None = None,
    assistant: WhisperBundle | None = None,
) -> list[int]:
    """Text tokens (no prompt, no end-of-text) from ``model.generate()``.

    With ``assistant``, transformers' own assisted generation drafts (greedy only); it is here
    to be measured against, not used by the product.
    """
    kwargs: dict = {"num_beams": beam_size, "do_sample": False}
    if main.multilingual:
        kwargs.update(language=language, task=task)
    if max_new_tokens is not None:
        kwargs["max_new_tokens"] = max_new_tokens
    if assistant is not None:
        kwargs["assistant_model"] = assistant.model
        if assistant.tokenizer.get_vocab() != main.tokenizer.get_vocab():
            kwargs.update(tokenizer=main.tokenizer, assistant_tokenizer=assistant.tokenizer)
    output = main.model.generate(features, **kwargs)
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
