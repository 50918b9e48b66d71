"""Greedy decoding of several windows in lockstep, plain or speculative, with rows that join
and leave as they go (continuous batching).

Each round (``BatchSearch.step``), every row (one window of one file) gets up to k draft
tokens, and the main model scores all rows' drafts in one forward pass
(``LeanDecoder.forward_rows``); each row keeps what its own greedy search would keep, crops its
own cache and advances by its own amount. A row that reaches end-of-text leaves the batch, and
the caller may add the next window at once: on a CPU the decoder is memory-bound, so a pass
over several rows costs little more than over one, and a batch that waited for its slowest row
would spend its last rounds on one or two rows.

Rows are decided exactly as ``search.search`` decides one window (``verify.decide``); their
float32 numbers differ from one-row decoding only by rounding, and a row that keeps a token by
less than ``verify.NEAR_TIE`` is flagged, so that the caller decodes it again alone.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from .draft_length import DraftLengthChooser
from .drafters.base import Drafter, DraftSession, WindowContext
from .kv_decoder import CrossKV
from .lean_decoder import LeanDecoder, fill_places
from .logit_filters import LogitFilters
from .options import SpecStats
from .prompt import Prompt
from .search import SearchResult
from .verify import NO_PROPOSAL, Proposal, decide


class BatchDraft(Protocol):
    """Draft tokens for several rows at once; rows are named by the keys they were added
    with."""

    def add(self, key: Hashable, context: WindowContext) -> None:
        """A new row, for the window of ``context``."""
        ...

    def propose(
        self, rows: list[Hashable], sampled: list[list[int]], ks: list[int]
    ) -> list[Proposal]:
        """Per row of ``rows``, up to ``ks[i]`` tokens after ``sampled[i]``."""
        ...

    def finish(self, rows: list[Hashable]) -> None:
        """``rows`` finished their window and will not be asked again."""
        ...

    def reserve(self, rows: int) -> None:
        """Room for ``rows`` rows at once (memory taken up front, not grown as rows join)."""
        ...


class SessionsDraft:
    """Any drafter, batched by asking each row's own session in turn."""

    def __init__(self, drafter: Drafter | None = None) -> None:
        self.drafter = drafter
        self.sessions: dict[Hashable, DraftSession] = {}

    def add(self, key: Hashable, context: WindowContext) -> None:
        assert self.drafter is not None, "a SessionsDraft without a drafter takes sessions"
        self.add_session(key, self.drafter.start(context))

    def add_session(self, key: Hashable, session: DraftSession) -> None:
        self.sessions[key] = session

    def propose(
        self, rows: list[Hashable], sampled: list[list[int]], ks: list[int]
    ) -> list[Proposal]:
        return [
            self.sessions[row].propose(tokens, k, None) if k > 0 else NO_PROPOSAL
            for row, tokens, k in zip(rows, sampled, ks, strict=True)
        ]

    def finish(self, rows: list[Hashable]) -> None:
        for row in rows:
            self.sessions.pop(row, None)

    def reserve(self, rows: int) -> None:
        pass  # each session has its own buffers


@dataclass
class _Row:
    prompt: Prompt
    limit: int
    sequence: list[int]
    stats: SpecStats
    sum_logprob: float = 0.0
    no_speech_prob: float | None = None
    margin: float = float("inf")
    rounds: int = 0  # verifications so far (the first also fills the prompt's cache)

    def result(self) -> SearchResult:
        tokens = self.sequence[len(self.prompt.tokens) :]
        self.stats.tokens_generated += len(tokens)
        return SearchResult(tokens, self.sum_logprob, self.no_speech_prob, self.margin)


class BatchSearch:
    """Rows join with ``add`` and are decoded a round at a time by ``step``, which returns
    the rows that finished. Every row uses the same filters, model and draft length."""

    def __init__(
        self,
        model: nn.Module,
        filters: LogitFilters,
        sample_len: int,
        eot: int,
        draft: BatchDraft | None = None,
        chooser: DraftLengthChooser | None = None,
        no_speech_token: int | None = None,
    ) -> None:
        self.decoder = LeanDecoder(model, cross_kvs=[])
        self.filters = filters
        self.sample_len = sample_len
        self.eot = eot
        self.draft = draft
        self.chooser = chooser or DraftLengthChooser(16)
        self.no_speech_token = no_speech_token
        self.rows: dict[Hashable, _Row] = {}
        self.order: list[Hashable] = []  # the decoder's rows

    @classmethod
    def like(cls, window_decoder, draft: BatchDraft | None = None) -> BatchSearch:
        """A batch for windows decoded as ``window_decoder`` (a ``window.WindowDecoder``)
        decodes them: its model, filters, options and draft lengths."""
        main, options = window_decoder.main, window_decoder.options
        return cls(
            main.model,
            window_decoder.filters,
            options.sample_len,
            main.special.eot,
            draft,
            window_decoder.chooser,
            main.special.no_speech,
        )

    def __len__(self) -> int:
        return len(self.order)

    def reserve(self, rows: int) -> None:
        """Room for ``rows`` rows in the decoder (and draft) buffers, allocated once: a batch
        that grows row by row would copy every row each time its buffers double."""
        self.decoder.reserve(rows)
        if self.draft is not None:
            self.draft.reserve(rows)

    @torch.inference_mode()
    def add(
        self,
        key: Hashable,
        prompt: Prompt,
        cross_kv: CrossKV,
        stats: SpecStats,
        context: WindowContext | None = None,
    ) -> None:
        """A window to decode after ``prompt``; ``context`` for the draft (None: no draft)."""
        assert key not in self.rows, f"row {key!r} is already in the batch"
        # Earlier text before <|startoftranscript|> is fed now, alone; the start sequence is
        # fed by the first round, whose first row gives P(no speech).
        self.decoder.add_row(cross_kv, prompt.tokens[: prompt.sot_index])
        limit = min(len(prompt.tokens) + self.sample_len, self.decoder.max_positions + 1)
        self.rows[key] = _Row(prompt, limit, list(prompt.tokens), stats)
        self.order.append(key)
        if self.draft is not None and context is not None:
            self.draft.add(key, context)

    @torch.inference_mode()
    def step(self) -> list[tuple[Hashable, SearchResult]]:
        """One round for every row; the rows that finished, with their results."""
        if not self.order:
            return []
        decoder, draft = self.decoder, self.draft
        active = list(self.order)
        rows = [self.rows[key] for key in active]
        k = self.chooser.next_length() if draft is not None else 0
        ks = [max(0, min(k, row.limit - len(row.sequence) - 1)) for row in rows]
        began = time.perf_counter()
        proposals = [NO_PROPOSAL] * len(active)
        if draft is not None and any(ks):
            sampled = [row.sequence[len(row.prompt.tokens) :] for row in rows]
            proposals = draft.propose(active, sampled, ks)
        drafted = time.perf_counter()
        feeds, wanted, extras = [], [], []
        for position, row in enumerate(rows):
            pending = row.sequence[decoder.lengths[position] :]
            extra = []
            if row.rounds == 0 and self.no_speech_token is not None:
                extra = [row.prompt.sot_index - decoder.lengths[position]]
            tokens = proposals[position].tokens
            feeds.append(pending + tokens)
            wanted.append(extra + list(range(len(pending) - 1, len(pending) + len(tokens))))
            extras.append(len(extra))
        logits = decoder.forward_rows(feeds, wanted)
        finished = []
        accepted_total, measured = 0, 0
        for position, (key, row) in enumerate(zip(active, rows, strict=True)):
            extra = extras[position]
            if extra:
                probs = logits[position][0].float().softmax(-1)
                row.no_speech_prob = float(probs[self.no_speech_token])
            start = len(row.prompt.tokens)
            verdict = decide(
                logits[position][extra:],
                self.filters,
                row.sequence[start:],
                proposals[position],
                self.eot,
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
                if row.rounds > 0:  # a first round also fills the prompt: not typical
                    accepted_total += verdict.accepted
                    measured += 1
            row.rounds += 1
            if verdict.finished or len(row.sequence) >= row.limit:
                finished.append(key)
        verified = time.perf_counter()
        share = 1.0 / len(active)  # each row pays its share of the round's time
        for row in rows:
            row.stats.drafting_s += (drafted - began) * share
            row.stats.verifying_s += (verified - drafted) * share
        if draft is not None and measured and k > 0:
            # One round of the batch as one measurement: what a draft of k costs and yields.
            self.chooser.record(
                k, round(accepted_total / measured), drafted - began, verified - drafted
            )
        if finished:
            if draft is not None:
                draft.finish(finished)
            # The draft's rows follow the same rule, so both stay in the same order.
            kept = fill_places(active, finished)
            decoder.keep(kept)
            self.order = [active[p] for p in kept]
        return [(key, self.rows.pop(key).result()) for key in finished]
