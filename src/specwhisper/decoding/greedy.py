"""Greedy search, plain or speculative: the same loop, with or without a drafter.

Each round: (1) the drafter proposes k tokens, (2) the main model scores them in one forward
pass, (3) the agreeing prefix plus the main model's own next token are kept and both caches are
cropped, (4) k is re-chosen from what was measured. With no drafter, k is 0 and every round is
one ordinary greedy step, so both modes share every logit rule.
"""

from __future__ import annotations

import time

import torch

from ..models.loading import WhisperBundle
from .draft_length import DraftLengthChooser
from .drafters.base import Drafter
from .kv_decoder import CachedDecoder, CrossKV
from .logit_rules import TokenRules
from .options import MAX_DRAFT_LENGTH, SpecStats
from .verify import verify


@torch.inference_mode()
def greedy_decode(
    main: WhisperBundle,
    encoder_out: torch.Tensor,
    prompt: list[int],
    stats: SpecStats,
    drafter: Drafter | None = None,
    chooser: DraftLengthChooser | None = None,
    max_new_tokens: int | None = None,
    cross_kv: CrossKV | None = None,
) -> list[int]:
    """Main-model text tokens (no prompt, no end-of-text) of the greedy transcription.

    ``cross_kv``: the main decoder's cross-attention keys/values of ``encoder_out`` if the
    caller already computed them (to share with a drafter); else the first round does.
    """
    config = main.model.config
    limit = config.max_target_positions  # the decoder has no position beyond this
    if max_new_tokens is not None:
        limit = min(limit, len(prompt) + max_new_tokens)
    rules = TokenRules(main.generation_config, config.vocab_size, len(prompt))
    decoder = CachedDecoder(main.model, encoder_out, cross_kv=cross_kv)
    chooser = chooser or DraftLengthChooser(MAX_DRAFT_LENGTH)
    sequence = list(prompt)
    first_round = True
    while len(sequence) < limit:
        generated = sequence[len(prompt) :]
        # k drafts + the main model's own token must fit under the limit.
        k = min(chooser.next_length(), limit - len(sequence) - 1) if drafter else 0
        started = time.perf_counter()
        draft = drafter.propose(generated, k)[:k] if k > 0 else []
        drafted = time.perf_counter()
        verdict = verify(decoder, rules, sequence, draft, main.special.eot)
        verified = time.perf_counter()

        stats.main_forward_calls += 1
        stats.drafting_s += drafted - started
        stats.verifying_s += verified - drafted
        if drafter:
            stats.tokens_drafted += len(draft)
            stats.tokens_accepted += verdict.accepted
            stats.draft_lengths.append(len(draft))
            stats.accepted_per_verify.append(verdict.accepted)
            # The first round also fills the prompt and cross-attention caches: not typical.
            if not first_round and draft:
                chooser.record(len(draft), verdict.accepted, drafted - started, verified - drafted)
        first_round = False
        sequence.extend(verdict.new_tokens)
        if verdict.finished:
            break
    tokens = sequence[len(prompt) : limit]
    stats.tokens_generated = len(tokens)
    return tokens
