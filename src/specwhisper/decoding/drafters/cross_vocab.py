"""``cross`` drafter: a Whisper with a different tokenizer (and maybe other mel bins).

Text travels through text: the main model's tokens so far are decoded, re-encoded with the draft
tokenizer, continued by the draft, and the new draft text is encoded back with the main
tokenizer. Boundaries need not line up: one draft token may become several main tokens or part
of one. Timestamps cannot travel through text; they map one to one (<|1.24|> is <|1.24|> in
every Whisper vocabulary), so runs of text and timestamps are remapped separately. Only
acceptance depends on how well this goes; the verifier keeps the output identical to the main
model's whatever is proposed. At temperature > 0 the draft samples in its own vocabulary, whose
distribution says nothing about main tokens: proposals are then deterministic to the verifier.
"""

from __future__ import annotations

from functools import lru_cache

from ...models.loading import WhisperBundle
from ..logit_filters import timestamp_begin
from ..prompt import build_prompt
from ..verify import NO_PROPOSAL, Proposal, Sampling
from .base import DraftModelSession, WindowContext
from .model_draft import ModelDrafter

COUNTERS = ("draft_tokens_remapped", "one_to_many", "partial", "draft_eot")


class VocabularyBridge:
    """Token sequences from one Whisper vocabulary to another: text by text, timestamps by
    their time."""

    def __init__(self, source: WhisperBundle, target: WhisperBundle) -> None:
        self.source, self.target = source, target
        self.source_ts = timestamp_begin(source)
        self.target_ts = timestamp_begin(target)
        # The 1501 timestamps <|0.00|> .. <|30.00|>: as many in both vocabularies.
        self.stamps = min(
            source.model.config.vocab_size - self.source_ts,
            target.model.config.vocab_size - self.target_ts,
        )

    def convert(self, tokens: list[int]) -> list[int]:
        """``tokens`` of the source vocabulary (text and timestamps; other special tokens are
        dropped) in the target vocabulary."""
        out: list[int] = []
        text: list[int] = []
        for token in tokens:
            if token >= self.source_ts:
                out += self._text(text)
                text = []
                if token - self.source_ts < self.stamps:
                    out.append(token - self.source_ts + self.target_ts)
            elif token < self.source.special.eot:
                text.append(token)
        return out + self._text(text)

    def _text(self, tokens: list[int]) -> list[int]:
        if not tokens:
            return []
        text = self.source.tokenizer.decode(tokens, skip_special_tokens=True)
        return self.target.tokenizer.encode(text, add_special_tokens=False)


class CrossVocabDrafter(ModelDrafter):
    def __init__(self, draft: WhisperBundle, main: WhisperBundle, int8: bool = False) -> None:
        super().__init__(draft, int8=int8)
        self.main = main
        self.to_draft = VocabularyBridge(main, draft)
        self.to_main = VocabularyBridge(draft, main)
        # Per draft token: how many main tokens its text alone becomes (1 = clean mapping).
        self.main_pieces = lru_cache(maxsize=None)(self._main_pieces)

    def draft_prompt(self, context: WindowContext) -> list[int]:
        language = context.language if self.draft.multilingual else None
        timestamps = not context.options.without_timestamps
        previous = self.to_draft.convert(context.previous)
        return build_prompt(self.draft, language, context.task, previous, timestamps).tokens

    def start(self, context: WindowContext) -> CrossVocabSession:
        return CrossVocabSession(self, super().start(context))

    def _main_pieces(self, draft_token: int) -> int:
        text = self.draft.tokenizer.decode([draft_token])
        if "\ufffd" in text:
            return 0
        return len(self.main.tokenizer.encode(text, add_special_tokens=False))


class CrossVocabSession:
    def __init__(self, drafter: CrossVocabDrafter, session: DraftModelSession) -> None:
        self.drafter = drafter
        self.session = session
        self.encoder_s = session.encoder_s
        self._counts = dict.fromkeys(COUNTERS, 0)

    def propose(self, sampled: list[int], k: int, sampling: Sampling | None) -> Proposal:
        drafter = self.drafter
        draft_context = drafter.to_draft.convert(sampled)
        drafted, _ = self.session.continue_(draft_context, k, sampling)
        ends = bool(drafted) and drafted[-1] == drafter.draft.special.eot
        if ends:
            drafted = drafted[:-1]
            self._counts["draft_eot"] += 1
        proposal = drafter.to_main.convert(drafted)
        self._count(drafted)
        if ends:
            proposal.append(drafter.main.special.eot)
        return Proposal(proposal[:k]) if proposal else NO_PROPOSAL

    def counters(self) -> dict[str, int]:
        return dict(self._counts)

    def _count(self, drafted: list[int]) -> None:
        text_tokens = [t for t in drafted if t < self.drafter.draft.special.eot]
        self._counts["draft_tokens_remapped"] += len(text_tokens)
        for token in text_tokens:
            pieces = self.drafter.main_pieces(token)
            if pieces > 1:
                self._counts["one_to_many"] += 1
            elif pieces == 0:
                # Part of a multi-byte character: only its neighbours complete a main token.
                self._counts["partial"] += 1
