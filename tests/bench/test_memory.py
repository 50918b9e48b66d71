"""Peak memory per configuration, each built alone in a fresh process from its recipe."""

import pytest

from specwhisper.bench.memory import attach_peak_memory, status_mb
from specwhisper.bench.report import markdown_tables
from specwhisper.bench.systems import Specwhisper
from specwhisper.evaluation.datasets import DEFAULT_DEV_SET, load_dataset

pytestmark = pytest.mark.slow


def test_status_fields_are_read_in_mib():
    rss, peak = status_mb("VmRSS"), status_mb("VmHWM")
    assert rss is not None and peak is not None and 0 < rss <= peak
    assert status_mb("NoSuchField") is None
    assert status_mb("VmRSS", "/no/such/status") is None


def test_each_configuration_is_measured_alone():
    clip = load_dataset(DEFAULT_DEV_SET, samples=1)[0]
    plain = Specwhisper("tiny.en", "none", language=None)
    drafted = Specwhisper("tiny.en", "self-int8", language=None)
    # A recipe builds the same configuration again (here in this process, to compare).
    assert plain.recipe.build().label == plain.label
    rows = [{"system": s.label} for s in (plain, drafted)]
    attach_peak_memory(rows, [plain, drafted], clip.audio_path, threads=1)
    for row in rows:
        # A fresh process: torch + transformers + tiny.en (39 M parameters, fp32) at least,
        # and far below this test process, which holds both configurations and more.
        assert 150 < row["loaded_rss_mb"] <= row["peak_rss_mb"] < 4096
    # The int8 self-draft is a second copy of the decoder: it costs memory of its own.
    assert rows[1]["loaded_rss_mb"] > rows[0]["loaded_rss_mb"]
    table = markdown_tables(
        [
            {
                **row,
                "role": "system",
                "total_s": 1.0,
                "mean_clip_s": 1.0,
                "rtf": None,
                "speedup": 1.0,
                "wer": None,
                "cer": None,
                "exact_match": None,
                "acceptance": None,
                "tokens_per_verify": None,
                "latency_vs_greedy": None,
                "remap": None,
                "time_split": None,
                "config": {},
            }
            for row in rows
        ]
    )
    assert "peak RSS MiB" in table.splitlines()[0]
    assert f"| {rows[0]['peak_rss_mb']:.0f} |" in table
