"""Greedy decoding of several windows in lockstep, plain or speculative.

Each round, every row (one window of one file) gets up to k draft tokens, and the main model
scores all rows' drafts in one forward pass (``LeanDecoder.forward_rows``); each row keeps
what its own greedy search would keep, crops its own cache and advances by its own amount. A
row that reaches end-of-text leaves the batch. On a CPU the decoder is memory-bound: a pass
over several rows costs little more than over one.

Rows are decided exactly as ``search.search`` decides one window (``verify.decide``); their
float32 numbers differ from one-row decoding only by rounding, and a row that keeps a token by
less than ``verify.NEAR_TIE`` is flagged, so that the caller decodes it again alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import torch

from .draft_length import DraftLengthChooser
from .drafters.base import DraftSession
from .lean_decoder import LeanDecoder
from .logit_filters import LogitFilters
from .options import SpecStats
from .prompt import Prompt
from .search import SearchResult
from .verify import NO_PROPOSAL, Proposal, decide


class BatchDraft(Protocol):
    """Draft tokens for several rows at once."""

    def propose(self, rows: list[int], sampled: list[list[int]], ks: list[int]) -> list[Proposal]:
        """Per row of ``rows`` (indices into the batch as it started), up to ``ks[i]`` tokens
        after ``sampled[i]``."""
        ...

    def finish(self, rows: list[int]) -> None:
        """``rows`` finished their window and will not be asked again."""
        ...


class SessionsDraft:
    """Any drafter, batched by asking each row's own session in turn."""

    def __init__(self, sessions: list[DraftSession]) -> None:
        self.sessions = sessions

    def propose(self, rows: list[int], sampled: list[list[int]], ks: list[int]) -> list[Proposal]:
        return [
            self.sessions[row].propose(tokens, k, None) if k > 0 else NO_PROPOSAL
            for row, tokens, k in zip(rows, sampled, ks, strict=True)
        ]

    def finish(self, rows: list[int]) -> None:
        pass


@dataclass
class _Row:
    prompt: Prompt
    limit: int
    sequence: list[int]
    stats: SpecStats
    sum_logprob: float = 0.0
    no_speech_prob: float | None = None
    margin: float = float("inf")
    finished: bool = False
    drafts: list[int] = field(default_factory=list)  # k drafted per round, for stats


@torch.inference_mode()
def batch_search(
    decoder: LeanDecoder,
    filters: LogitFilters,
    prompts: list[Prompt],
    sample_len: int,
    eot: int,
    stats: list[SpecStats],
    draft: BatchDraft | None = None,
    chooser: DraftLengthChooser | None = None,
    no_speech_token: int | None = None,
) -> list[SearchResult]:
    """Greedy tokens of every row (one per prompt, in the decoder's row order) after its
    prompt; each row's SearchResult as ``search.search`` would give it (``margin`` included).
    The decoder's rows must be empty; it keeps only unfinished rows as rows finish."""
    chooser = chooser or DraftLengthChooser(16)
    rows = [
        _Row(p, min(len(p.tokens) + sample_len, decoder.max_positions + 1), list(p.tokens), s)
        for p, s in zip(prompts, stats, strict=True)
    ]
    active = list(range(len(rows)))  # batch rows, in the decoder's current order
    first_round = True
    while active:
        k = chooser.next_length() if draft is not None else 0
        ks = [max(0, min(k, rows[r].limit - len(rows[r].sequence) - 1)) for r in active]
        began = time.perf_counter()
        proposals = [NO_PROPOSAL] * len(active)
        if draft is not None and any(ks):
            sampled = [rows[r].sequence[len(rows[r].prompt.tokens) :] for r in active]
            proposals = draft.propose(active, sampled, ks)
        drafted = time.perf_counter()
        feeds, wanted, extras = [], [], []
        for position, r in enumerate(active):
            row = rows[r]
            pending = row.sequence[decoder.lengths[position] :]
            extra = [row.prompt.sot_index] if first_round and no_speech_token is not None else []
            tokens = proposals[position].tokens
            feeds.append(pending + tokens)
            wanted.append(extra + list(range(len(pending) - 1, len(pending) + len(tokens))))
            extras.append(len(extra))
        logits = decoder.forward_rows(feeds, wanted)
        still = []
        accepted_total = 0
        for position, r in enumerate(active):
            row = rows[r]
            extra = extras[position]
            if extra:
                probs = logits[position][0].float().softmax(-1)
                row.no_speech_prob = float(probs[no_speech_token])
            start = len(row.prompt.tokens)
            verdict = decide(
                logits[position][extra:], filters, row.sequence[start:], proposals[position], eot
            )
            decoder.crop_row(position, len(row.sequence) + len(verdict.new_tokens) - 1)
            room = row.limit - len(row.sequence)
            row.sequence.extend(verdict.new_tokens[:room])
            row.sum_logprob += sum(verdict.logprobs[: room + int(verdict.finished)])
            row.margin = min(row.margin, verdict.margin)
            row.stats.main_forward_calls += 1
            if draft is not None:
                count = len(proposals[position].tokens)
                row.stats.tokens_drafted += count
                row.stats.tokens_accepted += verdict.accepted
                row.stats.draft_lengths.append(count)
                row.stats.accepted_per_verify.append(verdict.accepted)
                accepted_total += verdict.accepted
            row.finished = verdict.finished or len(row.sequence) >= row.limit
            if not row.finished:
                still.append(position)
        verified = time.perf_counter()
        share = 1.0 / len(active)  # each row pays its share of the batch's time
        for r in active:
            rows[r].stats.drafting_s += (drafted - began) * share
            rows[r].stats.verifying_s += (verified - drafted) * share
        if draft is not None and not first_round and k > 0:
            # One round of the batch as one measurement: what a draft of k costs and yields.
            chooser.record(
                k, round(accepted_total / len(active)), drafted - began, verified - drafted
            )
        first_round = False
        done = [active[p] for p in range(len(active)) if p not in still]
        if done and draft is not None:
            draft.finish(done)
        if len(still) < len(active):
            decoder.keep(still)
            active = [active[p] for p in still]
    results = []
    for row in rows:
        tokens = row.sequence[len(row.prompt.tokens) :]
        row.stats.tokens_generated += len(tokens)
        results.append(SearchResult(tokens, row.sum_logprob, row.no_speech_prob, row.margin))
    return results
