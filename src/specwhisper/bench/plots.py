"""PNG plots of a benchmark run. No display needed: without one, pyplot falls back to Agg by
itself; the backend is not forced here, because forcing it on import would also switch off
inline plots in a notebook that imports this module."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from .runner import SystemRun

_DPI = 120
_MARKERS = "osD^vP*Xhp<>"


def short(label: str) -> str:
    """Labels as plots show them: the engine name shortened, the rest kept."""
    return label.replace("specwhisper ", "sw ").replace("transformers ", "hf ")


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)


def plot_speedup(rows: list[dict], path: Path, title: str) -> None:
    """One bar per configuration; an encoder-only bound, if measured, as a dashed line."""
    bars = [r for r in rows if r["role"] != "bound"]
    bounds = [r for r in rows if r["role"] == "bound"]
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * len(bars) + 1.6))
    values = [r["speedup"] for r in bars]
    colors = [
        "#777" if r["role"] == "baseline" else "#2a7" if v > 1 else "#c63"
        for r, v in zip(bars, values, strict=True)
    ]
    drawn = ax.barh([short(r["system"]) for r in bars], values, color=colors)
    ax.bar_label(drawn, labels=[f"{v:.2f}x" for v in values], padding=3, fontsize=8)
    ax.axvline(1.0, color="k", linewidth=0.8)
    right = max(values)
    for r in bounds:
        ax.axvline(r["speedup"], color="#36c", linestyle="--", linewidth=1)
        ax.text(
            r["speedup"],
            len(bars) - 0.5,
            f"encoder-only bound {r['speedup']:.2f}x ",
            color="#36c",
            fontsize=8,
            ha="right",
            va="bottom",
        )
        right = max(right, r["speedup"])
    ax.set_xlim(0, right * 1.25)
    ax.set_ylim(len(bars) - 0.4 + 0.5 * bool(bounds), -0.6)
    ax.set_xlabel("speedup vs transformers generate() greedy, same clips (x, higher is faster)")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def plot_latency_vs_wer(rows: list[dict], path: Path, title: str) -> None:
    """Exact systems share one WER, so their points sit on one line: a legend names them,
    not text labels that would overlap."""
    fig, ax = plt.subplots(figsize=(8, 4.6))
    points = [r for r in rows if r["wer"] is not None]
    for index, r in enumerate(points):
        ax.scatter(
            r["mean_clip_s"] * 1000,
            r["wer"] * 100,
            s=60,
            alpha=0.85,
            marker=_MARKERS[index % len(_MARKERS)],
            label=short(r["system"]),
        )
    for r in rows:
        if r["role"] == "bound":
            ax.axvline(
                r["mean_clip_s"] * 1000,
                color="#999",
                linestyle=":",
                label=f"{short(r['system'])} (bound)",
            )
    top = max((r["wer"] * 100 for r in points), default=1.0)
    ax.set_ylim(0, max(1.0, top * 1.3))
    ax.set_xlim(left=0)
    ax.set_xlabel("mean latency per clip (ms, end to end)")
    ax.set_ylabel("WER (%, normalized)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    _save(fig, path)


def plot_beam(rows: list[dict], path: Path, title: str) -> bool:
    """Latency and WER against beam size (specwhisper rows that name a beam size)."""
    chosen = [
        r for r in rows if r["config"].get("engine") == "specwhisper" and "beam=" in r["system"]
    ]
    beams = [
        (r["config"]["beam_size"], r)
        for r in sorted(chosen, key=lambda r: r["config"]["beam_size"])
    ]
    if not beams:
        return False
    sizes = [b for b, _ in beams]
    fig, left = plt.subplots(figsize=(6.8, 4.2))
    latency = left.plot(
        sizes, [r["mean_clip_s"] * 1000 for _, r in beams], "o-", color="#27a", label="latency"
    )
    left.set_xlabel("beam size (1 = greedy)")
    left.set_ylabel("mean latency per clip (ms)", color="#27a")
    left.set_ylim(bottom=0)
    left.set_xticks(sizes)
    right = left.twinx()
    wer = right.plot(sizes, [r["wer"] * 100 for _, r in beams], "s--", color="#c52", label="WER")
    right.set_ylabel("WER (%, normalized)", color="#c52")
    right.set_ylim(0, max(1.0, max(r["wer"] * 100 for _, r in beams) * 1.4))
    left.legend(handles=latency + wer, loc="lower right", fontsize=8)
    left.grid(alpha=0.3)
    left.set_title(title, fontsize=10)
    _save(fig, path)
    return True


def plot_acceptance(runs: list[SystemRun], path: Path, title: str) -> bool:
    """Distribution of draft tokens accepted per verification: one panel per drafter (small
    multiples stay readable where 5 series of grouped bars do not)."""
    series: dict[str, list[int]] = {}
    for run in runs:
        stats = [c.outcome.stats for c in run.clips if c.outcome.stats]
        accepted = [a for s in stats for a in s.get("accepted_per_verify", [])]
        if accepted and any(d for s in stats for d in s.get("draft_lengths", [])):
            series[short(run.label)] = accepted
    if not series:
        return False
    top = max(max(v) for v in series.values())
    fig, axes = plt.subplots(
        len(series), 1, sharex=True, squeeze=False, figsize=(7.5, 1.35 * len(series) + 1.3)
    )
    for ax, (label, accepted) in zip(axes[:, 0], series.items(), strict=True):
        shares = [accepted.count(n) / len(accepted) for n in range(top + 1)]
        ax.bar(range(top + 1), shares, color="#27a", width=0.8)
        mean = sum(accepted) / len(accepted)
        ax.set_title(
            f"{label}: {len(accepted)} verifications, mean {mean:.1f} accepted",
            fontsize=8,
            loc="left",
        )
        ax.set_ylim(0, 1)
        ax.set_yticks([0, 0.5, 1])
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[-1, 0].set_xticks(range(top + 1))
    axes[-1, 0].set_xlabel("draft tokens accepted per verification (count)")
    fig.supylabel("share of verifications", fontsize=9)
    fig.suptitle(title, fontsize=10)
    _save(fig, path)
    return True


def plot_all(rows: list[dict], runs: list[SystemRun], output: Path, title: str) -> list[str]:
    """Every plot that applies to this run; returns their file names."""
    plot_speedup(rows, output / "speedup.png", title)
    plot_latency_vs_wer(rows, output / "latency_vs_wer.png", title)
    names = ["speedup.png", "latency_vs_wer.png"]
    if plot_beam(rows, output / "beam.png", title):
        names.append("beam.png")
    if plot_acceptance(runs, output / "acceptance.png", title):
        names.append("acceptance.png")
    return names
