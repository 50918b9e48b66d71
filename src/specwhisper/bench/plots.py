"""PNG plots of a benchmark run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from .runner import SystemRun  # noqa: E402


def _short(label: str) -> str:
    return label.replace("specwhisper ", "sw ").replace("transformers ", "hf ")


def plot_speedup(rows: list[dict], path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.5))
    labels = [_short(r["system"]) for r in rows]
    values = [r["speedup"] for r in rows]
    bars = ax.barh(labels, values, color=["#888" if v <= 1.0 else "#2a7" for v in values])
    ax.axvline(1.0, color="k", linewidth=0.8)
    ax.bar_label(bars, labels=[f"{v:.2f}x" for v in values], padding=3)
    ax.set_xlabel("end-to-end speedup vs baseline (x, higher is faster)")
    ax.set_title(title)
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency_vs_wer(rows: list[dict], path: Path, title: str) -> None:
    """Lossless systems share one WER, so points sit on a line: a legend names them, not text
    labels that would overlap."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    markers = "osD^vP*Xhp<>"
    for index, r in enumerate(rows):
        x = r["mean_clip_s"] * 1000
        if r["wer"] is None:  # the encoder floor transcribes nothing: a bound, drawn as a line
            ax.axvline(x, color="#999", linestyle=":", label=f"{_short(r['system'])} (bound)")
            continue
        ax.scatter(
            x,
            r["wer"] * 100,
            s=55,
            marker=markers[index % len(markers)],
            label=_short(r["system"]),
            alpha=0.85,
        )
    top = max((r["wer"] or 0) * 100 for r in rows)
    ax.set_ylim(0, max(1.0, top * 1.4))
    ax.set_xlabel("mean latency per clip (ms)")
    ax.set_ylabel("WER (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_beam(rows: list[dict], beam_sizes: list[int], path: Path, title: str) -> None:
    fig, left = plt.subplots(figsize=(6.5, 4))
    latency = [r["mean_clip_s"] * 1000 for r in rows]
    wer = [r["wer"] * 100 for r in rows]
    left.plot(beam_sizes, latency, "o-", color="#27a", label="latency")
    left.set_xlabel("beam size")
    left.set_ylabel("mean latency per clip (ms)", color="#27a")
    right = left.twinx()
    right.plot(beam_sizes, wer, "s--", color="#c52", label="WER")
    right.set_ylabel("WER (%)", color="#c52")
    left.set_xticks(beam_sizes)
    left.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_acceptance(runs: list[SystemRun], path: Path, title: str) -> bool:
    """Histogram of draft tokens accepted per verification, one series per speculative system."""
    series = {}
    for run in runs:
        accepted = [a for c in run.clips for a in c.outcome.stats.get("accepted_per_verify", [])]
        drafted = [d for c in run.clips for d in c.outcome.stats.get("draft_lengths", [])]
        if accepted and any(drafted):
            series[_short(run.label)] = accepted
    if not series:
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    top = max(max(v) for v in series.values())
    bins = [b - 0.5 for b in range(top + 2)]
    ax.hist(list(series.values()), bins=bins, label=list(series), density=True)
    ax.set_xlabel("draft tokens accepted per verification")
    ax.set_ylabel("fraction of verifications")
    ax.set_xticks(range(top + 1))
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
