"""`specwhisper benchmark --mode MODE`: speculative vs plain, cross-vocabulary, beam, peers."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ..evaluation.datasets import DEFAULT_DEV_SET, LONG_DEV_SET
from . import MODES

# torch, transformers and matplotlib load inside run_benchmark: building the CLI parser must
# stay light (`specwhisper --help`, and `serve` sets OpenMP's wait policy before torch loads).

RESULTS_ROOT = Path("bench/results")


def add_benchmark_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "benchmark",
        help="compare decoding configurations on the same clips in one run",
        description="Time configurations on the same clips, interleaved, and report latency, "
        "speedup against transformers' generate() greedy, WER/CER and exactness.",
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="speculative",
        help="speculative: drafters vs plain greedy (the original's large-v2 <- tiny, base, "
        "distil-large-v2 when those weights are here, else bundled base <- self-int8, tiny.en, "
        "base); cross: cross-vocabulary drafting and a draft-length sweep; v3: the same for "
        "large-v3 <- tiny when those weights are here, else for the bundled cross-vocabulary "
        "pair base <- tiny.en; beam: beam sizes 1-5; peers: transformers assisted generation "
        "and faster-whisper; longform: whole long files with timestamps against transformers' "
        "long-form generate() and faster-whisper; batch: throughput at batch sizes 1-16 on "
        "the dev set and on VAD chunks of the long files. A note says which line-up ran and "
        "why (default: speculative)",
    )
    parser.add_argument(
        "--dataset",
        default=None,
        help="manifest .jsonl, folder of audio + .txt, or hf:NAME[:split] "
        "(default: the committed dev set; longform: the committed long files)",
    )
    parser.add_argument("--samples", type=int, default=None, help="first N clips only")
    parser.add_argument(
        "--model",
        default=None,
        help="main model (default: the mode's line-up, see --mode; base otherwise)",
    )
    parser.add_argument(
        "--draft",
        nargs="+",
        default=None,
        metavar="NAME",
        help="drafters to compare in speculative/cross modes (default: self-int8, tiny.en and "
        "the main model itself; cross: tiny.en)",
    )
    parser.add_argument(
        "--language",
        default="en",
        help="language given to every configuration (default: en, the dev set's); "
        "'auto' lets each detect it",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per clip; latency is their median"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"results folder (default: {RESULTS_ROOT}/<mode>-<YYYYmmdd-HHMMSS>)",
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument(
        "--batch-sizes",
        default=None,
        help="batch mode: comma-separated batch sizes (default 1,2,4,8,16)",
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="skip measuring each configuration's peak resident memory (a fresh process per "
        "configuration transcribing the longest clip once)",
    )
    parser.add_argument(
        "--device",
        default=None,
        help="where every system's models compute: auto (a GPU when PyTorch sees one), cpu, "
        "cuda or cuda:N (default: $SPECWHISPER_DEVICE, else auto); configurations that need "
        "the CPU (int8) are skipped on a GPU, with a note",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run_benchmark)


def _peak_gpu_mb() -> float | None:
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return round(torch.cuda.max_memory_allocated() / 2**20, 1)


def run_benchmark(args: argparse.Namespace) -> int:
    import torch

    from ..evaluation.datasets import load_dataset
    from ..models.devices import DEVICE_ENV, gpu_name, resolve_device
    from .modes import build_plan
    from .plots import plot_all
    from .report import (
        environment,
        invocation,
        markdown_tables,
        per_clip,
        summarize,
        write_results,
    )
    from .runner import run_systems

    if args.repeats < 1:
        raise SystemExit(f"error: --repeats must be at least 1, not {args.repeats}")
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    # Every system of the run loads its models through load_model(), which reads this.
    os.environ[DEVICE_ENV] = resolve_device(args.device)
    started = time.strftime("%Y%m%d-%H%M%S")
    if args.mode == "batch":
        return _run_batch(args, threads, started)
    if args.dataset is None:
        args.dataset = str(LONG_DEV_SET if args.mode == "longform" else DEFAULT_DEV_SET)
    utterances = load_dataset(args.dataset, args.samples)
    language = None if args.language == "auto" else args.language
    plan = build_plan(args.mode, args.model, args.draft, threads, language)
    for note in plan.notes:
        print(f"note: {note}")
    runs = run_systems(plan.systems, utterances, args.repeats, progress=not args.no_progress)
    rows = summarize(runs, utterances, plan)
    memory = None
    if not args.no_memory:
        from .memory import attach_peak_memory

        longest = max(runs[0].clips, key=lambda clip: clip.audio_s)
        path = next(u.audio_path for u in utterances if u.id == longest.clip)
        attach_peak_memory(rows, plan.systems, path, threads)
        memory = {"clip": longest.clip, "how": "each configuration alone in a fresh process"}
    output = args.output or RESULTS_ROOT / f"{args.mode}-{started}"
    output.mkdir(parents=True, exist_ok=True)
    audio_s = sum(c.audio_s for c in runs[0].clips)
    title = f"{args.mode}: {plan.model}, {len(utterances)} clips, {threads} CPU threads"
    if os.environ[DEVICE_ENV] != "cpu":
        title = f"{args.mode}: {plan.model}, {len(utterances)} clips, {gpu_name()}"
    payload = {
        "mode": args.mode,
        "model": plan.model,
        "dataset": str(args.dataset),
        "clips": len(utterances),
        "audio_s": round(audio_s, 3),
        "repeats": args.repeats,
        "language": language,
        "started": started,
        "baselines": plan.baselines,
        "greedy": plan.greedy,
        "notes": plan.notes,
        "memory": memory,
        "invocation": invocation(args),
        "environment": environment(threads),
        "summary": rows,
        "plots": plot_all(rows, runs, output, title),
        "per_clip": per_clip(runs, utterances, plan),
    }
    tables = markdown_tables(rows)
    write_results(output, payload, tables)
    print(tables)
    print(f"results: {output}/results.json, results.md, {', '.join(payload['plots'])}")
    return 0


def _run_batch(args: argparse.Namespace, threads: int, started: str) -> int:
    import json

    from ..evaluation.datasets import load_dataset
    from .batch import BATCH_SIZES, long_part, markdown, rss_mb, short_part
    from .report import environment, invocation

    sizes = BATCH_SIZES
    if args.batch_sizes:
        sizes = tuple(int(part) for part in args.batch_sizes.split(",") if part.strip())
    model = args.model or "base"
    language = None if args.language == "auto" else args.language
    clips = load_dataset(args.dataset or DEFAULT_DEV_SET, args.samples)
    rows = short_part(model, clips, sizes, language)
    rows += long_part(model, load_dataset(LONG_DEV_SET), sizes, threads, language)
    output = args.output or RESULTS_ROOT / f"batch-{started}"
    output.mkdir(parents=True, exist_ok=True)
    payload = {
        "mode": "batch",
        "model": model,
        "clips": len(clips),
        "batch_sizes": list(sizes),
        "invocation": invocation(args),
        "environment": environment(threads),
        "peak_rss_mb": round(rss_mb("VmHWM"), 1),
        "peak_gpu_mb": _peak_gpu_mb(),
        "summary": [row.as_dict() for row in rows],
    }
    (output / "results.json").write_text(json.dumps(payload, indent=1) + "\n")
    tables = markdown(rows)
    command = payload["environment"]["command"]
    header = f"# Benchmark: batch\n\nCommand: `{command}`  \n"
    header += f"CPU: {payload['environment']['cpu']}, {threads} threads"
    if payload["environment"]["gpu"]:  # the models ran there; the CPU did audio and VAD
        header += f"; GPU: {payload['environment']['gpu']}, peak {payload['peak_gpu_mb']} MB"
    header += "\n\n"
    (output / "results.md").write_text(header + tables)
    print(tables)
    print(f"results: {output}/results.json, results.md")
    return 0
