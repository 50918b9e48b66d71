"""``cross`` drafter: a Whisper with a different tokenizer (and maybe other mel bins).

Tokens travel through text: the main model's tokens so far are decoded to text, re-encoded with
the draft tokenizer, continued greedily by the draft, and the new draft text is encoded back
with the main tokenizer. Boundaries need not line up: one draft token may become several main
tokens or part of one. Only acceptance depends on how well this goes; the verifier keeps the
output identical to the main model's greedy output whatever is proposed.
"""

from __future__ import annotations

from functools import lru_cache

from ...models.loading import WhisperBundle
from .base import UtteranceContext
from .model_draft import ModelDrafter


class CrossVocabDrafter(ModelDrafter):
    def __init__(self, draft: WhisperBundle, main: WhisperBundle, int8: bool = False) -> None:
        super().__init__(draft, int8=int8)
        self.main = main
        self._stats: dict[str, int] = {}
        # Per draft token: how many main tokens its text alone becomes (1 = clean mapping).
        self.main_pieces = lru_cache(maxsize=None)(self._main_pieces)

    def begin(self, context: UtteranceContext) -> float:
        self._stats = context.stats
        for key in ("draft_tokens_remapped", "one_to_many", "partial", "draft_eot"):
            self._stats.setdefault(key, 0)
        return super().begin(context)

    def propose(self, generated: list[int], k: int) -> list[int]:
        assert self._decoder is not None, "begin() must be called first"
        text = self.main.tokenizer.decode(generated, skip_special_tokens=True)
        draft_context = self.draft.tokenizer.encode(text, add_special_tokens=False)
        drafted = self._decoder.continue_greedy(self._prompt + draft_context, k)
        ends = bool(drafted) and drafted[-1] == self.draft.special.eot
        if ends:
            drafted = drafted[:-1]
            self._stats["draft_eot"] += 1
        proposal: list[int] = []
        if drafted:
            draft_text = self.draft.tokenizer.decode(drafted, skip_special_tokens=True)
            proposal = self.main.tokenizer.encode(draft_text, add_special_tokens=False)
            self._count(drafted)
        if ends:
            proposal.append(self.main.special.eot)
        return proposal[:k]

    def _count(self, drafted: list[int]) -> None:
        self._stats["draft_tokens_remapped"] += len(drafted)
        for token in drafted:
            pieces = self.main_pieces(token)
            if pieces > 1:
                self._stats["one_to_many"] += 1
            elif pieces == 0:
                # Part of a multi-byte character: only its neighbours complete a main token.
                self._stats["partial"] += 1

    def _main_pieces(self, draft_token: int) -> int:
        text = self.draft.tokenizer.decode([draft_token])
        if "\ufffd" in text:
            return 0
        return len(self.main.tokenizer.encode(text, add_special_tokens=False))
