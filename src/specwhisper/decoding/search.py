"""Decoding one window at one temperature, plain or speculative: the same loop either way.

Each round: (1) the draft session proposes k tokens, (2) the main model scores them in one
forward pass, (3) the verifier keeps what the main model would have produced and crops the
cache, (4) k is re-chosen from what was measured. With no draft, k is 0 and every round is one
ordinary decoding step, so both modes share every logit rule, and the first round's forward
pass over the prompt also yields P(no speech).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from .draft_length import DraftLengthChooser
from .drafters.base import DraftSession
from .lean_decoder import LeanDecoder
from .logit_filters import LogitFilters
from .options import MAX_DRAFT_LENGTH, SpecStats
from .prompt import Prompt
from .verify import NO_PROPOSAL, Sampling, verify


@dataclass(frozen=True)
class SearchResult:
    tokens: list[int]  # sampled tokens, no end-of-text
    sum_logprob: float  # of the sampled tokens and the end-of-text, if it was reached
    no_speech_prob: float | None  # when asked for (the first decode of a window)
    margin: float = float("inf")  # smallest greedy margin of a kept token (verify.NEAR_TIE)


@torch.inference_mode()
def search(
    decoder: LeanDecoder,
    filters: LogitFilters,
    prompt: Prompt,
    sample_len: int,
    eot: int,
    stats: SpecStats,
    session: DraftSession | None = None,
    chooser: DraftLengthChooser | None = None,
    sampling: Sampling | None = None,
    no_speech_token: int | None = None,
) -> SearchResult:
    """Tokens of one window after ``prompt``, greedy or (with ``sampling``) sampled.

    The decoder's cache may already hold a prefix of the prompt (a retry at another
    temperature); it must not hold anything beyond it. ``no_speech_token``: also return the
    probability of that token at the start-of-transcript position (needs the cache to end
    before it).
    """
    sequence = list(prompt.tokens)
    start = len(sequence)
    # At most sample_len tokens, and never a position the decoder does not have: the last
    # token may sit at position max_positions, since it is never fed (as openai-whisper).
    limit = min(start + sample_len, decoder.max_positions + 1)
    chooser = chooser or DraftLengthChooser(MAX_DRAFT_LENGTH)
    sum_logprob = 0.0
    margin = float("inf")
    no_speech_prob = None
    first_round = True
    while len(sequence) < limit:
        sampled = sequence[start:]
        # k drafts + the main model's own token must fit under the limit.
        k = min(chooser.next_length(), limit - len(sequence) - 1) if session else 0
        began = time.perf_counter()
        proposal = session.propose(sampled, k, sampling) if k > 0 else NO_PROPOSAL
        drafted = time.perf_counter()
        extra_rows = [prompt.sot_index] if first_round and no_speech_token is not None else None
        verdict = verify(decoder, filters, sequence, start, proposal, eot, sampling, extra_rows)
        verified = time.perf_counter()
        if verdict.extra_logits is not None:
            no_speech_prob = float(verdict.extra_logits[0].float().softmax(-1)[no_speech_token])

        stats.main_forward_calls += 1
        stats.drafting_s += drafted - began
        stats.verifying_s += verified - drafted
        if session:
            drafted_count = len(proposal.tokens)
            stats.tokens_drafted += drafted_count
            stats.tokens_accepted += verdict.accepted
            stats.draft_lengths.append(drafted_count)
            stats.accepted_per_verify.append(verdict.accepted)
            # The first round also fills the prompt and cross-attention caches: not typical.
            if not first_round and drafted_count:
                chooser.record(drafted_count, verdict.accepted, drafted - began, verified - drafted)
        first_round = False
        room = limit - len(sequence)
        sequence.extend(verdict.new_tokens[:room])
        margin = min(margin, verdict.margin)
        sum_logprob += sum(verdict.logprobs[: room + int(verdict.finished)])
        if verdict.finished:
            break
    tokens = sequence[start:]
    stats.tokens_generated += len(tokens)
    return SearchResult(tokens, sum_logprob, no_speech_prob, margin)
