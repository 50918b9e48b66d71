"""The batch benchmark's tables (bench/batch.py), on made-up rows."""

import pytest

from specwhisper.bench.batch import BatchRow, markdown


def _row(system: str, size: int, seconds: float, part: str = "long") -> BatchRow:
    compute_type = "int8" if " int8 " in system else "float32"
    return BatchRow(part, system, size, seconds, 90.0, 1.0, 0.1, 1000.0, [[1]], compute_type)


def test_each_configuration_is_compared_with_the_same_batch_and_compute_type():
    rows = [
        _row("specwhisper base draft=self-int8 (VAD)", 1, 5.0),
        _row("specwhisper base int8 draft=self-int8 (VAD)", 1, 4.0),
        _row("faster-whisper base float32 (batched pipeline)", 1, 7.5),
        _row("faster-whisper base int8 (batched pipeline)", 1, 5.0),
        _row("specwhisper base draft=self-int8 (VAD)", 8, 6.0),
        _row("faster-whisper base float32 (batched pipeline)", 8, 3.0),
    ]
    table = markdown(rows)
    assert "| specwhisper base draft=self-int8 (VAD) | 1 | 7.5 | 5.0 | 1.50x |" in table
    assert "| specwhisper base int8 draft=self-int8 (VAD) | 1 | 5.0 | 4.0 | 1.25x |" in table
    assert "| specwhisper base draft=self-int8 (VAD) | 8 | 3.0 | 6.0 | 0.50x |" in table


def test_the_tables_show_the_median_latency_per_input():
    row = _row("specwhisper base draft=none", 1, 5.0, part="short")
    row.latencies = (0.5, 3.0, 1.25)
    assert "| specwhisper base draft=none | 1 | 5.0 | 18.00 | 1.00x | 1.25 | 10.0 |" in markdown(
        [row]
    )
    assert row.as_dict()["latencies_s"] == [0.5, 3.0, 1.25]


def test_no_comparison_without_faster_whisper():
    table = markdown([_row("specwhisper base draft=none", 1, 5.0, part="short")])
    assert "Against faster-whisper" not in table


@pytest.mark.slow
def test_the_long_part_runs_faster_whisper_in_a_process_of_its_own(dev_set):
    """The VAD part end to end on real weights and a real clip: every specwhisper row equals
    its compute type's plain batch-1 output; faster-whisper ran and was timed elsewhere."""
    from specwhisper.bench import batch

    rows = batch.long_part("tiny.en", dev_set[:1], (2,), threads=2, language="en")
    ours = [r for r in rows if r.system.startswith("specwhisper")]
    theirs = [r for r in rows if r.system.startswith("faster-whisper")]
    assert sorted(r.compute_type for r in theirs) == ["float32", "int8"]
    assert len(ours) == 4 and all(r.exact == 1.0 for r in ours)  # drafts equal plain
    assert all(r.seconds > 0 and r.wer < 0.3 and r.rss_mb > 0 for r in rows)
    assert all(len(r.latencies) == 1 and 0 < r.latencies[0] <= r.seconds for r in rows)
    assert not batch._pipelines  # faster-whisper's model was never loaded in this process


@pytest.mark.slow
def test_the_short_part_times_each_clip_from_its_place_in_the_batch(dev_set):
    from specwhisper.bench import batch

    rows = batch.short_part("tiny.en", dev_set[:3], (1, 2), language="en")
    ours = [r for r in rows if r.system.startswith("specwhisper")]
    padded = [r for r in rows if r.system.startswith("transformers")]
    assert len(ours) == 4 and all(r.exact == 1.0 for r in ours)
    assert all(len(r.latencies) == 3 and 0 < max(r.latencies) <= r.seconds for r in rows)
    one, two = padded  # generate(): the clips of one batch finish together
    assert len(set(one.latencies)) == 3 and two.latencies[0] == two.latencies[1]
