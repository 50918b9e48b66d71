"""``model`` drafter: another Whisper with the main model's tokenizer (e.g. tiny for large-v2).

It runs its own encoder on its own log-mel of the window, then drafts in the shared vocabulary.
On the CPU the draft runs as an int8 copy: a draft only has to be fast and mostly right. For the
same reason its encoder sees only the speech plus a margin, not the padded 30 s window (see
``draft_frames``), and its log-mel takes the window's own maximum rather than the file's.
"""

from __future__ import annotations

import time

import torch

from ...audio import SAMPLE_RATE
from ...features import HOP_LENGTH, log_mel
from ...models.loading import WhisperBundle
from ..kv_decoder import encode_window
from ..lean_decoder import LeanDecoder
from ..logit_filters import build_filters
from ..options import TranscribeOptions
from ..prompt import build_prompt
from .base import DraftModelSession, WindowContext
from .self_int8 import quantized_copy, shared_int8

# Speech after which the draft encoder still looks: the silence that follows the last word is
# what tells a Whisper decoder to end the utterance. One second is whole words' worth of context
# and costs ~3% of a full window; measured on the dev set, 0.5 s to 2 s and the full window all
# gave draft acceptance within 0.03 of each other (tiny.en for base).
DRAFT_MARGIN_SECONDS = 1.0


def draft_frames(samples: int, total_frames: int) -> int:
    """Log-mel frames a draft encoder reads for ``samples`` of audio: the speech + a margin."""
    margin = int(DRAFT_MARGIN_SECONDS * SAMPLE_RATE)
    return min(total_frames, -(-(samples + margin) // HOP_LENGTH))


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
        # The loaded bundle is shared with other users of that model: quantize a copy (one per
        # process, shared by every drafter of this model).
        self.model = draft.model
        if int8:
            self.model = shared_int8(draft.model, "model", lambda: quantized_copy(draft.model))

    def encode(self, context: WindowContext) -> tuple[torch.Tensor, float]:
        """The draft's encoder output for the window, and the seconds it took."""
        if self.shares_main_encoder:
            return context.main_encoder_out, 0.0
        started = time.perf_counter()
        features = log_mel(context.samples[: context.speech_samples], self.draft)
        frames = features.shape[-1]
        if self.speech_window:
            frames = draft_frames(context.speech_samples, frames)
        encoder_out = encode_window(self.model, features, frames)
        return encoder_out, time.perf_counter() - started

    def draft_prompt(self, context: WindowContext) -> list[int]:
        """The draft's prompt: the main one, since the vocabulary is shared."""
        language = context.language if self.draft.multilingual else None
        timestamps = not context.options.without_timestamps
        return build_prompt(self.draft, language, context.task, context.previous, timestamps).tokens

    def batch(self, options: TranscribeOptions) -> None:
        return None  # an own encoder per window: drafted one by one (start)

    def start(self, context: WindowContext) -> DraftModelSession:
        encoder_out, elapsed = self.encode(context)
        # The main model drafting for itself runs exactly the verifier's code path (the main
        # cross-attention keys/values included), so that "everything is accepted" tests the
        # loop and nothing else.
        cross_kv = context.main_cross_kv if self.shares_main_encoder else None
        decoder = LeanDecoder(self.model, encoder_out, cross_kv=cross_kv)
        filters = build_filters(self.draft, context.options)
        return DraftModelSession(
            decoder, filters, self.draft_prompt(context), self.draft.special.eot, elapsed
        )
