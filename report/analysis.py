"""Analysis of per-clip engine statistics: totals over clips, the cost model of the report's
Section 4, and per-clip latency fits."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from report.results import Run


@dataclass
class EngineTotals:
    clips: int
    calls: int
    generated: int
    drafted: int
    accepted: int
    failures: int  # verifications that rejected a draft token
    rounds_with_draft: int
    mean_k: float | None
    drafting_s: float
    verifying_s: float

    @property
    def p_token(self) -> float | None:
        """Per-token acceptance as the draft-length chooser estimates it (no decay):
        accepted / (accepted + rejections); a draft token's chance of being kept given that
        the ones before it were."""
        n = self.accepted + self.failures
        return self.accepted / n if self.drafted and n else None

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.drafted if self.drafted else None

    @property
    def tokens_per_verify(self) -> float:
        return self.generated / self.calls

    @property
    def draft_s_per_token(self) -> float | None:
        return self.drafting_s / self.drafted if self.drafted else None

    @property
    def verify_s_per_call(self) -> float:
        return self.verifying_s / self.calls


def engine_totals(records: list[dict]) -> EngineTotals:
    stats = [r["stats"] for r in records if r.get("stats")]
    if not stats:
        raise ValueError("no engine statistics in these per-clip records")
    pairs = [
        (k, a)
        for s in stats
        for k, a in zip(s["draft_lengths"], s["accepted_per_verify"], strict=True)
        if k
    ]
    return EngineTotals(
        clips=len(stats),
        calls=sum(s["main_forward_calls"] for s in stats),
        generated=sum(s["tokens_generated"] for s in stats),
        drafted=sum(s["tokens_drafted"] for s in stats),
        accepted=sum(s["tokens_accepted"] for s in stats),
        failures=sum(1 for k, a in pairs if a < k),
        rounds_with_draft=len(pairs),
        mean_k=statistics.mean(k for k, _ in pairs) if pairs else None,
        drafting_s=sum(s["drafting_s"] for s in stats),
        verifying_s=sum(s["verifying_s"] for s in stats),
    )


def expected_tokens(a: float, k: float) -> float:
    """E(k) = 1 + a + ... + a^k: main-model tokens per verification of a k-token draft."""
    return k + 1 if a >= 1 else (1 - a ** (k + 1)) / (1 - a)


@dataclass
class CostModel:
    """The cost model of the report's Section 4, filled with one run's measurements."""

    p: float  # per-token acceptance
    k: float  # mean draft length
    e_k: float  # E(k) predicted
    tpv: float  # measured tokens per verification
    c1: float  # s per plain greedy step (our loop, no draft)
    cd: float  # s per drafted token
    cv: float  # s per verification
    dec_plain: float  # s per clip decoding, no draft
    dec_spec: float  # s per clip drafting + verifying
    draft_enc: float  # s per clip draft encoder
    clip_plain: float  # s per clip end to end, no draft
    clip_spec: float  # s per clip end to end, with this draft

    @property
    def dec_speedup_model(self) -> float:
        return self.e_k * self.c1 / (self.k * self.cd + self.cv)

    @property
    def dec_speedup(self) -> float:
        return self.dec_plain / self.dec_spec

    @property
    def e2e_model(self) -> float:
        """End-to-end speedup over our plain loop if decoding shrank by the model's factor."""
        fixed = self.clip_plain - self.dec_plain
        return self.clip_plain / (fixed + self.draft_enc + self.dec_plain / self.dec_speedup_model)

    @property
    def e2e(self) -> float:
        return self.clip_plain / self.clip_spec

    @property
    def e2e_bound(self) -> float:
        """Over our plain loop, with decoding free and no draft encoder: the encoder floor."""
        return self.clip_plain / (self.clip_plain - self.dec_plain)


def cost_model(run: Run, plain_row: dict, draft_row: dict) -> CostModel:
    plain = engine_totals(run.clips(plain_row))
    spec = engine_totals(run.clips(draft_row))
    split_plain, split_spec = plain_row["time_split"], draft_row["time_split"]
    return CostModel(
        p=spec.p_token,
        k=spec.mean_k,
        e_k=expected_tokens(spec.p_token, spec.mean_k),
        tpv=spec.tokens_per_verify,
        c1=plain.verify_s_per_call,
        cd=spec.draft_s_per_token,
        cv=spec.verify_s_per_call,
        dec_plain=split_plain["drafting_s"] + split_plain["verifying_s"],
        dec_spec=split_spec["drafting_s"] + split_spec["verifying_s"],
        draft_enc=split_spec["draft_encoder_s"],
        clip_plain=plain_row["mean_clip_s"],
        clip_spec=draft_row["mean_clip_s"],
    )


def clip_tokens(record: dict) -> int:
    return len(record["tokens"])


def latency_fit(run: Run, row: dict, tokens_from: dict) -> tuple[float, float]:
    """(intercept s, slope s/token) of per-clip latency against the clip's token count
    (``tokens_from``: the row whose transcripts count the tokens, i.e. the baseline)."""
    import numpy as np

    counts = [clip_tokens(r) for r in run.clips(tokens_from)]
    seconds = [r["seconds"] for r in run.clips(row)]
    slope, intercept = np.polyfit(counts, seconds, 1)
    return float(intercept), float(slope)


def per_clip_speedups(run: Run, row: dict, baseline: dict) -> list[float]:
    pairs = zip(run.clips(baseline), run.clips(row), strict=True)
    return [b["seconds"] / r["seconds"] for b, r in pairs]
