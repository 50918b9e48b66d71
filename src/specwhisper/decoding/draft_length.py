"""Choose how many tokens to draft from measured acceptance and measured costs.

If each draft token is accepted with probability ``a`` (given the ones before it were), a draft
of k tokens yields on average E(k) = 1 + a + ... + a^k main tokens per verification (the +1 is
the main model's own token). It costs k draft steps plus one verification whose price grows
with k. We pick the k that maximises tokens per second, E(k) / (k * draft_step + verify(k)),
with every quantity measured on this machine as decoding goes.
"""

from __future__ import annotations

from collections import defaultdict

# Forget old measurements slowly, so the choice follows a drafter that gets better or worse.
_DECAY = 0.97


class DraftLengthChooser:
    def __init__(self, max_length: int, fixed: int | None = None, initial: int = 4) -> None:
        self.max_length = max_length
        self.fixed = fixed
        self.initial = min(initial, max_length)
        self.successes = 0.0
        self.failures = 0.0
        self.draft_step_s: float | None = None
        # Per draft length: decayed (count, total seconds) of verifications.
        self.verify_by_k: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])

    # -- measurements --------------------------------------------------------------------------
    def record(self, k: int, accepted: int, draft_s: float, verify_s: float) -> None:
        """One verification: ``accepted`` of ``k`` draft tokens kept."""
        if k <= 0:
            return
        self.successes = self.successes * _DECAY + accepted
        self.failures = self.failures * _DECAY + (1 if accepted < k else 0)
        step = draft_s / k
        self.draft_step_s = (
            step if self.draft_step_s is None else 0.8 * self.draft_step_s + 0.2 * step
        )
        for bucket in self.verify_by_k.values():
            bucket[0] *= _DECAY
            bucket[1] *= _DECAY
        self.verify_by_k[k][0] += 1
        self.verify_by_k[k][1] += verify_s

    @property
    def acceptance(self) -> float:
        # Laplace smoothing: no data means "a coin flip", not certainty either way.
        return (self.successes + 1) / (self.successes + self.failures + 2)

    def verify_cost(self) -> tuple[float, float]:
        """(intercept, slope) of verification seconds against k, by weighted least squares."""
        points = [(k, c, s / c) for k, (c, s) in self.verify_by_k.items() if c > 1e-3]
        total = sum(c for _, c, _ in points)
        mean_k = sum(k * c for k, c, _ in points) / total
        mean_t = sum(t * c for _, c, t in points) / total
        var_k = sum(c * (k - mean_k) ** 2 for k, c, _ in points)
        if var_k < 1e-6:
            # One k seen so far: assume each extra position costs 3% of a verification, the
            # order of magnitude of a batched decoder step on CPU and GPU alike.
            slope = 0.03 * mean_t / (1 + 0.03 * mean_k)
        else:
            slope = max(0.0, sum(c * (k - mean_k) * (t - mean_t) for k, c, t in points) / var_k)
        return max(1e-6, mean_t - slope * mean_k), slope

    # -- decision ------------------------------------------------------------------------------
    def next_length(self) -> int:
        if self.fixed is not None:
            return self.fixed
        if self.draft_step_s is None or not self.verify_by_k:
            return self.initial
        a = min(self.acceptance, 0.999)
        intercept, slope = self.verify_cost()

        def tokens_per_second(k: int) -> float:
            expected = (1 - a ** (k + 1)) / (1 - a)
            return expected / (k * self.draft_step_s + intercept + slope * k)

        return max(range(1, self.max_length + 1), key=tokens_per_second)
