"""``hybrid`` drafter: look the continuation up first (``ngram``), draft with a model when
there is nothing to look up. A lookup costs microseconds and a model draft milliseconds, so the
model only runs where the text gives no hint."""

from __future__ import annotations

from ..options import TranscribeOptions
from ..verify import Proposal, Sampling
from .base import Drafter, DraftSession, WindowContext
from .ngram import NgramDrafter, NgramSession


class HybridSession:
    def __init__(self, lookup: NgramSession, model: DraftSession) -> None:
        self.lookup = lookup
        self.model = model
        self.encoder_s = model.encoder_s
        self.looked_up = 0

    def propose(self, sampled: list[int], k: int, sampling: Sampling | None) -> Proposal:
        found = self.lookup.lookup(sampled, k)
        if found:
            self.looked_up += 1
            return Proposal(found)
        return self.model.propose(sampled, k, sampling)

    def counters(self) -> dict[str, int]:
        return {**self.model.counters(), "hybrid_lookups_used": self.looked_up}


class HybridDrafter:
    def __init__(self, model: Drafter) -> None:
        self.model = model
        self.lookup = NgramDrafter()
        self.name = f"ngram+{model.name}"

    def batch(self, options: TranscribeOptions) -> None:
        return None

    def start(self, context: WindowContext) -> HybridSession:
        return HybridSession(self.lookup.start(context), self.model.start(context))
