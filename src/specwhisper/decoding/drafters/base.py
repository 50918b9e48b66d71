"""The Drafter protocol, and the greedy draft decoder that model-based drafters share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from ..draft_decoder import DraftDecoder
from ..kv_decoder import CachedDecoder, CrossKV
from ..logit_rules import TokenRules


@dataclass
class UtteranceContext:
    """What the engine already knows about the utterance when drafting starts."""

    audio: np.ndarray  # 16 kHz mono float32 waveform
    main_encoder_out: torch.Tensor  # (1, 1500, d_main)
    main_prompt: list[int]  # main-model prompt tokens
    language: str
    task: str
    stats: dict[str, int] = field(default_factory=dict)  # drafter-specific counters
    # The main decoder's cross-attention keys/values, when already computed: a draft that
    # shares the main encoder output can read them instead of projecting its own.
    main_cross_kv: CrossKV | None = None


@runtime_checkable
class Drafter(Protocol):
    """Proposes main-model tokens; the verifier decides what is kept, so a drafter cannot make
    the output wrong, only slower or faster."""

    name: str

    def begin(self, context: UtteranceContext) -> float:
        """Prepare for a new utterance; return seconds spent on a draft encoder (0 if none)."""
        ...

    def propose(self, generated: list[int], k: int) -> list[int]:
        """Up to ``k`` main-model token ids that may follow ``generated`` (the main model's text
        tokens so far, prompt excluded). Fewer, or none, is allowed."""
        ...


def longest_common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class GreedyDraftDecoder:
    """Greedy continuation in a draft model's own vocabulary, reusing its cache across calls."""

    def __init__(self, decoder: CachedDecoder | DraftDecoder, rules: TokenRules, eot: int) -> None:
        self.decoder = decoder
        self.rules = rules
        self.eot = eot
        self.fed: list[int] = []  # tokens whose keys/values are in the draft cache

    def continue_greedy(self, sequence: list[int], k: int) -> list[int]:
        """Up to ``k`` tokens after ``sequence`` (prompt included); stops after end-of-text."""
        # Keep the cached prefix that still agrees; always re-feed at least the last token,
        # because its logits are what predicts the first draft token.
        keep = min(longest_common_prefix(self.fed, sequence), len(sequence) - 1)
        self.decoder.crop(keep)
        self.fed = self.fed[:keep]
        pending = sequence[keep:]
        drafted: list[int] = []
        # A draft tokenization can be longer than the main one: never run past the draft's
        # last position.
        k = min(k, self.decoder.max_positions - len(sequence) + 1)
        while len(drafted) < k:
            logits = self.decoder.forward(pending)[-1:]
            self.fed.extend(pending)
            token = self.rules.argmax(logits, first_position=len(self.fed))[0]
            drafted.append(token)
            if token == self.eot:
                break
            pending = [token]
        return drafted
