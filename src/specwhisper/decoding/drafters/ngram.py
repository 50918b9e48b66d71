"""``ngram`` drafter: no model, proposals looked up in text the transcription already holds.

Prompt lookup (Saxena 2023): find the last place where the tokens just sampled occurred before,
and propose what followed them there. Its sources, in the order it searches them:
- the tail the previous window left unfinished: openai-whisper's seek rule decodes the text
  after a window's last timestamp pair again, from that pair, in the next window; the tail's
  tokens (timestamps shifted to the new window) are usually what this window starts with;
- this window's own tokens so far, then the earlier text of the prompt (names, repeated
  phrases).
A proposal costs microseconds, so even low acceptance pays; the hybrid drafter
(``hybrid.py``) falls back to a model draft when there is nothing to look up.
"""

from __future__ import annotations

from ..options import TranscribeOptions
from ..verify import NO_PROPOSAL, Proposal, Sampling
from .base import WindowContext

# Longest and shortest suffix of the sampled tokens looked up. Longer matches are tried first:
# they are more often right. One token alone matches too often to mean much, except at the
# start of a window, where the carried-over tail is proposed from its beginning.
MAX_NGRAM = 4
MIN_NGRAM = 2


def find_continuation(history: list[int], suffix: list[int], k: int) -> list[int]:
    """Up to ``k`` tokens that followed the last earlier occurrence of ``suffix`` in
    ``history`` (``suffix`` may be the end of ``history`` itself: that occurrence is skipped)."""
    n = len(suffix)
    last = len(history) - n
    for start in range(last - 1, -1, -1):
        if history[start : start + n] == suffix:
            return history[start + n : start + n + k]
    return []


class NgramSession:
    encoder_s = 0.0

    def __init__(self, carried: list[int], previous: list[int]) -> None:
        self.carried = carried
        self.previous = previous
        self.proposed = 0
        self.found = 0

    def lookup(self, sampled: list[int], k: int) -> list[int]:
        """Tokens that may follow ``sampled``, or [] when no source has a match."""
        if not sampled and self.carried:
            return self.carried[:k]
        for n in range(min(MAX_NGRAM, len(sampled)), MIN_NGRAM - 1, -1):
            suffix = sampled[-n:]
            for source in (self.carried + sampled, self.previous):
                found = find_continuation(source, suffix, k)
                if found:
                    return found
        return []

    def propose(self, sampled: list[int], k: int, sampling: Sampling | None) -> Proposal:
        tokens = self.lookup(sampled, k)
        self.proposed += 1
        self.found += bool(tokens)
        # Deterministic proposals: the verifier's rule stays exact at any temperature.
        return Proposal(tokens) if tokens else NO_PROPOSAL

    def counters(self) -> dict[str, int]:
        return {"ngram_lookups": self.proposed, "ngram_found": self.found}


class NgramDrafter:
    name = "ngram"

    def batch(self, options: TranscribeOptions) -> None:
        return None  # lookups cost microseconds: no need to batch them

    def start(self, context: WindowContext) -> NgramSession:
        return NgramSession(list(context.carried), list(context.previous))
