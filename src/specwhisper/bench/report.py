"""Turn timed runs into figures (results.json) and a table (results.md)."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

from ..evaluation.datasets import Utterance
from ..evaluation.metrics import character_error_rate, word_error_rate
from .runner import SystemRun


def summarize(runs: list[SystemRun], utterances: list[Utterance], baseline: str) -> list[dict]:
    """One row per system; speedups are against ``baseline`` measured in the same run."""
    by_label = {run.label: run for run in runs}
    base = by_label[baseline]
    references = [u.text for u in utterances]
    rows = []
    for run in runs:
        if run.label.startswith("floor"):
            rows.append(
                {
                    "system": run.label,
                    "total_s": round(run.total_seconds, 4),
                    "mean_clip_s": round(run.total_seconds / len(run.clips), 4),
                    "speedup": round(base.total_seconds / run.total_seconds, 4),
                    "wer": None,
                    "cer": None,
                    "exact_match": None,
                    "acceptance": None,
                    "tokens_per_verify": None,
                    "remap": None,
                }
            )
            continue
        hypotheses = [c.outcome.text for c in run.clips]
        same = [
            c.outcome.tokens == b.outcome.tokens for c, b in zip(run.clips, base.clips, strict=True)
        ]
        stats = [c.outcome.stats for c in run.clips if c.outcome.stats]
        drafted = sum(s.get("tokens_drafted", 0) for s in stats)
        generated = sum(s.get("tokens_generated", 0) for s in stats)
        calls = sum(s.get("main_forward_calls", 0) for s in stats)
        rows.append(
            {
                "system": run.label,
                "total_s": round(run.total_seconds, 4),
                "mean_clip_s": round(run.total_seconds / len(run.clips), 4),
                "speedup": round(base.total_seconds / run.total_seconds, 4),
                "wer": round(word_error_rate(references, hypotheses), 4),
                "cer": round(character_error_rate(references, hypotheses), 4),
                "exact_match": round(sum(same) / len(same), 4),
                "acceptance": round(sum(s.get("tokens_accepted", 0) for s in stats) / drafted, 4)
                if drafted
                else None,
                "tokens_per_verify": round(generated / calls, 4) if calls and drafted else None,
                "remap": _sum_remap(stats),
            }
        )
    return rows


def _sum_remap(stats: list[dict]) -> dict | None:
    total: dict[str, int] = {}
    for s in stats:
        for key, value in (s.get("remap") or {}).items():
            total[key] = total.get(key, 0) + value
    return total or None


def environment(threads: int) -> dict:
    packages = {}
    for name in ("specwhisper", "torch", "transformers", "ctranslate2", "faster-whisper"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            pass
    return {
        "command": " ".join([_program(), *sys.argv[1:]]),
        "python": platform.python_version(),
        "packages": packages,
        "cpu": _cpu_name(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch_threads": threads,
        "cpu_count": os.cpu_count(),
    }


def _program() -> str:
    name = Path(sys.argv[0]).name
    return f"python {name}" if name.endswith(".py") else name


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def markdown_table(rows: list[dict], baseline: str) -> str:
    lines = [
        "| system | total s | s/clip | speedup | WER | CER | exact | acceptance | tok/verify |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = " (baseline)" if r["system"] == baseline else ""
        lines.append(
            f"| {r['system']}{mark} | {r['total_s']:.2f} | {r['mean_clip_s']:.3f} | "
            f"{r['speedup']:.2f}x | {_opt(r['wer'], 3)} | {_opt(r['cer'], 3)} | "
            f"{_opt(r['exact_match'])} | "
            f"{_opt(r['acceptance'])} | {_opt(r['tokens_per_verify'])} |"
        )
    return "\n".join(lines) + "\n"


def _opt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def write_results(output: Path, payload: dict, table: str) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(payload, indent=1, default=str))
    header = f"Command: `{payload['environment']['command']}`  \n"
    header += (
        f"CPU: {payload['environment']['cpu']}, {payload['environment']['torch_threads']}"
        f" threads; clips: {payload['clips']}; repeats: {payload['repeats']}\n\n"
    )
    (output / "results.md").write_text(header + table)
