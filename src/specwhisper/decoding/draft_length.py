"""Choose how many tokens to draft from measured acceptance and measured costs.

If each draft token is accepted with probability ``a`` (given the ones before it were), a draft
of k tokens yields on average E(k) = 1 + a + ... + a^k main tokens per verification (the +1 is
the main model's own token). It costs k draft steps plus one verification whose price grows
with k. We pick the k that maximises tokens per second, E(k) / (k * draft_step + verify(k)),
with every quantity measured on this machine as decoding goes. Costs are medians over a recent
window, so one slow call (a page fault, another process) does not swing the choice.
"""

from __future__ import annotations

import statistics
from collections import deque

_WINDOW = 64  # recent verifications that the cost estimates look at
# Forget old acceptance slowly, so the choice follows a drafter that gets better or worse.
_DECAY = 0.97
# With one k seen so far, assume each extra position adds 3% to a verification: the order of
# magnitude of a memory-bound decoder step on CPU and GPU alike, refined once k varies.
_DEFAULT_VERIFY_SLOPE = 0.03
# Every this many rounds, try a neighbour of the best k: without some spread in k the cost
# lines cannot be fitted, and an early mis-estimate would never be corrected.
_EXPLORE_EVERY = 8


def _fit_line(points: list[tuple[int, float]], default_slope) -> tuple[float, float]:
    """(intercept, slope) of seconds against k: weighted least squares through the median time
    of each k seen. With a single k, ``default_slope(mean_k, mean_t)`` gives the slope."""
    by_k: dict[int, list[float]] = {}
    for k, seconds in points:
        by_k.setdefault(k, []).append(seconds)
    medians = [(k, len(times), statistics.median(times)) for k, times in by_k.items()]
    total = sum(n for _, n, _ in medians)
    mean_k = sum(k * n for k, n, _ in medians) / total
    mean_t = sum(t * n for _, n, t in medians) / total
    var_k = sum(n * (k - mean_k) ** 2 for k, n, _ in medians)
    if var_k < 1e-9:
        slope = default_slope(mean_k, mean_t)
    else:
        slope = max(0.0, sum(n * (k - mean_k) * (t - mean_t) for k, n, t in medians) / var_k)
    return max(0.0, mean_t - slope * mean_k), slope


class DraftLengthChooser:
    def __init__(self, max_length: int, fixed: int | None = None, initial: int = 4) -> None:
        self.max_length = max_length
        self.fixed = fixed
        self.initial = min(initial, max_length)
        self.successes = 0.0
        self.failures = 0.0
        self.rounds = 0
        self.drafts: deque[tuple[int, float]] = deque(maxlen=_WINDOW)  # (k, seconds)
        self.verifications: deque[tuple[int, float]] = deque(maxlen=_WINDOW)  # (k, seconds)

    def record(self, k: int, accepted: int, draft_s: float, verify_s: float) -> None:
        """One verification: ``accepted`` of ``k`` draft tokens kept."""
        if k <= 0:
            return
        self.successes = self.successes * _DECAY + accepted
        self.failures = self.failures * _DECAY + (1 if accepted < k else 0)
        self.drafts.append((k, draft_s))
        self.verifications.append((k, verify_s))

    @property
    def acceptance(self) -> float:
        # Laplace smoothing: no data means "a coin flip", not certainty either way.
        return (self.successes + 1) / (self.successes + self.failures + 2)

    def draft_cost(self) -> tuple[float, float]:
        """(per-call, per-token) draft seconds. A call also catches up on the tokens accepted
        since the last one and, across vocabularies, re-tokenizes text: a fixed part."""
        return _fit_line(list(self.drafts), lambda k, t: t / k)

    def verify_cost(self) -> tuple[float, float]:
        """(intercept, slope) of verification seconds against k."""
        return _fit_line(
            list(self.verifications),
            lambda k, t: _DEFAULT_VERIFY_SLOPE * t / (1 + _DEFAULT_VERIFY_SLOPE * k),
        )

    def best_length(self) -> int:
        """The k with the most expected main-model tokens per second."""
        a = min(self.acceptance, 0.999)
        draft_fixed, draft_step = self.draft_cost()
        verify_fixed, verify_step = self.verify_cost()

        def tokens_per_second(k: int) -> float:
            expected = (1 - a ** (k + 1)) / (1 - a)
            seconds = draft_fixed + verify_fixed + k * (draft_step + verify_step)
            return expected / max(seconds, 1e-9)

        return max(range(1, self.max_length + 1), key=tokens_per_second)

    def next_length(self) -> int:
        if self.fixed is not None:
            return self.fixed
        if not self.verifications:
            return self.initial
        self.rounds += 1
        best = self.best_length()
        if len({k for k, _ in self.drafts}) < 2:
            # One k measured: its draft time cannot yet be split into a per-call and a
            # per-token part, and counting it all per token makes long drafts look dear (a
            # fresh Transcriber on a short clip then drafted 1 token at a time). Measure a
            # second length at once.
            return best + 1 if best < self.max_length else best - 1
        if self.rounds % _EXPLORE_EVERY == 0:
            neighbour = best + (1 if (self.rounds // _EXPLORE_EVERY) % 2 else -1)
            return min(max(neighbour, 1), self.max_length)
        return best
