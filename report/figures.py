"""The report's figures (``generated/fig_*.pdf``): matplotlib, vector PDF.

matplotlib is imported only when a figure is drawn, so that the tables and macros can be
generated (and tested) without it.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from report.analysis import (
    clip_tokens,
    engine_totals,
    expected_tokens,
    latency_fit,
    per_clip_speedups,
)
from report.formatting import display_name, short_name
from report.results import MODES, Run

_WIDTH = 6.3  # inches: the text width of the report, so 8 pt here is 8 pt on paper
_PARTS = {  # time-split field -> (legend name, colour)
    "main_encoder_s": ("encoder", "#4c72b0"),
    "draft_encoder_s": ("draft encoder", "#8172b2"),
    "drafting_s": ("drafting", "#dd8452"),
    "verifying_s": ("verifying", "#55a868"),
    "other": ("other", "#bbbbbb"),
}
_MARKERS = "osD^vP*XhH<>"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 8,
            "axes.titlesize": 8,
            "axes.labelsize": 8,
            "legend.fontsize": 7,
            "xtick.labelsize": 7.5,
            "ytick.labelsize": 7.5,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "pdf.fonttype": 42,
            "figure.constrained_layout.use": True,
            "figure.constrained_layout.h_pad": 0.03,
            "figure.constrained_layout.w_pad": 0.03,
        }
    )
    return plt


def _save(fig, path: Path) -> Path:
    # No creation date: an unchanged input gives a byte-identical file.
    fig.savefig(path, metadata={"CreationDate": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _bar_color(row: dict) -> str:
    engine = (row.get("config") or {}).get("engine")
    if row.get("role") == "baseline":
        return "#888888"
    if row.get("role") == "bound":
        return "#c8d7ea"
    return {"specwhisper": "#4c72b0", "faster-whisper": "#dd8452"}.get(engine, "#c44e52")


def fig_speedup(run: Run, path: Path) -> Path | None:
    if not run.ok:
        return None
    plt = _plt()
    rows = run.rows
    fig, ax = plt.subplots(figsize=(_WIDTH, 0.2 * len(rows) + 0.55))
    names = [display_name(r) for r in rows]
    values = [r["speedup"] for r in rows]
    bars = ax.barh(names, values, color=[_bar_color(r) for r in rows], height=0.7)
    ax.bar_label(bars, labels=[f"{v:.2f}×" for v in values], padding=2, fontsize=7)
    ax.axvline(1.0, color="k", linewidth=0.7)
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.12)
    ax.set_xlabel("speedup over transformers generate() greedy, same run (higher is faster)")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def _split_bars(ax, run: Run) -> None:
    rows = [
        r
        for r in run.rows
        if (r.get("config") or {}).get("beam_size", 1) == 1 or r.get("role") == "bound"
    ]
    totals = [r["mean_clip_s"] * 1000 for r in rows]
    for i, (r, total) in enumerate(zip(rows, totals, strict=True)):
        split = r.get("time_split")
        if not split:
            ax.barh(
                i,
                total,
                color="white",
                edgecolor="#777777",
                hatch="////",
                height=0.65,
                linewidth=0.5,
            )
        else:
            parts = {k: split[k] * 1000 for k in list(_PARTS)[:-1]}
            parts["other"] = total - sum(parts.values())
            left = 0.0
            for key, value in parts.items():
                ax.barh(i, value, left=left, color=_PARTS[key][1], height=0.65)
                left += value
        ax.text(total + 6, i, f"{total:.0f}", va="center", fontsize=6.5, clip_on=False)
    ax.set_yticks(range(len(rows)), [short_name(r) for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, max(totals) * 1.1)
    ax.set_ylabel(f"{run.mode} run")
    ax.grid(axis="x", alpha=0.3)


def fig_timesplit(spec: Run, cross: Run, path: Path) -> Path | None:
    panels = [run for run in (spec, cross) if run.ok]
    if not panels:
        return None
    plt = _plt()
    sizes = [len(run.rows) for run in panels]
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(_WIDTH, 0.17 * sum(sizes) + 0.55 * len(panels) + 0.3),
        gridspec_kw={"height_ratios": sizes},
        squeeze=False,
        sharex=True,
    )
    for ax, run in zip(axes[:, 0], panels, strict=True):
        _split_bars(ax, run)
    axes[-1, 0].set_xlabel("ms per clip (mean over clips); hatched: total only, not split")
    handles = [plt.Rectangle((0, 0), 1, 1, color=color) for _, color in _PARTS.values()]
    handles.append(
        plt.Rectangle(
            (0, 0), 1, 1, facecolor="white", edgecolor="#777777", hatch="////", linewidth=0.5
        )
    )
    labels = [name for name, _ in _PARTS.values()] + ["not split"]
    fig.legend(handles, labels, loc="outside upper center", ncol=6, frameon=False)
    return _save(fig, path)


def fig_acceptance(spec: Run, cross: Run, path: Path) -> Path | None:
    """Tokens per verification and acceptance against k: the cross run's fixed-k sweep, every
    adaptive configuration at its mean k, and E(k) with the measured per-token acceptance."""
    if not cross.ok and not spec.ok:
        return None
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(_WIDTH, 3.0))
    ks = [x / 4 for x in range(0, 4 * 16 + 1)]
    entries: list[tuple] = []  # (handle, label), in legend order
    sweep = "#dd8452"
    if cross.ok:
        fixed = [
            r
            for r in cross.rows
            if r["model"] == cross.data["model"]
            and isinstance((r.get("config") or {}).get("draft_length"), int)
        ]
        if fixed:
            kk = [r["config"]["draft_length"] for r in fixed]
            totals = [engine_totals(cross.clips(r)) for r in fixed]
            a = statistics.mean(t.p_token for t in totals)
            (h1,) = left.plot(kk, [r["tokens_per_verify"] for r in fixed], "o-", color=sweep)
            (h2,) = left.plot(ks, [expected_tokens(a, k) for k in ks], ":", color=sweep)
            (h3,) = right.plot(kk, [r["acceptance"] for r in fixed], "o-", color=sweep)
            (h4,) = right.plot(kk, [t.p_token for t in totals], "o--", color=sweep, mfc="white")
            entries += [
                (h1, "cross, fixed k (left: tok/verify; right: accepted/drafted)"),
                (h4, "cross, fixed k: per-token â"),
                (h2, f"E(k), â = {a:.2f} (cross, fixed k)"),
            ]
    colors = ["#4c72b0", "#55a868", "#c44e52", "#8172b2", "#937860"]
    i = 0
    for run in (spec, cross):
        if not run.ok:
            continue
        for r in run.rows:
            config = r.get("config") or {}
            if r.get("acceptance") is None or config.get("beam_size", 1) != 1:
                continue
            if config.get("draft_length") != "adaptive":
                continue
            t = engine_totals(run.clips(r))
            color, marker = colors[i % len(colors)], "D^vsP"[i % 5]
            i += 1
            name = f"{short_name(r).replace('draft ', '')} ({run.mode}), adaptive"
            (h,) = left.plot([t.mean_k], [r["tokens_per_verify"]], marker, color=color, ms=6)
            right.plot([t.mean_k], [r["acceptance"]], marker, color=color, ms=6)
            entries.append((h, name))
            if run.mode == "speculative" and t.p_token is not None:
                (e,) = left.plot(
                    ks, [expected_tokens(t.p_token, k) for k in ks], ":", color=color, lw=0.9
                )
                entries.append((e, f"E(k), â = {t.p_token:.2f}"))
    if not entries:
        return None
    (h,) = left.plot(ks, [k + 1 for k in ks], color="#cccccc", linewidth=0.8)
    entries.append((h, "k + 1: every draft token kept"))
    left.set_ylabel("main tokens per verification")
    left.set_ylim(0, 10)
    right.set_ylabel("acceptance")
    right.set_ylim(0, 1.05)
    for ax in (left, right):
        ax.set_xlabel("draft length k (adaptive: mean k)")
        ax.set_xlim(0, 16)
        ax.grid(alpha=0.3)
    handles, labels = zip(*entries, strict=True)
    fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False, fontsize=6.5)
    return _save(fig, path)


def fig_beam(run: Run, path: Path) -> Path | None:
    if not run.ok:
        return None
    beams = sorted(
        (r for r in run.rows if (r.get("config") or {}).get("draft") == "none"),
        key=lambda r: r["config"]["beam_size"],
    )
    if not beams:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(_WIDTH * 0.75, 2.3))
    sizes = [r["config"]["beam_size"] for r in beams]
    ax.plot(
        sizes,
        [r["mean_clip_s"] * 1000 for r in beams],
        "o-",
        color="#4c72b0",
        label="latency, specwhisper no draft",
    )
    for r in run.rows:
        # Greedy references, drawn at beam size 1: (marker, colour, legend label).
        references = []
        if (r.get("config") or {}).get("drafter") == "self-int8":
            references.append(("D", "#55a868", "latency, greedy with self-int8"))
        if r.get("role") == "baseline":
            references.append(("s", "#888888", "latency, generate() greedy"))
        for marker, color, label in references:
            ax.plot([1], [r["mean_clip_s"] * 1000], marker, color=color, label=label)
    ax.set_xlabel("beam size")
    ax.set_ylabel("ms per clip")
    ax.set_xticks(sizes)
    ax.set_ylim(0, max(r["mean_clip_s"] for r in run.rows) * 1000 * 1.1)
    twin = ax.twinx()
    twin.spines["right"].set_visible(True)
    twin.plot(
        sizes,
        [r["wer"] * 100 for r in beams],
        "s--",
        color="#c44e52",
        mfc="white",
        label="WER (right axis)",
    )
    twin.set_ylabel("WER %")
    twin.set_ylim(0, max(r["wer"] for r in beams) * 100 * 1.25)
    handles, labels = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    fig.legend(handles + more[0], labels + more[1], loc="outside right center", frameon=False)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def fig_latency_wer(beam: Run, peers: Run, path: Path) -> Path | None:
    """WER against latency relative to generate() in the same run: both runs on one axis."""
    runs = [run for run in (peers, beam) if run.ok]
    if not runs:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(_WIDTH, 2.5))
    i = 0
    seen_baseline = False
    for run in runs:
        for r in run.rows:
            if r.get("wer") is None:
                continue
            if r.get("role") == "baseline":
                if seen_baseline:
                    continue
                seen_baseline = True
                name = display_name(r)
            else:
                name = f"{display_name(r)} ({run.mode})"
            ax.plot(
                1 / r["speedup"],
                r["wer"] * 100,
                _MARKERS[i % len(_MARKERS)],
                color=f"C{i % 10}",
                label=name,
                markersize=5,
                alpha=0.85,
            )
            i += 1
    ax.axvline(1.0, color="k", linewidth=0.6)
    ax.set_xlabel("latency relative to generate() greedy in the same run (lower is faster)")
    ax.set_ylabel("WER %")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right center", frameon=False, fontsize=6.3)
    return _save(fig, path)


def fig_perclip(run: Run, path: Path) -> Path | None:
    """Per-clip latency and speedup against the number of text tokens in the clip."""
    if not run.ok:
        return None
    base = run.find(role="baseline")
    if base is None:
        return None
    import numpy as np

    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(_WIDTH, 2.8))
    counts = [clip_tokens(r) for r in run.clips(base)]
    span = np.linspace(0, max(counts) * 1.05, 50)
    for i, r in enumerate(run.rows):
        seconds = [c["seconds"] * 1000 for c in run.clips(r)]
        color = "#888888" if r.get("role") == "baseline" else f"C{i}"
        marker = _MARKERS[i % len(_MARKERS)]
        left.plot(
            counts, seconds, marker, color=color, markersize=2.5, alpha=0.8, label=display_name(r)
        )
        intercept, slope = latency_fit(run, r, base)
        left.plot(span, (intercept + slope * span) * 1000, "-", color=color, linewidth=0.7)
        if r.get("role") in ("baseline", "bound"):
            continue
        right.plot(
            counts, per_clip_speedups(run, r, base), marker, color=color, markersize=2.5, alpha=0.8
        )
    left.set_ylabel("ms per clip (median of repeats)")
    left.set_ylim(bottom=0)
    right.axhline(1.0, color="k", linewidth=0.6)
    right.set_ylabel("speedup over generate(), per clip")
    for ax in (left, right):
        ax.set_xlabel("text tokens in the clip")
        ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncol=3, frameon=False)
    return _save(fig, path)


def write_figures(runs: dict[str, Run], out: Path) -> list[Path]:
    spec, cross, beam, peers = (runs[m] for m in MODES)
    made = [
        fig_speedup(spec, out / "fig_speedup_speculative.pdf"),
        fig_speedup(peers, out / "fig_speedup_peers.pdf"),
        fig_timesplit(spec, cross, out / "fig_timesplit.pdf"),
        fig_acceptance(spec, cross, out / "fig_acceptance.pdf"),
        fig_beam(beam, out / "fig_beam.pdf"),
        fig_latency_wer(beam, peers, out / "fig_latency_wer.pdf"),
        fig_perclip(spec, out / "fig_perclip.pdf"),
    ]
    return [p for p in made if p is not None]
