"""The batch benchmark's tables (bench/batch.py), on made-up rows."""

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


def test_no_comparison_without_faster_whisper():
    table = markdown([_row("specwhisper base draft=none", 1, 5.0, part="short")])
    assert "Against faster-whisper" not in table
