"""One verification: the main model scores a whole draft in one forward pass and decides.

Greedy (temperature 0): keep the longest draft prefix equal to the main model's own filtered
argmax, plus the main model's token after it. Every kept token is the main model's choice over
the same prefix, so the output equals plain greedy decoding.

Sampling (temperature > 0), speculative sampling (Leviathan et al. 2023; Chen et al. 2023):
draft token x, drawn from the draft's distribution q, is kept with probability
min(1, p(x) / q(x)); at the first rejection a token is drawn from max(p - q, 0), renormalised;
after a fully kept draft, one more from p. Each kept token is then distributed exactly as the
main model's p. A drafter that cannot give q (a cross-vocabulary or n-gram draft) proposes
deterministically: q is one-hot on its token, and the same rule stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .lean_decoder import LeanDecoder
from .logit_filters import LogitFilters, argmax_rows, top_margins


@dataclass(frozen=True)
class Sampling:
    """Temperature > 0 and the random source shared by the draft and the verifier."""

    temperature: float
    generator: torch.Generator

    def uniform(self) -> float:
        return float(torch.rand((), generator=self.generator))

    def draw(self, probs: torch.Tensor) -> int:
        return int(torch.multinomial(probs, 1, generator=self.generator))

    def distribution(self, filtered_logits: torch.Tensor) -> torch.Tensor:
        """p for (n, vocab) filtered logits: softmax(logits / T)."""
        return torch.softmax(filtered_logits / self.temperature, dim=-1)


@dataclass(frozen=True)
class Proposal:
    """Draft tokens, in the main model's vocabulary, and the draft's distribution behind each
    (``probs``: (len(tokens), vocab)); ``probs`` None means proposed deterministically."""

    tokens: list[int]
    probs: torch.Tensor | None = None


NO_PROPOSAL = Proposal([])


@dataclass(frozen=True)
class Verdict:
    new_tokens: list[int]  # kept draft prefix + the main model's own next token (no EOT)
    accepted: int  # how many draft tokens were kept
    finished: bool  # the main model chose end-of-text
    # log P of each new token (and of the end-of-text, when finished) under the main model's
    # filtered distribution at temperature 1, as openai-whisper sums them.
    logprobs: list[float]
    # Greedy: the smallest gap between the best and the second filtered logit over the kept
    # positions. Scoring several positions at once rounds differently from one at a time (by
    # up to ~1e-4); a gap that small could tip the choice (see NEAR_TIE). inf when sampling.
    margin: float = float("inf")
    extra_logits: torch.Tensor | None = None  # the raw logits of ``extra_rows``, if asked


# A kept token whose margin is below this was chosen by a hair: float32 rounding differs
# between scoring positions together (verification, batches) and one by one (plain decoding) by
# up to ~1e-4 in logits, so the window is decoded again plainly to be certain (window.py).
NEAR_TIE = 1e-3


def decide(
    logits: torch.Tensor,
    filters: LogitFilters,
    sampled: list[int],
    proposal: Proposal,
    eot: int,
    sampling: Sampling | None = None,
) -> Verdict:
    """What the main model keeps of ``proposal``, from its (len(draft) + 1, vocab) logits at
    the positions after ``sampled`` (this window's tokens so far) and after each draft token."""
    draft = proposal.tokens
    filtered = filters.mask(logits, sampled + draft)
    margin = float("inf")
    if sampling is None:
        choices = argmax_rows(filtered)
        new_tokens, accepted = _accept_greedy(choices, draft, eot)
        margin = min(top_margins(filtered, choices[: len(new_tokens)]))
    else:
        new_tokens, accepted = _accept_sampled(filtered, proposal, eot, sampling)
    logprobs = torch.log_softmax(filtered[: len(new_tokens)], dim=-1)
    token_logprobs = [float(logprobs[i, t]) for i, t in enumerate(new_tokens)]
    finished = eot in new_tokens
    if finished:
        new_tokens = new_tokens[: new_tokens.index(eot)]
    return Verdict(new_tokens, accepted, finished, token_logprobs, margin)


def verify(
    main: LeanDecoder,
    filters: LogitFilters,
    sequence: list[int],
    sampled_from: int,
    proposal: Proposal,
    eot: int,
    sampling: Sampling | None = None,
    extra_rows: list[int] | None = None,
) -> Verdict:
    """Score ``proposal`` after ``sequence`` (prompt + sampled tokens; sampling started at
    index ``sampled_from``) and decide what is kept.

    On entry the main cache holds a prefix of ``sequence``; on exit it holds the new sequence
    minus its last token (whose keys/values the next verification computes anyway).
    ``extra_rows``: positions of ``sequence`` beyond the cache whose raw logits to return too
    (the start-of-transcript position, for P(no speech)).
    """
    draft = proposal.tokens
    pending = sequence[main.length :]
    extra = [row - main.length for row in (extra_rows or [])]
    rows = extra + list(range(len(pending) - 1, len(pending) + len(draft)))
    logits = main.forward(pending + draft, rows)
    verdict = decide(
        logits[len(extra) :], filters, sequence[sampled_from:], proposal, eot, sampling
    )
    main.crop(len(sequence) + len(verdict.new_tokens) - 1)
    if extra:
        verdict = replace(verdict, extra_logits=logits[: len(extra)])
    return verdict


def _accept_greedy(choices: list[int], draft: list[int], eot: int) -> tuple[list[int], int]:
    accepted = 0
    while accepted < len(draft) and draft[accepted] == choices[accepted]:
        accepted += 1
        if draft[accepted - 1] == eot:  # an agreed end-of-text ends the window
            return choices[:accepted], accepted
    return choices[: accepted + 1], accepted


def _accept_sampled(
    filtered: torch.Tensor, proposal: Proposal, eot: int, sampling: Sampling
) -> tuple[list[int], int]:
    p = sampling.distribution(filtered)  # (k + 1, vocab)
    kept: list[int] = []
    for i, token in enumerate(proposal.tokens):
        if proposal.probs is not None:
            q = proposal.probs[i]
            q_token = float(q[token])
        else:
            q, q_token = None, 1.0
        p_token = float(p[i, token])
        if q_token > 0 and sampling.uniform() < min(1.0, p_token / q_token):
            kept.append(token)
            if token == eot:
                return kept, len(kept)
            continue
        # Rejected: draw from the part of p that q does not cover.
        residual = p[i].clone()
        if q is None:
            residual[token] = 0.0
        else:
            residual = torch.clamp(residual - q, min=0.0)
        total = float(residual.sum())
        kept.append(sampling.draw(residual / total) if total > 0 else sampling.draw(p[i]))
        return kept, i
    kept.append(sampling.draw(p[len(proposal.tokens)]))
    return kept, len(proposal.tokens)
