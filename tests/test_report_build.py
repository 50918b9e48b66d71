"""report/build.py: the technical report's numbers come from the committed benchmark results,
and a missing result is reported in the text instead of breaking the build.

Only the table and macro part runs here: no LaTeX, no matplotlib.
"""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "report"

# report/ is a package at the repository root, which plain `pytest` does not put on sys.path.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from report import analysis, figures, formatting, macros, results, tables  # noqa: E402


def _results(mode: str) -> dict:
    folder = json.loads((REPORT / "sources.json").read_text())[mode]
    return json.loads((ROOT / folder / "results.json").read_text())


def _row(data: dict, **where) -> dict:
    for row in data["summary"]:
        config = row.get("config") or {}
        if all((row[k] if k in row else config.get(k)) == v for k, v in where.items()):
            return row
    raise LookupError(where)


@pytest.fixture(scope="module")
def runs():
    return results.load_sources()


@pytest.fixture(scope="module")
def values(runs):
    return macros.macro_values(runs)


def test_every_mode_of_sources_json_is_found(runs):
    assert set(runs) == set(results.MODES)
    assert all(run.ok for run in runs.values()), {m: r.problem for m, r in runs.items()}


def test_macros_are_the_summary_values_formatted(values):
    spec = _results("speculative")
    assert values["SelfIntSpeedup"] == f"{_row(spec, drafter='self-int8')['speedup']:.2f}"
    assert values["PlainSpeedup"] == f"{_row(spec, draft='none')['speedup']:.2f}"
    assert values["FloorSpeedup"] == f"{_row(spec, role='bound')['speedup']:.2f}"
    assert values["TinyEnAcceptance"] == f"{_row(spec, draft='tiny.en')['acceptance']:.2f}"
    assert values["SelfIntTPV"] == f"{_row(spec, drafter='self-int8')['tokens_per_verify']:.2f}"
    baseline = _row(spec, role="baseline")
    assert values["SpecWER"] == f"{baseline['wer'] * 100:.1f}"
    assert values["SpecBaselineMs"] == f"{baseline['mean_clip_s'] * 1000:.0f}"
    assert values["SpecClips"] == str(spec["clips"])
    assert values["TinyEnRemapped"] == str(
        _row(spec, draft="tiny.en")["remap"]["draft_tokens_remapped"]
    )
    split = _row(spec, drafter="self-int8")["time_split"]
    assert values["SelfIntDraftMs"] == f"{split['drafting_s'] * 1000:.0f}"

    cross = _results("cross")
    adaptive = _row(cross, draft_length="adaptive")
    assert values["CrossAdaptiveSpeedup"] == f"{adaptive['speedup']:.2f}"
    assert values["CrossDraftEot"] == str(adaptive["remap"]["draft_eot"])
    assert (
        values["BeamAutoSpeedup"] == f"{_row(_results('beam'), drafter='self-int8')['speedup']:.2f}"
    )
    peers = _results("peers")
    fw_int8 = _row(peers, engine="faster-whisper", compute_type="int8")
    assert values["PeersFwIntSpeedup"] == f"{fw_int8['speedup']:.2f}"


def test_no_macro_is_missing_when_every_result_is_there(values):
    assert [name for name, value in values.items() if value == results.NA] == []


def test_cost_model_reproduces_the_summary_counts(runs):
    spec = runs["speculative"]
    draft = spec.row(drafter="self-int8")
    totals = analysis.engine_totals(spec.clips(draft))
    # The summary's tokens per verification is the same ratio over the same per-clip records.
    assert totals.tokens_per_verify == pytest.approx(draft["tokens_per_verify"], abs=1e-3)
    assert totals.acceptance == pytest.approx(draft["acceptance"], abs=1e-3)
    assert analysis.expected_tokens(0.5, 2) == pytest.approx(1.75)
    assert analysis.expected_tokens(1.0, 4) == 5


def test_tables_hold_every_configuration(runs, tmp_path):
    tables.write_tables(runs, tmp_path)
    for mode, table in (("speculative", "tab_speculative"), ("peers", "tab_peers")):
        text = (tmp_path / f"{table}.tex").read_text()
        assert "\\toprule" in text and "\\bottomrule" in text
        for row in _results(mode)["summary"]:
            assert formatting.tex_escape(formatting.display_name(row)) in text
            assert f"{row['speedup']:.2f}$\\times$" in text
    beam = (tmp_path / "tab_beam.tex").read_text()
    for row in _results("beam")["summary"]:
        assert f"{row['mean_clip_s'] * 1000:.0f}" in beam
    cross = (tmp_path / "tab_cross.tex").read_text()
    assert "$k=4$" in cross and "adaptive" in cross
    commands = (tmp_path / "commands.tex").read_text()
    assert formatting.tex_escape(_results("cross")["invocation"]).split(" ")[0] in commands
    assert "\\havespeculativetrue" in (tmp_path / "macros.tex").read_text()


def test_a_missing_mode_is_reported_not_fatal(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "results.json").write_text("{not json")
    sources = json.loads((REPORT / "sources.json").read_text())
    sources.pop("peers")
    sources["cross"] = "bench/results/no-such-run"
    sources["beam"] = str(broken)  # absolute: ROOT / absolute path is that path
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(sources))

    runs = results.load_sources(path)
    assert runs["speculative"].ok
    assert not runs["peers"].ok and "peers" in runs["peers"].problem
    assert "not found" in runs["cross"].problem
    assert "not JSON" in runs["beam"].problem

    out = tmp_path / "generated"
    tables.write_tables(runs, out)
    macros = (out / "macros.tex").read_text()
    for flag in ("havepeersfalse", "havecrossfalse", "havebeamfalse", "havespeculativetrue"):
        assert f"\\{flag}" in macros
    assert "\\newcommand{\\PeersFwIntSpeedup}{\\NA{}}" in macros
    assert "\\newcommand{\\SelfIntSpeedup}{\\NA{}}" not in macros
    assert "\\MissingResult{peers}" in (out / "tab_peers.tex").read_text()
    assert "\\label{tab:cross}" in (out / "tab_cross.tex").read_text()  # references still work
    # Figures of missing modes are skipped before matplotlib is even imported.
    assert figures.fig_beam(runs["beam"], out / "fig_beam.pdf") is None
    assert figures.fig_speedup(runs["peers"], out / "fig_speedup_peers.pdf") is None


def test_the_report_uses_only_macros_the_generator_defines(runs, tmp_path):
    tables.write_tables(runs, tmp_path)
    tex = (REPORT / "specwhisper-report.tex").read_text()
    generated = (tmp_path / "macros.tex").read_text()
    defined = set(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}", tex + generated))
    defined |= set(re.findall(r"\\newif\\if([a-z]+)", generated))
    used = set(re.findall(r"\\([A-Z][A-Za-z]*)", tex)) - {"IfFileExists"}
    assert sorted(used - defined) == []
    flags = set(re.findall(r"\\if(have[a-z]+|beampredatesfix)\b", tex))
    assert flags and flags <= defined
    for name in re.findall(r"\\input\{generated/([a-z_]+\.tex)\}", tex):
        assert (tmp_path / name).exists(), name
