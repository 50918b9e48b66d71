"""`specwhisper benchmark --mode MODE`: speculative vs plain, cross-vocabulary, beam, peers."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..evaluation.datasets import DEFAULT_DEV_SET
from . import MODES

# torch, transformers and matplotlib load inside run_benchmark: building the CLI parser must
# stay light (`specwhisper --help`, and `serve` sets OpenMP's wait policy before torch loads).


def add_benchmark_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "benchmark", help="compare decoding configurations on the same clips in one run"
    )
    parser.add_argument("--mode", choices=MODES, default="speculative")
    parser.add_argument(
        "--dataset",
        default=str(DEFAULT_DEV_SET),
        help="manifest .jsonl, folder of audio + .txt, or hf:NAME[:split] "
        "(default: the committed dev set)",
    )
    parser.add_argument("--samples", type=int, default=None, help="first N clips only")
    parser.add_argument("--model", default="base", help="main model (default: base)")
    parser.add_argument(
        "--draft",
        nargs="+",
        default=None,
        metavar="NAME",
        help="drafters to compare (default: self-int8 tiny.en)",
    )
    parser.add_argument(
        "--language",
        default="en",
        help="language given to every system (default: en, the dev set's); "
        "'auto' lets each system detect it",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per clip (median)")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="results folder (default: bench/results/<mode>-<timestamp>)",
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run_benchmark)


def run_benchmark(args: argparse.Namespace) -> int:
    import torch

    from ..evaluation.datasets import load_dataset
    from .modes import BEAM_SIZES, build_plan
    from .plots import plot_acceptance, plot_beam, plot_latency_vs_wer, plot_speedup
    from .report import environment, markdown_table, summarize, write_results
    from .runner import run_systems

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    utterances = load_dataset(args.dataset, args.samples)
    language = None if args.language == "auto" else args.language
    plan = build_plan(args.mode, args.model, args.draft, threads, language)
    runs = run_systems(plan.systems, utterances, args.repeats, progress=not args.no_progress)
    rows = summarize(runs, utterances, plan.baseline)
    output = args.output or Path("bench/results") / f"{args.mode}-{time.strftime('%Y%m%d-%H%M%S')}"
    output.mkdir(parents=True, exist_ok=True)
    title = f"{args.mode}: {args.model}, {len(utterances)} clips, {threads} CPU threads"
    plots = ["speedup.png", "latency_vs_wer.png"]
    plot_speedup(rows, output / "speedup.png", title)
    plot_latency_vs_wer(rows, output / "latency_vs_wer.png", title)
    if args.mode == "beam":
        beam_rows = rows[: len(BEAM_SIZES)]
        plot_beam(beam_rows, list(BEAM_SIZES), output / "beam.png", title)
        plots.append("beam.png")
    if plot_acceptance(runs, output / "acceptance.png", title):
        plots.append("acceptance.png")
    payload = {
        "mode": args.mode,
        "model": args.model,
        "dataset": str(args.dataset),
        "clips": len(utterances),
        "repeats": args.repeats,
        "baseline": plan.baseline,
        "notes": plan.notes,
        "environment": environment(threads),
        "summary": rows,
        "plots": plots,
        "per_clip": {
            run.label: [
                {
                    "clip": c.clip,
                    "seconds": round(c.seconds, 4),
                    "times": c.times,
                    "text": c.outcome.text,
                    "tokens": c.outcome.tokens,
                    "stats": c.outcome.stats,
                }
                for c in run.clips
            ]
            for run in runs
        },
    }
    table = markdown_table(rows, plan.baseline)
    write_results(output, payload, table)
    print(table)
    for note in plan.notes:
        print(f"note: {note}")
    print(f"results: {output}/results.json, results.md, {', '.join(plots)}")
    return 0
