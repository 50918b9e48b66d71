"""The benchmark's timing loop, figures, tables and plots, with stand-in systems and a fake clock
(no model: fast, and every number is known in advance)."""

import json
import shutil
from pathlib import Path

import pytest

from specwhisper.bench import runner
from specwhisper.bench.modes import Plan
from specwhisper.bench.plots import plot_all
from specwhisper.bench.report import (
    environment,
    markdown_tables,
    per_clip,
    summarize,
    write_results,
)
from specwhisper.bench.systems import Outcome
from specwhisper.evaluation.datasets import DEFAULT_DEV_SET, load_dataset

ROW_KEYS = {
    "system": str,
    "model": str,
    "role": str,
    "baseline": str,
    "config": dict,
    "clips": int,
    "audio_s": float,
    "total_s": float,
    "mean_clip_s": float,
    "median_clip_s": float,
    "rtf": float,
    "speedup": float,
    "latency_vs_greedy": (float, type(None)),
    "wer": (float, type(None)),
    "cer": (float, type(None)),
    "exact_match": (float, type(None)),
    "acceptance": (float, type(None)),
    "tokens_per_verify": (float, type(None)),
    "tokens_generated": (int, type(None)),
    "remap": (dict, type(None)),
    "time_split": (dict, type(None)),
    "window_exact": (float, type(None)),
    "decode_ms_per_token": (float, type(None)),
}


class Clock:
    now = 0.0

    def perf_counter(self) -> float:
        return self.now


class Stand:
    """A system whose every call costs a known number of fake seconds."""

    config = {"engine": "stand-in", "beam_size": 1}

    def __init__(self, label, clock, costs, texts, role="system", stats=None):
        self.label, self.model, self.role = label, "m", role
        self.clock, self.costs, self.texts, self.stats = clock, iter(costs), texts, stats or {}
        self.calls: list[str] = []

    def __call__(self, audio_path: Path) -> Outcome:
        self.calls.append(audio_path.stem)
        self.clock.now += next(self.costs)
        text = self.texts[audio_path.stem]
        return Outcome([hash(w) % 1000 for w in text.split()], text, dict(self.stats))


@pytest.fixture
def folder_set(tmp_path):
    """Two dev clips as a folder of audio + same-name .txt (one of the dataset layouts)."""
    for utterance in load_dataset(DEFAULT_DEV_SET)[:2]:
        shutil.copy(utterance.audio_path, tmp_path / utterance.audio_path.name)
        (tmp_path / f"{utterance.id}.txt").write_text(utterance.text)
    return load_dataset(tmp_path)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(runner.time, "perf_counter", clock.perf_counter)
    return clock


def _speculative_stats(drafted, accepted, generated, calls):
    return {
        "tokens_drafted": drafted,
        "tokens_accepted": accepted,
        "tokens_generated": generated,
        "main_forward_calls": calls,
        "main_encoder_s": 0.5,
        "draft_encoder_s": 0.0,
        "drafting_s": 0.1,
        "verifying_s": 0.2,
        "draft_lengths": [4, 4],
        "accepted_per_verify": [4, 2],
        "remap": {"draft_tokens_remapped": 8, "one_to_many": 1, "partial": 0, "draft_eot": 1},
    }


def _run(folder_set, clock, repeats=3):
    a, b = (u.id for u in folder_set)
    truth = {u.id: u.text for u in folder_set}
    wrong = {a: truth[a], b: "something else entirely"}
    base = Stand("base", clock, [9, 2, 2, 2, 4, 4, 4], truth, role="baseline")
    fast = Stand("fast", clock, [9, 1, 3, 2, 1, 1, 1], wrong, stats=_speculative_stats(8, 6, 9, 3))
    plan = Plan([base, fast], {"m": "base"})
    runs = runner.run_systems(plan.systems, folder_set, repeats, progress=False)
    return plan, runs, (base, fast)


def test_warm_up_then_interleaved_rounds_and_medians(folder_set, clock):
    plan, runs, (base, fast) = _run(folder_set, clock)
    a, b = (u.id for u in folder_set)
    # One warm-up call on the first clip, then 3 rounds per clip, every system each round.
    assert base.calls == fast.calls == [a, a, a, a, b, b, b]
    assert runs[0].clips[0].times == [2, 2, 2] and runs[1].clips[0].times == [1, 3, 2]
    assert [c.seconds for c in runs[1].clips] == [2, 1]  # medians; the 9 s warm-up not counted
    assert runs[0].total_seconds == 6 and runs[1].total_seconds == 3
    assert runs[0].clips[0].audio_s > 1
    assert runner.median_index([3.0, 1.0, 2.0]) == 2 and runner.median_index([2.0, 1.0]) == 1
    # Who goes first rotates from round to round.
    assert runner.rotation(plan.systems, 0) == [0, 1] and runner.rotation(plan.systems, 1) == [1, 0]


def test_summary_rows_are_computed_from_measurements(folder_set, clock):
    plan, runs, _ = _run(folder_set, clock)
    rows = summarize(runs, folder_set, plan)
    for row in rows:
        for key, kind in ROW_KEYS.items():
            assert isinstance(row[key], kind), (key, row[key])
        assert set(row) == set(ROW_KEYS)
    base, fast = rows
    assert base["speedup"] == 1.0 and base["exact_match"] == 1.0 and base["wer"] == 0.0
    assert fast["speedup"] == pytest.approx(6 / 3)  # measured totals, nothing assumed
    assert fast["exact_match"] == 0.5  # the second clip's tokens differ
    assert 0 < fast["wer"] <= 1 and fast["cer"] > 0
    assert fast["acceptance"] == pytest.approx(6 / 8)
    assert fast["tokens_per_verify"] == pytest.approx(3.0)
    assert fast["remap"] == {
        "draft_tokens_remapped": 16,
        "one_to_many": 2,
        "partial": 0,
        "draft_eot": 2,
    }
    assert fast["time_split"]["verifying_s"] == pytest.approx(0.2)
    # (drafting 0.1 s + verifying 0.2 s) per clip over the tokens generated in both clips.
    generated = sum(c.outcome.stats["tokens_generated"] for c in runs[1].clips)
    assert fast["decode_ms_per_token"] == pytest.approx(1000 * 0.3 * 2 / generated, rel=1e-3)
    assert fast["window_exact"] is None  # short clips report no windows
    assert base["acceptance"] is None and base["remap"] is None
    tables = markdown_tables(rows)
    assert "| base (baseline) | 6.00 |" in tables and "| fast | 3.00 | 1500 |" in tables
    assert "2.00x" in tables and "one-to-many" in tables and "Where specwhisper" in tables


def test_results_files_and_plots(folder_set, clock, tmp_path):
    plan, runs, _ = _run(folder_set, clock, repeats=1)
    rows = summarize(runs, folder_set, plan)
    output = tmp_path / "out"
    output.mkdir()
    plots = plot_all(rows, runs, output, "stand-ins")
    assert plots == ["speedup.png", "latency_vs_wer.png", "acceptance.png"]
    for name in plots:
        assert (output / name).read_bytes()[:4] == b"\x89PNG"
    payload = {
        "mode": "speculative",
        "clips": 2,
        "audio_s": 9.0,
        "repeats": 1,
        "notes": ["a note"],
        "environment": environment(2),
        "summary": rows,
        "per_clip": per_clip(runs, folder_set, plan),
    }
    write_results(output, payload, markdown_tables(rows))
    saved = json.loads((output / "results.json").read_text())
    assert saved["per_clip"]["fast"][1]["exact"] is False
    assert saved["per_clip"]["fast"][1]["word_edits"] > 0
    assert {"command", "packages", "cpu", "torch_threads", "spelling_mapping"} <= set(
        saved["environment"]
    )
    assert "torch" in saved["environment"]["packages"]
    text = (output / "results.md").read_text()
    assert text.startswith("# Benchmark: speculative") and "- a note" in text


def test_repeats_must_be_positive(folder_set):
    with pytest.raises(ValueError, match="at least 1"):
        runner.run_systems([], folder_set, 0)
