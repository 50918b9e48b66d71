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
_DEFAULT_SLOPE = 0.03


class DraftLengthChooser:
    def __init__(self, max_length: int, fixed: int | None = None, initial: int = 4) -> None:
        self.max_length = max_length
        self.fixed = fixed
        self.initial = min(initial, max_length)
        self.successes = 0.0
        self.failures = 0.0
        self.draft_steps: deque[float] = deque(maxlen=_WINDOW)  # seconds per draft token
        self.verifications: deque[tuple[int, float]] = deque(maxlen=_WINDOW)  # (k, seconds)

    def record(self, k: int, accepted: int, draft_s: float, verify_s: float) -> None:
        """One verification: ``accepted`` of ``k`` draft tokens kept."""
        if k <= 0:
            return
        self.successes = self.successes * _DECAY + accepted
        self.failures = self.failures * _DECAY + (1 if accepted < k else 0)
        self.draft_steps.append(draft_s / k)
        self.verifications.append((k, verify_s))

    @property
    def acceptance(self) -> float:
        # Laplace smoothing: no data means "a coin flip", not certainty either way.
        return (self.successes + 1) / (self.successes + self.failures + 2)

    def verify_cost(self) -> tuple[float, float]:
        """(intercept, slope) of verification seconds against k: a weighted least-squares line
        through the median time of each k seen."""
        by_k: dict[int, list[float]] = {}
        for k, seconds in self.verifications:
            by_k.setdefault(k, []).append(seconds)
        points = [(k, len(times), statistics.median(times)) for k, times in by_k.items()]
        total = sum(n for _, n, _ in points)
        mean_k = sum(k * n for k, n, _ in points) / total
        mean_t = sum(t * n for _, n, t in points) / total
        var_k = sum(n * (k - mean_k) ** 2 for k, n, _ in points)
        if var_k < 1e-9:
            slope = _DEFAULT_SLOPE * mean_t / (1 + _DEFAULT_SLOPE * mean_k)
        else:
            slope = max(0.0, sum(n * (k - mean_k) * (t - mean_t) for k, n, t in points) / var_k)
        return max(1e-6, mean_t - slope * mean_k), slope

    def next_length(self) -> int:
        if self.fixed is not None:
            return self.fixed
        if not self.verifications:
            return self.initial
        a = min(self.acceptance, 0.999)
        step = statistics.median(self.draft_steps)
        intercept, slope = self.verify_cost()

        def tokens_per_second(k: int) -> float:
            expected = (1 - a ** (k + 1)) / (1 - a)
            return expected / (k * step + intercept + slope * k)

        return max(range(1, self.max_length + 1), key=tokens_per_second)
