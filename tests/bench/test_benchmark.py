"""The benchmark suite end to end on 2 real clips, and its result schema."""

import json

import pytest

from specwhisper.bench.modes import MODES, build_plan
from specwhisper.bench.report import markdown_table, summarize
from specwhisper.bench.runner import run_systems
from specwhisper.cli import main
from specwhisper.evaluation.datasets import DEFAULT_DEV_SET, load_dataset

ROW_KEYS = {
    "system",
    "total_s",
    "mean_clip_s",
    "speedup",
    "wer",
    "cer",
    "exact_match",
    "acceptance",
    "tokens_per_verify",
    "remap",
}


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="speculative, cross, beam, peers"):
        build_plan("fastest", "base", None, 2)
    assert MODES == ("speculative", "cross", "beam", "peers")


def test_speculative_mode_end_to_end(tmp_path, capsys):
    output = tmp_path / "run"
    assert (
        main(
            [
                "benchmark",
                "--mode",
                "speculative",
                "--samples",
                "2",
                "--repeats",
                "1",
                "--draft",
                "self-int8",
                "--output",
                str(output),
                "--no-progress",
            ]
        )
        == 0
    )
    results = json.loads((output / "results.json").read_text())
    assert results["clips"] == 2 and results["baseline"] == "transformers generate base"
    assert {"command", "packages", "cpu", "torch_threads"} <= set(results["environment"])
    rows = {row["system"]: row for row in results["summary"]}
    for row in rows.values():
        assert set(row) == ROW_KEYS
    spec = rows["specwhisper base draft=self-int8"]
    # Measured, never assumed: the speedup is the ratio of the two measured totals.
    base_total = rows["transformers generate base"]["total_s"]
    assert spec["speedup"] == pytest.approx(base_total / spec["total_s"], rel=1e-3)
    assert spec["exact_match"] == 1.0  # lossless: same tokens as generate()
    assert 0 < spec["acceptance"] <= 1 and spec["tokens_per_verify"] > 1
    assert rows["floor: base encoder only"]["wer"] is None
    for plot in ("speedup.png", "latency_vs_wer.png", "acceptance.png"):
        assert (output / plot).stat().st_size > 5000
    assert "| specwhisper base draft=self-int8 |" in (output / "results.md").read_text()


@pytest.mark.parametrize("mode", ["cross", "beam", "peers"])
def test_other_modes_run_on_two_clips(mode, tmp_path):
    utterances = load_dataset(DEFAULT_DEV_SET, samples=2)
    plan = build_plan(mode, "base", None, 2)
    if mode == "cross":
        plan.systems = plan.systems[:3]  # baseline, adaptive, k=2: the sweep is the same code
    runs = run_systems(plan.systems, utterances, repeats=1, progress=False)
    rows = summarize(runs, utterances, plan.baseline)
    assert [r["system"] for r in rows][0] == plan.baseline and rows[0]["speedup"] == 1.0
    for row in rows:
        assert row["total_s"] > 0 and 0 <= row["wer"] <= 1
    if mode == "cross":
        assert rows[1]["remap"]["draft_tokens_remapped"] > 0
        assert rows[1]["exact_match"] == 1.0
    if mode == "beam":
        assert len(rows) == 6  # beam 1..5 plus specwhisper auto
    table = markdown_table(rows, plan.baseline)
    assert table.count("\n") == len(rows) + 2
