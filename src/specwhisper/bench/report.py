"""Turn timed runs into figures: summary rows, per-clip records, results.json and results.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..evaluation.datasets import Utterance
from ..evaluation.metrics import error_counts, spelling_mapping
from ..models.devices import DEVICE_ENV, gpu_name
from .modes import Plan
from .runner import SystemRun

PACKAGES = ("specwhisper", "torch", "transformers", "tokenizers", "numpy", "jiwer")
PACKAGES += ("ctranslate2", "faster-whisper", "onnxruntime")
# SpecStats fields that say where a specwhisper transcription spends its time.
TIME_FIELDS = ("main_encoder_s", "draft_encoder_s", "drafting_s", "verifying_s")


def summarize(runs: list[SystemRun], utterances: list[Utterance], plan: Plan) -> list[dict]:
    """One row per configuration. Speedup: its main model's generate() greedy total / its total,
    both measured in this run. Exact match: share of clips whose tokens equal that baseline's."""
    by_label = {run.label: run for run in runs}
    references = {u.id: u.text for u in utterances}
    greedy = by_label[plan.greedy].total_seconds if plan.greedy else None
    rows = []
    for run in runs:
        baseline = by_label[plan.baselines[run.system.model]]
        reference = by_label[plan.reference(run.system.model)]
        medians = [c.seconds for c in run.clips]
        audio_s = sum(c.audio_s for c in run.clips)
        row: dict = {
            "system": run.label,
            "model": run.system.model,
            "role": run.system.role,
            "baseline": baseline.label,
            "config": run.system.config,
            "clips": len(run.clips),
            "audio_s": round(audio_s, 3),
            "total_s": round(run.total_seconds, 4),
            "mean_clip_s": round(run.total_seconds / len(run.clips), 4),
            "median_clip_s": round(statistics.median(medians), 4),
            "rtf": round(run.total_seconds / audio_s, 4) if audio_s else None,
            "speedup": round(baseline.total_seconds / run.total_seconds, 4),
            "latency_vs_greedy": round(run.total_seconds / greedy, 4) if greedy else None,
        }
        if run.system.role == "bound":  # transcribes nothing: only its time means anything
            row.update(dict.fromkeys(("wer", "cer", "exact_match", "acceptance")))
            row.update(dict.fromkeys(("tokens_per_verify", "tokens_generated", "remap")))
            row.update(dict.fromkeys(("window_exact", "decode_ms_per_token")))
            row["time_split"] = None
            rows.append(row)
            continue
        counts = [error_counts(references[c.clip], c.outcome.text) for c in run.clips]
        words, chars = sum(e.words for e in counts), sum(e.chars for e in counts)
        same = [
            c.outcome.tokens == b.outcome.tokens
            for c, b in zip(run.clips, reference.clips, strict=True)
        ]
        stats = [c.outcome.stats for c in run.clips if c.outcome.stats]
        drafted = sum(s["tokens_drafted"] for s in stats)
        generated = sum(s["tokens_generated"] for s in stats)
        calls = sum(s["main_forward_calls"] for s in stats)
        row.update(
            wer=round(sum(e.word_edits for e in counts) / words, 4) if words else None,
            cer=round(sum(e.char_edits for e in counts) / chars, 4) if chars else None,
            exact_match=round(sum(same) / len(same), 4),
            acceptance=round(sum(s["tokens_accepted"] for s in stats) / drafted, 4)
            if drafted
            else None,
            tokens_per_verify=round(generated / calls, 4) if drafted and calls else None,
            tokens_generated=sum(len(c.outcome.tokens) for c in run.clips),
            window_exact=_window_exact(run, reference),
            decode_ms_per_token=round(
                1000 * sum(s["drafting_s"] + s["verifying_s"] for s in stats) / generated, 3
            )
            if stats and generated
            else None,
            remap=_sum_remap(stats),
            time_split={
                key: round(sum(s[key] for s in stats) / len(stats), 4) for key in TIME_FIELDS
            }
            if stats
            else None,
        )
        rows.append(row)
    return rows


def _window_exact(run: SystemRun, reference: SystemRun) -> float | None:
    """Share of the reference's windows (all clips) whose tokens this run has identically at
    the same place; None when either side does not report windows."""
    same = total = 0
    for clip, ref in zip(run.clips, reference.clips, strict=True):
        if clip.outcome.windows is None or ref.outcome.windows is None:
            return None
        for seek, tokens in ref.outcome.windows.items():
            total += 1
            same += clip.outcome.windows.get(seek) == tokens
    return round(same / total, 4) if total else None


def _sum_remap(stats: list[dict]) -> dict[str, int] | None:
    total: dict[str, int] = {}
    for s in stats:
        for key, value in (s.get("remap") or {}).items():
            total[key] = total.get(key, 0) + value
    return total or None


def per_clip(runs: list[SystemRun], utterances: list[Utterance], plan: Plan) -> dict:
    """label -> one record per clip: times, transcript, tokens, errors, engine statistics."""
    references = {u.id: u.text for u in utterances}
    by_label = {run.label: run for run in runs}
    records: dict[str, list[dict]] = {}
    for run in runs:
        baseline = by_label[plan.reference(run.system.model)]
        records[run.label] = []
        for clip, base in zip(run.clips, baseline.clips, strict=True):
            errors = error_counts(references[clip.clip], clip.outcome.text)
            bound = run.system.role == "bound"
            records[run.label].append(
                {
                    "clip": clip.clip,
                    "audio_s": round(clip.audio_s, 3),
                    "seconds": round(clip.seconds, 4),
                    "times": [round(t, 4) for t in clip.times],
                    "text": clip.outcome.text,
                    "tokens": clip.outcome.tokens,
                    "exact": None if bound else clip.outcome.tokens == base.outcome.tokens,
                    "word_edits": None if bound else errors.word_edits,
                    "words": errors.words,
                    "char_edits": None if bound else errors.char_edits,
                    "chars": errors.chars,
                    "stats": clip.outcome.stats or None,
                }
            )
    return records


def invocation(args: argparse.Namespace) -> str:
    """The benchmark's own command line rebuilt from its parsed options: exact even when
    ``cli.main(argv)`` is called from Python, where ``sys.argv`` belongs to someone else."""
    words = ["specwhisper", "benchmark", "--mode", args.mode, "--dataset", str(args.dataset)]
    if args.samples is not None:
        words += ["--samples", str(args.samples)]
    if args.model is not None:  # none: the mode's line-up, chosen by what is on the machine
        words += ["--model", args.model]
    if args.draft:
        words += ["--draft", *args.draft]
    words += ["--language", args.language, "--repeats", str(args.repeats)]
    if args.output is not None:
        words += ["--output", str(args.output)]
    if args.threads:
        words += ["--threads", str(args.threads)]
    return shlex.join(words)


def environment(threads: int) -> dict:
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            pass
    spelling = spelling_mapping()
    device = os.environ.get(DEVICE_ENV, "cpu")  # set by run_benchmark for the whole run
    return {
        "command": " ".join([_program(), shlex.join(sys.argv[1:])]).strip(),
        "argv": sys.argv,
        "cwd": os.getcwd(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "device": device,
        "gpu": gpu_name(device),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "normalizer": "transformers EnglishTextNormalizer",
        "spelling_mapping": {"source": spelling.where, "entries": spelling.entries},
    }


def _program() -> str:
    name = Path(sys.argv[0]).name
    return f"python {name}" if name.endswith(".py") else name


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _opt(value: float | None, digits: int = 2, scale: float = 1.0, suffix: str = "") -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}{suffix}"


def markdown_tables(rows: list[dict]) -> str:
    """The main table; then remapping (cross drafts) and where time goes (specwhisper)."""
    vs_greedy = any(r["latency_vs_greedy"] is not None for r in rows)
    windows = any(r.get("window_exact") is not None for r in rows)
    head = "| configuration | total s | ms/clip | RTF | speedup | WER % | CER % | exact |"
    head += " windows exact |" if windows else ""
    memory = any(r.get("peak_rss_mb") for r in rows)
    head += " acceptance | tok/verify | decode ms/token |" + (" × greedy |" if vs_greedy else "")
    head += " peak RSS MiB |" if memory else ""
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        mark = {"baseline": " (baseline)", "bound": " (bound)"}.get(r["role"], "")
        line = (
            f"| {r['system']}{mark} | {r['total_s']:.2f} | {r['mean_clip_s'] * 1000:.0f} | "
            f"{_opt(r['rtf'], 3)} | {r['speedup']:.2f}x | {_opt(r['wer'], 1, 100)} | "
            f"{_opt(r['cer'], 1, 100)} | {_opt(r['exact_match'])} |"
        )
        if windows:
            line += f" {_opt(r.get('window_exact'))} |"
        line += (
            f" {_opt(r['acceptance'])} | {_opt(r['tokens_per_verify'])} |"
            f" {_opt(r.get('decode_ms_per_token'), 1)} |"
        )
        if vs_greedy:
            line += f" {_opt(r['latency_vs_greedy'], 2, suffix='x')} |"
        if memory:
            line += f" {_opt(r.get('peak_rss_mb'), 0)} |"
        lines.append(line)
    text = "\n".join(lines) + "\n"
    remapped = [r for r in rows if r["remap"]]
    if remapped:
        text += "\nCross-vocabulary remapping (draft tokens, all clips; share of remapped):\n\n"
        text += "| configuration | remapped | one-to-many | partial | draft end-of-text |\n"
        text += "|---|---|---|---|---|\n"
        for r in remapped:
            m = r["remap"]
            n = m.get("draft_tokens_remapped", 0)
            cells = [
                f"{m.get(key, 0)} ({m.get(key, 0) / n:.1%})" if n else str(m.get(key, 0))
                for key in ("one_to_many", "partial", "draft_eot")
            ]
            text += f"| {r['system']} | {n} | " + " | ".join(cells) + " |\n"
    # Beam search runs inside generate(): it has no drafting/verifying split to show.
    split = [r for r in rows if r["time_split"] and r["config"].get("beam_size") == 1]
    if split:
        text += "\nWhere specwhisper's time goes (ms per clip, means; other = audio file, log-mel,"
        text += " prompt, Python):\n\n"
        text += "| configuration | encoder | draft encoder | drafting | verifying | other |\n"
        text += "|---|---|---|---|---|---|\n"
        for r in split:
            t = r["time_split"]
            parts = [t[key] * 1000 for key in TIME_FIELDS]
            other = r["mean_clip_s"] * 1000 - sum(parts)
            text += f"| {r['system']} | " + " | ".join(f"{p:.0f}" for p in parts)
            text += f" | {other:.0f} |\n"
    return text


def _command(payload: dict) -> str:
    """The command as typed when a shell ran the benchmark, else the rebuilt one (a test or a
    script called the CLI from Python)."""
    typed = payload["environment"]["command"]
    return typed if " benchmark " in f" {typed} " else payload.get("invocation", typed)


def write_results(output: Path, payload: dict, tables: str) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(payload, indent=1, default=str) + "\n")
    env = payload["environment"]
    header = [
        f"# Benchmark: {payload['mode']}",
        "",
        f"Command: `{_command(payload)}`  ",
        f"CPU: {env['cpu']}, {env['torch_threads']} threads; clips: {payload['clips']} "
        f"({payload['audio_s']:.1f} s of audio); latency: median of {payload['repeats']} "
        "after one warm-up clip, configurations interleaved clip by clip  ",
        "Speedup: the baseline's total / this total (the baseline: transformers "
        "`generate()` greedy of the main model; long form: its sequential long-form "
        "`generate()`); exact: share of clips with the same text tokens as the reference "
        "(that greedy output; long form: specwhisper's own plain greedy), windows exact: share "
        "of the reference's 30 s windows decoded to the same tokens; decode ms/token: drafting "
        "+ verifying per generated token; RTF: seconds per audio second; WER/CER after "
        "Whisper's English normalizer "
        f"(spelling table: {env['spelling_mapping']['source']})",
        "",
    ]
    notes = [f"- {note}" for note in payload["notes"]]
    body = "\n".join(header) + "\n" + tables
    if notes:
        body += "\nNotes:\n\n" + "\n".join(notes) + "\n"
    (output / "results.md").write_text(body)
