"""Both engines on real dev clips (a real local Ray, no mock): the same records, and the same
tokens as `specwhisper transcribe`."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from specwhisper.cli import main
from specwhisper.corpus.records import read_records, without_timings

pytestmark = [
    pytest.mark.slow,
    # Ray Data reads its own deprecated settings when it copies its context.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context"),
]

DEV = Path(__file__).resolve().parents[1] / "data" / "dev"
CLIPS = [DEV / name for name in ("dev_003.wav", "dev_011.wav", "dev_025.wav", "dev_031.wav")]
# tiny.en, greedy only (no sampled fallback): fast, and the output is fixed.
FAST = ["--model", "tiny.en", "--draft", "none", "--temperature", "0", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("engines")
    listing = root / "clips.txt"
    listing.write_text("".join(f"{clip}\n" for clip in CLIPS))
    outputs = {}
    for engine in ("local", "ray"):
        outputs[engine] = root / engine
        args = ["corpus", str(listing), "--output", str(outputs[engine]), "--engine", engine]
        args += ["--workers", "2", "--batch-size", "1", "--formats", "srt,txt", *FAST]
        assert main(args) == 0, engine
    return outputs


def _by_file(folder: Path) -> dict[str, dict]:
    return {record["file"]: record for record in read_records(folder)}


def test_both_engines_write_the_same_records_and_files(runs):
    local, ray = _by_file(runs["local"]), _by_file(runs["ray"])
    assert sorted(local) == sorted(str(clip) for clip in CLIPS)
    assert {f: without_timings(r) for f, r in local.items()} == {
        f: without_timings(r) for f, r in ray.items()
    }
    assert all(record["status"] == "ok" and record["tokens"] for record in local.values())
    for clip in CLIPS:
        for suffix in ("srt", "txt"):
            name = f"{clip.stem}.{suffix}"
            assert (runs["local"] / name).read_bytes() == (runs["ray"] / name).read_bytes()
    summary = json.loads((runs["ray"] / "summary.json").read_text())
    assert summary["engine"] == "ray" and summary["transcribed"] == len(CLIPS)


def test_records_match_transcribe_token_for_token(runs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["transcribe", *map(str, CLIPS), "--output-format", "json", *FAST]) == 0
    expected = {json.loads(line)["file"]: json.loads(line) for line in out.getvalue().splitlines()}
    records = _by_file(runs["local"])
    for clip in CLIPS:
        record, reference = records[str(clip)], expected[str(clip)]
        assert record["tokens"] == reference["tokens"], clip.name
        assert record["segments"] == reference["segments"], clip.name
        fields = set(reference) - {"seconds", "stats", "file"}
        assert {k: record[k] for k in fields} == {k: reference[k] for k in fields}


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_a_setup_error_in_the_workers_is_a_usage_error(engine, tmp_path, capsys):
    # Only the loaded model knows it is English-only: the workers find out, the driver says it.
    args = ["corpus", str(CLIPS[0]), "--output", str(tmp_path), "--engine", engine]
    assert main([*args, *FAST, "--language", "de"]) == 2
    assert "English-only" in capsys.readouterr().err
    assert not (tmp_path / "records.jsonl").read_bytes()
