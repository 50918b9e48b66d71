"""``model`` drafter: another Whisper with the main model's tokenizer (e.g. tiny for large-v2).

It runs its own encoder on its own log-mel, then drafts greedily in the shared vocabulary.
On the CPU the draft runs as an int8 copy: a draft only has to be fast and mostly right.
"""

from __future__ import annotations

import time

from ...features import log_mel
from ...models.loading import WhisperBundle
from ..kv_decoder import CachedDecoder, encode
from ..logit_rules import TokenRules
from ..prompt import build_prompt
from .base import GreedyDraftDecoder, UtteranceContext
from .self_int8 import quantized_copy


class ModelDrafter:
    def __init__(
        self, draft: WhisperBundle, int8: bool = False, shares_main_encoder: bool = False
    ) -> None:
        self.draft = draft
        # The main model drafting for itself (fp32): its encoder output is the main one.
        self.shares_main_encoder = shares_main_encoder and not int8
        self.name = draft.name + ("-int8" if int8 else "")
        # The loaded bundle is shared with other users of that model: quantize a copy.
        self.model = quantized_copy(draft.model) if int8 else draft.model
        self._decoder: GreedyDraftDecoder | None = None
        self._prompt: list[int] = []

    def begin(self, context: UtteranceContext) -> float:
        if self.shares_main_encoder:
            encoder_out, elapsed = context.main_encoder_out, 0.0
        else:
            started = time.perf_counter()
            encoder_out = encode(self.model, log_mel(context.audio, self.draft))
            elapsed = time.perf_counter() - started
        language = context.language if self.draft.multilingual else None
        self._prompt = build_prompt(self.draft, language, context.task)
        rules = TokenRules(
            self.draft.generation_config, self.draft.model.config.vocab_size, len(self._prompt)
        )
        self._decoder = GreedyDraftDecoder(
            CachedDecoder(self.model, encoder_out), rules, self.draft.special.eot
        )
        return elapsed

    def propose(self, generated: list[int], k: int) -> list[int]:
        assert self._decoder is not None, "begin() must be called first"
        return self._decoder.continue_greedy(self._prompt + generated, k)
