"""The drafter protocol, and the draft decoder that model-based drafters share.

A ``Drafter`` holds weights only; ``start`` opens a ``DraftSession`` for one window, which
holds that window's caches and counters. So one drafter can serve several windows (and,
batched, several rows) at once, and nothing of one window leaks into the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from ..kv_decoder import CachedDecoder, CrossKV
from ..lean_decoder import LeanDecoder, fill_places
from ..logit_filters import LogitFilters, argmax_rows
from ..options import TranscribeOptions
from ..verify import NO_PROPOSAL, Proposal, Sampling


@dataclass
class WindowContext:
    """What the engine already knows about a window when drafting starts."""

    samples: np.ndarray  # the window's 16 kHz waveform (30 s, zeros after the end of the audio)
    speech_samples: int  # how many of them are audio (the rest pads the last window)
    main_encoder_out: torch.Tensor  # (1, 1500, d_main)
    main_prompt: list[int]  # main-model prompt tokens (earlier text + start sequence)
    previous: list[int]  # the earlier main-model tokens inside that prompt (may be empty)
    language: str
    task: str
    options: TranscribeOptions
    # The main decoder's cross-attention keys/values: a draft that shares the main encoder
    # output reads them instead of projecting its own.
    main_cross_kv: CrossKV | None = None
    # Tokens the previous window sampled after its last timestamp pair, timestamps moved to
    # this window's time: openai-whisper's seek decodes that text again here (may be empty).
    carried: list[int] = field(default_factory=list)


@runtime_checkable
class DraftSession(Protocol):
    """Proposes main-model tokens for one window; the verifier decides what is kept, so a
    draft cannot make the output wrong, only slower or faster."""

    encoder_s: float  # seconds spent on a draft encoder for this window (0 if none)

    def propose(self, sampled: list[int], k: int, sampling: Sampling | None) -> Proposal:
        """Up to ``k`` main-model tokens that may follow ``sampled`` (the main model's tokens
        of this window so far, prompt excluded). Fewer, or none, is allowed. With
        ``sampling``, tokens are drawn from the draft's distribution (returned with them, or
        None if the draft cannot give it)."""
        ...

    def counters(self) -> dict[str, int]:
        """Drafter-specific counts for ``SpecStats.remap`` (empty for most drafters)."""
        ...


@runtime_checkable
class Drafter(Protocol):
    name: str

    def start(self, context: WindowContext) -> DraftSession:
        """A session for one window."""
        ...

    def batch(self, options: TranscribeOptions) -> ModelBatchDraft | None:
        """A draft over several windows at once (rows join with ``add``), or None when this
        drafter cannot batch (its rows are then drafted one by one, through ``start``)."""
        ...


def longest_common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class DraftModelSession:
    """Greedy or sampled continuation in a draft model's own vocabulary, reusing its cache
    across calls: the draft half of most drafters."""

    def __init__(
        self,
        decoder: CachedDecoder | LeanDecoder,
        filters: LogitFilters,
        prompt: list[int],
        eot: int,
        encoder_s: float = 0.0,
    ) -> None:
        self.decoder = decoder
        self.filters = filters
        self.prompt = prompt
        self.eot = eot
        self.encoder_s = encoder_s
        self.fed: list[int] = []  # tokens whose keys/values are in the draft cache

    def continue_(
        self, sampled: list[int], k: int, sampling: Sampling | None = None
    ) -> tuple[list[int], torch.Tensor | None]:
        """Up to ``k`` draft tokens after prompt + ``sampled`` (draft vocabulary); stops after
        end-of-text. With ``sampling``, also the (len, vocab) distributions drawn from."""
        sequence = self.prompt + sampled
        # Keep the cached prefix that still agrees; always re-feed at least the last token,
        # because its logits are what predicts the first draft token.
        keep = min(longest_common_prefix(self.fed, sequence), len(sequence) - 1)
        self.decoder.crop(keep)
        self.fed = self.fed[:keep]
        pending = sequence[keep:]
        drafted: list[int] = []
        probs: list[torch.Tensor] = []
        # A draft tokenization can be longer than the main one: never run past the draft's
        # last position.
        k = min(k, self.decoder.max_positions - len(sequence) + 1)
        while len(drafted) < k:
            logits = self.decoder.forward(pending, [len(pending) - 1])
            self.fed.extend(pending)
            filtered = self.filters.mask(logits, sampled + drafted)
            if sampling is None:
                token = argmax_rows(filtered)[0]
            else:
                q = sampling.distribution(filtered)[0]
                token = sampling.draw(q)
                probs.append(q)
            drafted.append(token)
            if token == self.eot:
                break
            pending = [token]
        return drafted, (torch.stack(probs) if probs else None)

    def propose(self, sampled: list[int], k: int, sampling: Sampling | None) -> Proposal:
        tokens, probs = self.continue_(sampled, k, sampling)
        return Proposal(tokens, probs) if tokens else NO_PROPOSAL

    def counters(self) -> dict[str, int]:
        return {}


class ModelBatchDraft:
    """A draft model that shares the main model's encoder output, over several rows at once
    (``batch_search.BatchDraft``): each round's draft steps run as one batched forward pass
    for all rows. Rows are named by the keys they were added with; a finished row leaves the
    draft's batch too, and a new one joins with ``add``."""

    def __init__(self, decoder: LeanDecoder, filters: LogitFilters, eot: int) -> None:
        self.decoder = decoder  # starts without rows
        self.filters = filters
        self.eot = eot
        self.order: list = []  # key of each decoder row
        self.prompts: dict = {}
        self.fed: dict = {}  # per key, the tokens in the cache

    def add(self, key, context: WindowContext) -> None:
        prompt = list(context.main_prompt)
        # The prompt but its last token, fed alone (a long prompt would pad every row's step).
        self.decoder.add_row(context.main_cross_kv, prompt[:-1])
        self.order.append(key)
        self.prompts[key] = prompt
        self.fed[key] = prompt[:-1]

    @torch.inference_mode()
    def propose(self, rows: list, sampled: list[list[int]], ks: list[int]) -> list[Proposal]:
        assert rows == self.order, "the draft's rows must follow the batch's"
        sequences = [self.prompts[r] + s for r, s in zip(rows, sampled, strict=True)]
        pending: list[list[int]] = []
        for position, (row, sequence) in enumerate(zip(rows, sequences, strict=True)):
            keep = min(longest_common_prefix(self.fed[row], sequence), len(sequence) - 1)
            self.decoder.crop_row(position, keep)
            self.fed[row] = self.fed[row][:keep]
            pending.append(sequence[keep:])
        drafted: list[list[int]] = [[] for _ in rows]
        drafting = [k > 0 for k in ks]
        for step in range(max(ks, default=0)):
            if not any(drafting):
                break
            feeds = []
            for position in range(len(rows)):
                if step == 0:
                    feeds.append(pending[position])
                elif drafting[position]:
                    feeds.append([drafted[position][-1]])
                else:  # done drafting: a placeholder, cropped away below
                    feeds.append([sequences[position][-1]])
            logits = self.decoder.forward_rows(feeds, [[len(feed) - 1] for feed in feeds])
            for position, row in enumerate(rows):
                if step == 0 or drafting[position]:
                    self.fed[row].extend(feeds[position])
                if not drafting[position]:
                    self.decoder.crop_row(position, len(self.fed[row]))
                    continue
                prefix = sampled[position] + drafted[position]
                token = argmax_rows(self.filters.mask(logits[position], prefix))[0]
                drafted[position].append(token)
                if token == self.eot or len(drafted[position]) >= ks[position]:
                    drafting[position] = False
        return [Proposal(tokens) if tokens else NO_PROPOSAL for tokens in drafted]

    def reserve(self, rows: int) -> None:
        self.decoder.reserve(rows)

    def finish(self, rows: list) -> None:
        remaining = fill_places(self.order, rows)  # as ``BatchSearch`` keeps its rows
        self.decoder.keep(remaining)
        self.order = [self.order[p] for p in remaining]
        for row in rows:
            self.prompts.pop(row, None)
            self.fed.pop(row, None)
