"""How close word timestamps come to the true sentence boundaries of the long dev files.

    python scripts/word_timing_check.py [--model base] [--draft auto] [--output DIR]

tests/data/long/manifest.jsonl gives every sentence's true start and end (espeak-ng's speech,
its silence trimmed). Each file is transcribed with word timestamps; the words are matched to
the reference words (lower case, letters and digits only, difflib's longest matching blocks),
and for every sentence whose first (last) word was matched, the first word's start is compared
with the sentence's start (the last word's end with its end). Prints a table of the median
absolute differences per file and overall, and writes results.json and results.md to
``--output`` (default bench/results/word-timing).
"""

from __future__ import annotations

import argparse
import difflib
import json
import platform
import re
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "tests" / "data" / "long" / "manifest.jsonl"


def normalize(word: str) -> str:
    return re.sub(r"[^0-9a-z]", "", word.lower())


def sentence_errors(sentences: list[dict], words: list[dict]) -> tuple[list[float], list[float]]:
    """Signed (word time - true time) of each matched sentence start, and of each end."""
    reference: list[str] = []
    bounds = []  # (first word index, last word index) per sentence
    for sentence in sentences:
        tokens = [normalize(w) for w in sentence["text"].split()]
        tokens = [t for t in tokens if t]
        bounds.append((len(reference), len(reference) + len(tokens) - 1))
        reference += tokens
    hypothesis = [normalize(w["word"]) for w in words]
    matcher = difflib.SequenceMatcher(None, reference, hypothesis, autojunk=False)
    matched: dict[int, int] = {}  # reference index -> hypothesis index
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            matched[block.a + k] = block.b + k
    starts, ends = [], []
    for sentence, (first, last) in zip(sentences, bounds, strict=True):
        if first in matched:
            starts.append(words[matched[first]]["start"] - sentence["start"])
        if last in matched:
            ends.append(words[matched[last]]["end"] - sentence["end"])
    return starts, ends


def summary(starts: list[float], ends: list[float]) -> dict:
    def median_abs(values: list[float]) -> float | None:
        return round(float(np.median(np.abs(values))), 3) if values else None

    def share_within(values: list[float], limit: float) -> float | None:
        return round(float(np.mean(np.abs(values) <= limit)), 3) if values else None

    return {
        "starts_matched": len(starts),
        "ends_matched": len(ends),
        "median_abs_start_s": median_abs(starts),
        "median_abs_end_s": median_abs(ends),
        "mean_start_s": round(float(np.mean(starts)), 3) if starts else None,
        "mean_end_s": round(float(np.mean(ends)), 3) if ends else None,
        "starts_within_0.2s": share_within(starts, 0.2),
        "ends_within_0.2s": share_within(ends, 0.2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--draft", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "word-timing")
    args = parser.parse_args()

    from specwhisper import Transcriber

    transcriber = Transcriber(args.model, args.draft, threads=args.threads)
    entries = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()]
    rows, all_starts, all_ends = [], [], []
    for entry in entries:
        began = time.perf_counter()
        result = transcriber.transcribe(
            MANIFEST.parent / entry["audio"], language="en", temperature=0.0, word_timestamps=True
        )
        words = [w.__dict__ for s in result.segments for w in s.words or []]
        starts, ends = sentence_errors(entry["sentences"], words)
        all_starts += starts
        all_ends += ends
        rows.append(
            {
                "file": entry["audio"],
                "duration_s": entry["duration"],
                "sentences": len(entry["sentences"]),
                "words": len(words),
                **summary(starts, ends),
                "word_timing_s": round(result.stats.word_timing_s, 3),
                "seconds": round(time.perf_counter() - began, 2),
            }
        )
        print(f"{entry['audio']}: {rows[-1]}", file=sys.stderr)
    overall = {"file": "all", "sentences": sum(r["sentences"] for r in rows)}
    overall |= summary(all_starts, all_ends)
    command = "python scripts/word_timing_check.py " + shlex.join(sys.argv[1:])
    record = {
        "command": command.strip(),
        "model": transcriber.model_name,
        "draft": transcriber.draft_name,
        "decoding": "temperature 0 (greedy), language en, word_timestamps on",
        "files": rows,
        "overall": overall,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(record, indent=2) + "\n")
    table = markdown(record)
    (args.output / "results.md").write_text(table)
    print(table)
    return 0


def markdown(record: dict) -> str:
    lines = [
        f"# Word timestamps against true sentence boundaries ({record['model']}, "
        f"draft {record['draft']})",
        "",
        f"`{record['command']}`",
        "",
        "| file | sentences | starts matched | median abs start error s | ends matched | "
        "median abs end error s | mean start / end error s | within 0.2 s (starts / ends) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in [*record["files"], record["overall"]]:
        lines.append(
            f"| {row['file']} | {row['sentences']} | {row['starts_matched']} | "
            f"{row['median_abs_start_s']} | {row['ends_matched']} | {row['median_abs_end_s']} | "
            f"{row['mean_start_s']} / {row['mean_end_s']} | "
            f"{row['starts_within_0.2s']} / {row['ends_within_0.2s']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
