"""Compare corpus outputs with each other and with `specwhisper transcribe --output-format json`.

    python scripts/compare_corpus.py OUT_LOCAL OUT_RAY [--transcribe transcribe.jsonl]

Records are matched by file, in any order, and compared without what depends on time (wall
seconds, stage timings, the adaptive draft length), scores within 1e-3 (``records_agree``: a
speculative run's scores depend on how many positions were verified together). Against
``transcribe``, tokens and text must be equal, and segments agree likewise. Exit code 0 when
everything agrees.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from specwhisper.corpus.records import (
    latest_records,
    read_records,
    records_agree,
    without_timings,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outputs", nargs="+", type=Path, help="corpus --output folders")
    parser.add_argument("--transcribe", type=Path, help="JSON lines from transcribe")
    args = parser.parse_args()
    runs = {folder: latest_records(read_records(folder)) for folder in args.outputs}
    first, *others = args.outputs
    reference = runs[first]
    ok = True
    for folder in others:
        other = runs[folder]
        agree = sum(records_agree(reference[f], other.get(f, {})) for f in reference)
        exact = sum(
            without_timings(reference[f]) == without_timings(other.get(f, {})) for f in reference
        )
        print(
            f"{first} vs {folder}: {agree}/{len(reference)} records agree, {exact} of them "
            "to the last digit (timings left out)"
        )
        ok &= agree == len(reference) and set(reference) == set(other)
    if args.transcribe:
        lines = args.transcribe.read_text(encoding="utf-8").splitlines()
        expected = {str(Path(r["file"]).resolve()): r for r in map(json.loads, lines)}
        same = 0
        for f, record in reference.items():
            wanted = expected.get(str(Path(f).resolve()), {})
            same += (
                record.get("tokens") == wanted.get("tokens")
                and record.get("text") == wanted.get("text")
                and records_agree({"s": record.get("segments")}, {"s": wanted.get("segments")})
            )
        tokens = sum(len(r.get("tokens", [])) for r in reference.values())
        print(
            f"{first} vs transcribe: {same}/{len(reference)} files with the same tokens, text "
            f"and segments ({tokens} tokens)"
        )
        ok &= same == len(reference) == len(expected)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
