"""The logit rules of Whisper's greedy search, shared by plain, speculative and draft decoding.

They match transformers' ``generate()`` without timestamps: ``suppress_tokens`` at every step and
``begin_suppress_tokens`` (a space and end-of-text) at the first generated position.
"""

from __future__ import annotations

import torch
from transformers import GenerationConfig


class TokenRules:
    def __init__(self, generation: GenerationConfig, vocab_size: int, prompt_length: int) -> None:
        self.prompt_length = prompt_length
        self.always = torch.zeros(vocab_size, dtype=torch.bool)
        self.always[list(generation.suppress_tokens or [])] = True
        self.first = self.always.clone()
        self.first[list(generation.begin_suppress_tokens or [])] = True

    def argmax(self, logits: torch.Tensor, first_position: int) -> list[int]:
        """Greedy choices for (n, vocab) logits; row 0 predicts position ``first_position``.

        Position p is an index into the whole decoder sequence (prompt included).
        """
        masked = logits.masked_fill(self.always, float("-inf"))
        first_row = self.prompt_length - first_position
        if 0 <= first_row < logits.shape[0]:
            masked[first_row] = logits[first_row].masked_fill(self.first, float("-inf"))
        return masked.argmax(dim=-1).tolist()
