"""One verification: the main model scores a whole draft in one forward pass."""

from __future__ import annotations

from dataclasses import dataclass

from .kv_decoder import CachedDecoder
from .logit_rules import TokenRules


@dataclass(frozen=True)
class Verdict:
    new_tokens: list[int]  # accepted draft prefix + the main model's own next token (no EOT)
    accepted: int  # how many draft tokens were kept
    finished: bool  # the main model chose end-of-text


def verify(
    main: CachedDecoder, rules: TokenRules, sequence: list[int], draft: list[int], eot: int
) -> Verdict:
    """Score ``draft`` after ``sequence`` and keep the longest prefix the main model agrees with.

    On entry the main cache holds a prefix of ``sequence``; on exit it holds the new sequence
    minus its last token (whose keys/values the next verification computes anyway).
    """
    pending = sequence[main.length :]
    logits = main.forward(pending + draft)[len(pending) - 1 :]  # (len(draft) + 1, vocab)
    choices = rules.argmax(logits, first_position=len(sequence))
    accepted = 0
    while accepted < len(draft) and draft[accepted] == choices[accepted]:
        accepted += 1
        if draft[accepted - 1] == eot:  # an agreed end-of-text ends the utterance
            break
    new_tokens = choices[: accepted + 1]
    finished = eot in new_tokens
    if finished:
        new_tokens = new_tokens[: new_tokens.index(eot)]
    main.crop(len(sequence) + len(new_tokens) - 1)
    return Verdict(new_tokens, accepted, finished)
