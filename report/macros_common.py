"""What every mode's macros share: the run's provenance and baseline numbers, and the wording
helpers the prose uses around measured values."""

from __future__ import annotations

from collections.abc import Callable

from report.formatting import count_word, ms, pct, tex_escape, tt, when
from report.results import Run

Getter = Callable[[], str]


def common_macros(prefix: str, run: Run) -> list[tuple[str, Getter]]:
    d = run.data

    def baseline() -> dict:
        return run.row(role="baseline")

    return [
        (f"{prefix}Clips", lambda: str(d["clips"])),
        (f"{prefix}ClipsWord", lambda: count_word(d["clips"])),
        (f"{prefix}AudioS", lambda: f"{d['audio_s']:.1f}"),
        (f"{prefix}Repeats", lambda: str(d["repeats"])),
        (f"{prefix}Threads", lambda: str(d["environment"]["torch_threads"])),
        (f"{prefix}Cores", lambda: str(d["environment"]["cpu_count"])),
        (f"{prefix}Cpu", lambda: tex_escape(d["environment"]["cpu"])),
        (f"{prefix}Model", lambda: tt(d["model"])),
        (f"{prefix}Started", lambda: when(d["started"])),
        (f"{prefix}Folder", lambda: tt(run.folder)),
        (f"{prefix}Command", lambda: tt(d["invocation"])),
        (f"{prefix}BaselineMs", lambda: ms(baseline()["mean_clip_s"])),
        (f"{prefix}WER", lambda: pct(baseline()["wer"])),
        (f"{prefix}CER", lambda: pct(baseline()["cer"])),
        (f"{prefix}ExactCount", lambda: exact_count(run)),
        (f"{prefix}Notes", lambda: str(len(d["notes"]))),
        (f"{prefix}SpellingEntries", lambda: str(d["environment"]["spelling_mapping"]["entries"])),
    ]


def greedy_rows(runs: list[Run]) -> list[dict]:
    """specwhisper greedy configurations (plain or speculative) of ``runs``."""
    return [
        r
        for run in runs
        for r in run.rows
        if (r.get("config") or {}).get("engine") == "specwhisper"
        and (r.get("config") or {}).get("beam_size", 1) == 1
        and r.get("role") != "bound"
    ]


def exact_count(*runs: Run) -> str:
    """'5 of 5': specwhisper greedy configurations whose tokens equal generate() on every clip."""
    rows = greedy_rows(list(runs))
    if not rows:
        raise LookupError("no specwhisper greedy rows")
    exact = sum(1 for r in rows if r["exact_match"] == 1.0)
    return f"{exact} of {len(rows)}"


def more_or_less(a: float, b: float) -> str:
    return "more than" if a > b else "less than" if a < b else "as much as"


def faster_or_slower(speedup: float) -> str:
    return "faster than" if speedup > 1 else "slower than" if speedup < 1 else "as fast as"
