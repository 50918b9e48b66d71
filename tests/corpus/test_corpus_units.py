"""The corpus command without models: inputs, the record log, resume keys, flags, usage errors."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from specwhisper.cli import build_parser, main
from specwhisper.corpus.inputs import CorpusUsageError, expand_inputs
from specwhisper.corpus.records import (
    RecordLog,
    file_key,
    latest_records,
    read_records,
    records_agree,
    same_version,
    without_timings,
    write_atomic,
)
from specwhisper.corpus.work import FileTranscriber, failed_record
from specwhisper.decoding.options import TranscribeOptions, option_names
from specwhisper.errors import AudioDecodeError

DEV = Path(__file__).resolve().parents[1] / "data" / "dev"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/a.wav, root/sub/b.wav, root/sub/deeper/c.flac, root/notes.txt, root/.hidden.wav"""
    root = tmp_path / "root"
    (root / "sub" / "deeper").mkdir(parents=True)
    for name in ("a.wav", "sub/b.wav", "sub/deeper/c.flac", ".hidden.wav"):
        shutil.copy(DEV / "dev_003.wav", root / name)
    (root / "notes.txt").write_text("# a list of paths, empty so far\n")
    return root


def test_a_folder_is_searched_recursively_for_audio(tree):
    files = expand_inputs([str(tree)])
    assert [f.name for f in files] == ["a", "sub/b", "sub/deeper/c"]
    assert all(os.path.isabs(f.path) for f in files)


def test_glob_manifest_csv_and_list(tree, tmp_path):
    globbed = expand_inputs([str(tree / "**" / "*.wav")])
    assert sorted(f.name for f in globbed) == ["a", "sub/b"]  # dot files: glob skips them too
    (tree / "m.jsonl").write_text('{"audio": "a.wav", "text": "x"}\n\n{"path": "sub/b.wav"}\n')
    assert [f.name for f in expand_inputs([str(tree / "m.jsonl")])] == ["a", "sub/b"]
    (tree / "m.csv").write_text("id,file\n1,sub/deeper/c.flac\n2,missing.wav\n")
    csv_files = expand_inputs([str(tree / "m.csv")])
    # A missing entry is kept: it becomes a failed record, not a usage error.
    assert [f.name for f in csv_files] == ["sub/deeper/c", "missing"]
    listing = tmp_path / "list.lst"
    listing.write_text(f"# comment\nroot/a.wav\n\n{tree / 'sub' / 'b.wav'}\n")
    assert [f.name for f in expand_inputs([str(listing)])] == ["root/a", "root/sub/b"]
    # Entries outside the list's folder: named from the deepest folder they share.
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "l.txt").write_text(f"{tree / 'sub' / 'b.wav'}\n{tree / 'a.wav'}\n")
    assert [f.name for f in expand_inputs([str(tmp_path / "lists" / "l.txt")])] == ["sub/b", "a"]


def test_names_stay_unique_and_duplicates_are_dropped(tree):
    shutil.copy(tree / "a.wav", tree / "a.flac")
    shutil.copy(tree / "a.wav", tree / "records.wav")
    files = expand_inputs([str(tree), str(tree / "a.wav")], reserved=("records",))
    names = [f.name for f in files]
    assert len(files) == 5 and len(set(names)) == 5  # a.wav given twice: once
    assert "a" not in names and "records" not in names
    assert names == [f.name for f in expand_inputs([str(tree)], reserved=("records",))]


@pytest.mark.parametrize(
    "spec, message",
    [("nowhere/x.wav", "not found"), ("notes.txt", "no audio files"), ("data.bin", "suffix")],
)
def test_inputs_that_cannot_be_read_are_usage_errors(tree, spec, message):
    (tree / "data.bin").write_bytes(b"\0")
    with pytest.raises(CorpusUsageError, match=message) as error:
        expand_inputs([str(tree / spec)])
    assert "expected a folder, a glob" in str(error.value) or message == "no audio files"


def test_torn_last_line_is_ignored_then_cut_before_appending(tmp_path):
    with RecordLog(tmp_path) as log:
        log.append({"file": "/a", "status": "ok"})
        log.append({"file": "/b", "status": "failed"})
    with open(tmp_path / "records.jsonl", "ab") as file:
        file.write(b'{"file": "/c", "sta')  # a writer killed mid-record
    assert [r["file"] for r in read_records(tmp_path)] == ["/a", "/b"]
    with RecordLog(tmp_path) as log:
        log.append({"file": "/b", "status": "ok"})
    text = (tmp_path / "records.jsonl").read_text()
    assert text.count("\n") == 3 and '"/c"' not in text
    assert latest_records(read_records(tmp_path))["/b"]["status"] == "ok"


def test_file_versions(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(b"abc")
    stat_key, hash_key = file_key(str(path), "stat"), file_key(str(path), "hash")
    record = {"file": str(path), **hash_key}
    assert same_version(record, stat_key) and same_version(record, hash_key)
    os.utime(path, (1, 1))  # touched: stat says changed, the content hash says the same
    assert not same_version(record, file_key(str(path), "stat"))
    assert same_version(record, file_key(str(path), "hash"))
    assert file_key(str(tmp_path / "gone.wav"), "stat") == {}
    assert not same_version(record, {})
    with pytest.raises(ValueError, match="stat, hash"):
        file_key(str(path), "md5")


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    write_atomic(tmp_path / "sub" / "a.srt", "one")
    write_atomic(tmp_path / "sub" / "a.srt", "two")
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["a.srt"]
    assert (tmp_path / "sub" / "a.srt").read_text() == "two"


def test_without_timings_keeps_what_engines_must_agree_on():
    record = {"file": "/a", "seconds": 1.2, "tokens": [1], "stats": {"windows": 1, "drafting_s": 3}}
    assert without_timings(record) == {"file": "/a", "tokens": [1], "stats": {"windows": 1}}
    segment = {"tokens": [7, 8], "text": " Hi.", "avg_logprob": -0.8532}
    record = {**record, "segments": [segment]}
    assert records_agree(record, {**record, "segments": [{**segment, "avg_logprob": -0.8531}]})
    assert not records_agree(record, {**record, "segments": [{**segment, "tokens": [7, 9]}]})
    assert not records_agree(record, {**record, "segments": [{**segment, "text": " Hi!"}]})
    assert not records_agree(record, {**record, "segments": []})


class _StubTranscriber:
    """Fails a whole batch when it holds "bad" (as an unexpected error would), else
    answers per input as transcribe_batch does."""

    def transcribe_batch(self, paths, options, limits=None):
        if len(paths) > 1 and any("bad" in p for p in paths):
            raise RuntimeError("batch failed")
        if paths == ["/bad"]:
            raise RuntimeError("this file breaks the engine")
        return [AudioDecodeError(f"{p}: not audio") if "ugly" in p else _Done() for p in paths]


class _Done:
    def as_dict(self) -> dict:
        return {"text": "done"}


def test_an_unexpected_error_fails_only_its_file():
    worker = object.__new__(FileTranscriber)
    worker.transcriber, worker.options, worker.limits = _StubTranscriber(), None, None
    records = worker(["/a", "/bad", "/ugly", "/b"])
    assert [r["status"] for r in records] == ["ok", "failed", "failed", "ok"]
    assert records[1]["error"] == {"message": "this file breaks the engine", "type": "RuntimeError"}
    assert records[2]["error"]["type"] == "AudioDecodeError"
    assert failed_record("/x", ValueError(""))["error"]["message"] == "ValueError"


def _corpus_parser():
    return build_parser()._subparsers._group_actions[0].choices["corpus"]


def test_corpus_has_every_transcribe_flag():
    corpus = {a.dest for a in _corpus_parser()._actions}
    transcribe = build_parser()._subparsers._group_actions[0].choices["transcribe"]
    shared = {a.dest for a in transcribe._actions} - {"files", "output_format", "output_dir"}
    assert shared <= corpus and set(option_names()) <= corpus
    assert {"workers", "batch_size", "engine", "ray_address", "formats", "key"} <= corpus


def test_usage_errors_exit_2(tmp_path, capsys):
    clip = str(DEV / "dev_003.wav")
    common = ["--model", "tiny.en", "--draft", "none"]
    with pytest.raises(SystemExit) as error:
        main(["corpus", clip, "--output", str(tmp_path), "--formats", "srt,docx"])
    assert error.value.code == 2
    assert "txt, srt, vtt, tsv, json" in capsys.readouterr().err
    assert main(["corpus", clip, "--output", str(tmp_path), "--workers", "0", *common]) == 2
    assert main(["corpus", clip, "--output", str(tmp_path), "--beam-size", "9", *common]) == 2
    assert main(["corpus", str(tmp_path / "none"), "--output", str(tmp_path), *common]) == 2
    assert "not found" in capsys.readouterr().err
    # A folder made with other settings is not mixed with new records.
    kept = {"model": "base", "draft": "auto", "compute_type": "float32", "max_duration": None}
    kept["options"] = json.loads(json.dumps(TranscribeOptions().__dict__))
    (tmp_path / "corpus.json").write_text(json.dumps(kept))
    assert main(["corpus", clip, "--output", str(tmp_path), *common]) == 2
    assert "other settings (model, draft: 'base', 'auto')" in capsys.readouterr().err
