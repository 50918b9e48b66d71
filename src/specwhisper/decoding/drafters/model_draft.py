"""``model`` drafter: another Whisper with the main model's tokenizer (e.g. tiny for large-v2).

It runs its own encoder on its own log-mel, then drafts greedily in the shared vocabulary.
On the CPU the draft runs as an int8 copy: a draft only has to be fast and mostly right. For the
same reason its encoder sees only the speech plus a margin, not the padded 30 s window (see
``draft_frames``).
"""

from __future__ import annotations

import time

from ...audio import SAMPLE_RATE
from ...features import log_mel
from ...models.loading import WhisperBundle
from ..draft_decoder import DraftDecoder
from ..kv_decoder import CachedDecoder, encode_window
from ..logit_rules import TokenRules
from ..prompt import build_prompt
from .base import GreedyDraftDecoder, UtteranceContext
from .self_int8 import quantized_copy

HOP_SAMPLES = 160  # one log-mel frame every 10 ms at 16 kHz
# Speech after which the draft encoder still looks: the silence that follows the last word is
# what tells a Whisper decoder to end the utterance. One second is whole words' worth of context
# and costs ~3% of a full window; measured on the dev set, 0.5 s to 2 s and the full window all
# gave draft acceptance within 0.03 of each other (tiny.en for base).
DRAFT_MARGIN_SECONDS = 1.0


def draft_frames(samples: int, total_frames: int) -> int:
    """Log-mel frames a draft encoder reads for ``samples`` of audio: the speech + a margin."""
    margin = int(DRAFT_MARGIN_SECONDS * SAMPLE_RATE)
    return min(total_frames, -(-(samples + margin) // HOP_SAMPLES))


class ModelDrafter:
    def __init__(
        self,
        draft: WhisperBundle,
        int8: bool = False,
        shares_main_encoder: bool = False,
        speech_window: bool = True,
    ) -> None:
        """``speech_window``: encode only the speech + ``DRAFT_MARGIN_SECONDS`` (trained Whispers
        barely notice: acceptance within 0.03 on the dev set); False encodes the full window."""
        self.draft = draft
        self.speech_window = speech_window
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
            features = log_mel(context.audio, self.draft)
            frames = features.shape[-1]
            if self.speech_window:
                frames = draft_frames(len(context.audio), frames)
            encoder_out = encode_window(self.model, features, frames)
            elapsed = time.perf_counter() - started
        language = context.language if self.draft.multilingual else None
        self._prompt = build_prompt(self.draft, language, context.task)
        rules = TokenRules(
            self.draft.generation_config, self.draft.model.config.vocab_size, len(self._prompt)
        )
        if self.shares_main_encoder:
            # The main model drafting for itself runs exactly the verifier's code path, so
            # that "everything is accepted" tests the loop and nothing else.
            decoder = CachedDecoder(self.model, encoder_out, cross_kv=context.main_cross_kv)
        else:
            decoder = DraftDecoder(self.model, encoder_out)
        self._decoder = GreedyDraftDecoder(decoder, rules, self.draft.special.eot)
        return elapsed

    def propose(self, generated: list[int], k: int) -> list[int]:
        assert self._decoder is not None, "begin() must be called first"
        return self._decoder.continue_greedy(self._prompt + generated, k)
