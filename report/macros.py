"""Every measured number the prose quotes, as LaTeX macros (``generated/macros.tex``), with
the cross, beam and peers runs' macros; the speculative run's are in macros_speculative."""

from __future__ import annotations

import re
import sys

from report.analysis import engine_totals
from report.formatting import f2, ms, pct, tex_escape, tt
from report.macros_common import (
    Getter,
    common_macros,
    exact_count,
    faster_or_slower,
    greedy_rows,
    more_or_less,
)
from report.macros_speculative import speculative_macros
from report.results import MODES, NA, Run

# Beam search ran the main encoder twice until commit 854fb51 (2026-11-24 22:36 UTC); beam runs
# started before it overstate beam latency, and the report says so.
BEAM_FIX_STARTED = "20261124-223608"


def cross_macros(run: Run) -> list[tuple[str, Getter]]:
    out = common_macros("Cross", run)
    model = run.data["model"] if run.data else None

    def adaptive() -> dict:
        return run.row(model=model, draft_length="adaptive")

    def fixed() -> list[dict]:
        rows = [
            r
            for r in run.rows
            if r["model"] == model and isinstance((r.get("config") or {}).get("draft_length"), int)
        ]
        if not rows:
            raise LookupError("no fixed-k rows")
        return rows

    def best() -> dict:
        return max(fixed(), key=lambda r: r["speedup"])

    remap = lambda key: lambda: str(adaptive()["remap"][key])  # noqa: E731
    out += [
        ("CrossDraft", lambda: tt(adaptive()["config"]["draft"])),
        ("CrossAdaptiveMs", lambda: ms(adaptive()["mean_clip_s"])),
        ("CrossAdaptiveSpeedup", lambda: f2(adaptive()["speedup"])),
        ("CrossAdaptiveAcceptance", lambda: f2(adaptive()["acceptance"])),
        ("CrossAdaptiveTPV", lambda: f2(adaptive()["tokens_per_verify"])),
        ("CrossAdaptiveK", lambda: f"{engine_totals(run.clips(adaptive())).mean_k:.1f}"),
        ("CrossAdaptiveP", lambda: f2(engine_totals(run.clips(adaptive())).p_token)),
        ("CrossBestK", lambda: str(best()["config"]["draft_length"])),
        ("CrossBestKSpeedup", lambda: f2(best()["speedup"])),
        ("CrossWorstKSpeedup", lambda: f2(min(r["speedup"] for r in fixed()))),
        ("CrossSweepKs", lambda: ", ".join(str(r["config"]["draft_length"]) for r in fixed())),
        ("CrossRemapped", remap("draft_tokens_remapped")),
        ("CrossOneToMany", remap("one_to_many")),
        ("CrossPartial", remap("partial")),
        ("CrossDraftEot", remap("draft_eot")),
        ("CrossDraftEncMs", lambda: ms(adaptive()["time_split"]["draft_encoder_s"])),
        ("CrossDraftMs", lambda: ms(adaptive()["time_split"]["drafting_s"])),
        ("CrossVerifyMs", lambda: ms(adaptive()["time_split"]["verifying_s"])),
        ("CrossEncMs", lambda: ms(adaptive()["time_split"]["main_encoder_s"])),
        (
            "CrossDraftEncVsDrafting",
            lambda: more_or_less(
                adaptive()["time_split"]["draft_encoder_s"], adaptive()["time_split"]["drafting_s"]
            ),
        ),
    ]
    return out


def beam_macros(run: Run) -> list[tuple[str, Getter]]:
    out = common_macros("Beam", run)

    def beams() -> list[dict]:
        rows = [
            r
            for r in run.rows
            if (r.get("config") or {}).get("engine") == "specwhisper"
            and (r.get("config") or {}).get("draft") == "none"
        ]
        if not rows:
            raise LookupError("no beam rows")
        return sorted(rows, key=lambda r: r["config"]["beam_size"])

    def wide() -> list[dict]:
        rows = [r for r in beams() if r["config"]["beam_size"] > 1]
        if not rows:
            raise LookupError("no beam > 1")
        return rows

    def greedy() -> dict:
        return run.row(engine="specwhisper", draft="none", beam_size=1)

    out += [
        ("BeamSizes", lambda: ", ".join(str(r["config"]["beam_size"]) for r in wide())),
        ("BeamGreedyMs", lambda: ms(greedy()["mean_clip_s"])),
        ("BeamGreedyWER", lambda: pct(greedy()["wer"])),
        ("BeamVsGreedyMin", lambda: f2(min(r["latency_vs_greedy"] for r in wide()))),
        ("BeamVsGreedyMax", lambda: f2(max(r["latency_vs_greedy"] for r in wide()))),
        ("BeamWERMin", lambda: pct(min(r["wer"] for r in wide()))),
        ("BeamWERMax", lambda: pct(max(r["wer"] for r in wide()))),
        (
            "BeamBestSize",
            lambda: str(
                min(wide(), key=lambda r: (r["wer"], r["mean_clip_s"]))["config"]["beam_size"]
            ),
        ),
        ("BeamExactMin", lambda: f2(min(r["exact_match"] for r in wide()))),
        ("BeamAutoSpeedup", lambda: f2(run.row(drafter="self-int8")["speedup"])),
        ("BeamAutoVsGreedy", lambda: f2(run.row(drafter="self-int8")["latency_vs_greedy"])),
        ("BeamAutoAcceptance", lambda: f2(run.row(drafter="self-int8")["acceptance"])),
        ("BeamAutoTPV", lambda: f2(run.row(drafter="self-int8")["tokens_per_verify"])),
        ("BeamEncMs", lambda: ms(wide()[-1]["time_split"]["main_encoder_s"])),
    ]
    return out


def peers_macros(run: Run) -> list[tuple[str, Getter]]:
    out = common_macros("Peers", run)
    model = run.data["model"] if run.data else None
    systems = {
        "AssistedTiny": lambda: run.row(engine="transformers", assistant="tiny.en"),
        "AssistedInt": lambda: run.row(engine="transformers", assistant=f"{model}-int8"),
        "Auto": lambda: run.row(engine="specwhisper", drafter="self-int8"),
        "FwFloat": lambda: run.row(engine="faster-whisper", compute_type="float32"),
        "FwInt": lambda: run.row(engine="faster-whisper", compute_type="int8"),
    }
    for name, row in systems.items():
        out += [
            (f"Peers{name}Ms", lambda row=row: ms(row()["mean_clip_s"])),
            (f"Peers{name}Speedup", lambda row=row: f2(row()["speedup"])),
            (f"Peers{name}WER", lambda row=row: pct(row()["wer"])),
            (f"Peers{name}Exact", lambda row=row: f2(row()["exact_match"])),
            (
                f"Peers{name}Differ",
                lambda row=row: str(round((1 - row()["exact_match"]) * row()["clips"])),
            ),
            (f"Peers{name}Verdict", lambda row=row: faster_or_slower(row()["speedup"])),
        ]
    out += [
        ("PeersAutoAcceptance", lambda: f2(systems["Auto"]()["acceptance"])),
        ("PeersAutoTPV", lambda: f2(systems["Auto"]()["tokens_per_verify"])),
    ]
    return out


def _other_runs_clips(runs: dict[str, Run]) -> str:
    """'8 of the 32 clips each' (or '8, 8 and 6 of the 32 clips'): cross, beam, peers runs."""
    counts = [str(runs[m].data["clips"]) if runs[m].ok else NA for m in MODES[1:]]
    total = f" of the {runs['speculative'].data['clips']}" if runs["speculative"].ok else ""
    if len(set(counts)) == 1:
        return f"{counts[0]}{total} clips each"
    return f"{', '.join(counts[:-1])} and {counts[-1]}{total} clips"


MACRO_BUILDERS = {
    "speculative": speculative_macros,
    "cross": cross_macros,
    "beam": beam_macros,
    "peers": peers_macros,
}
_MACRO_NAME = re.compile(r"^[A-Za-z]+$")


def macro_values(runs: dict[str, Run]) -> dict[str, str]:
    """Macro name -> LaTeX value; NA where the result (or one configuration) is missing."""
    values: dict[str, str] = {}
    for mode, build in MACRO_BUILDERS.items():
        run = runs[mode]
        unresolved = []
        for name, get in build(run):
            assert _MACRO_NAME.match(name), name
            assert name not in values, f"macro {name} defined twice"
            try:
                values[name] = get() if run.ok else NA
            except (LookupError, TypeError, ValueError, ZeroDivisionError, AttributeError):
                values[name] = NA
                unresolved.append(name)
        if unresolved:
            print(f"warning: {mode}: no value for {', '.join(unresolved)}", file=sys.stderr)
    available = [run for run in runs.values() if run.ok]
    values["ExactConfigs"] = exact_count(*available) if greedy_rows(available) else NA
    values["OtherRunsClips"] = _other_runs_clips(runs)
    return values


def macros_tex(runs: dict[str, Run]) -> str:
    lines = [
        "% Generated by report/build.py from report/sources.json: do not edit.",
    ]
    for mode in MODES:
        run = runs[mode]
        flag = f"have{mode}"
        lines.append(rf"\newif\if{flag}\{flag}{'true' if run.ok else 'false'}")
        lines.append(
            rf"\newcommand{{\{mode.capitalize()}Problem}}{{{tex_escape(run.problem or '')}}}"
        )
    beam = runs["beam"]
    predates = beam.ok and beam.data.get("started", "") < BEAM_FIX_STARTED
    lines.append(rf"\newif\ifbeampredatesfix\beampredatesfix{'true' if predates else 'false'}")
    for name, value in macro_values(runs).items():
        lines.append(rf"\newcommand{{\{name}}}{{{value}}}")
    return "\n".join(lines) + "\n"
