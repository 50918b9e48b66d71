"""load_dataset: manifests, folders of audio + .txt, hf: specs, and clear errors."""

import importlib.util
import json
import sys
import tempfile
import types

import pytest

from specwhisper.evaluation.datasets import DEFAULT_DEV_SET, DatasetError, load_dataset


def test_default_dev_set_manifest():
    utterances = load_dataset(DEFAULT_DEV_SET)
    assert len(utterances) >= 20
    assert all(u.audio_path.is_file() and u.text for u in utterances)
    assert load_dataset(DEFAULT_DEV_SET.parent) == utterances  # a folder with a manifest
    assert load_dataset(DEFAULT_DEV_SET, samples=3) == utterances[:3]


def test_manifest_relative_paths_and_bad_lines(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.wav").write_bytes(b"x")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"audio": "sub/a.wav", "text": "hello"}) + "\n\n")
    [utterance] = load_dataset(manifest)
    assert utterance.audio_path == (tmp_path / "sub" / "a.wav").resolve()
    assert utterance.text == "hello" and utterance.id == "a"
    for bad_line in ('{"audio": "sub/a.wav"}', '{"audio": 3, "text": "x"}', "not json"):
        manifest.write_text(bad_line + "\n")
        with pytest.raises(DatasetError, match="m.jsonl:1: expected"):
            load_dataset(manifest)
    manifest.write_text('{"audio": "nope.wav", "text": "x"}\n')
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(manifest)


def test_folder_of_audio_and_transcripts(tmp_path):
    for name in ("b", "a"):
        (tmp_path / f"{name}.flac").write_bytes(b"x")
        (tmp_path / f"{name}.txt").write_text(f" words of {name}\n")
    utterances = load_dataset(tmp_path)
    assert [u.id for u in utterances] == ["a", "b"]
    assert utterances[0].text == "words of a"
    (tmp_path / "c.mp3").write_bytes(b"x")
    with pytest.raises(DatasetError, match="c.mp3 has no transcript"):
        load_dataset(tmp_path)


def test_bad_specs(tmp_path):
    with pytest.raises(DatasetError, match="not found: expected a manifest .jsonl"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "list.csv").write_text("a.wav,hello\n")
    with pytest.raises(DatasetError, match="not a .jsonl manifest or a folder"):
        load_dataset(tmp_path / "list.csv")
    (tmp_path / "list.csv").unlink()
    with pytest.raises(DatasetError, match="no utterances"):
        load_dataset(tmp_path)
    with pytest.raises(DatasetError, match="at least 1"):
        load_dataset(DEFAULT_DEV_SET, samples=0)


@pytest.mark.skipif(
    importlib.util.find_spec("datasets") is not None, reason="needs `datasets` not installed"
)
def test_hub_dataset_without_library():
    with pytest.raises(DatasetError, match="pip install datasets.*network"):
        load_dataset("hf:openslr/librispeech_asr:validation", samples=2)


def test_hub_dataset_rows_become_files(monkeypatch, tmp_path):
    """A stand-in `datasets` module: the hub path without a network or the library."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the clips land in tmp_path
    rows = [
        {"audio": {"path": f"{n}.flac", "bytes": b"fLaC" + bytes([n])}, "text": f"row {n}"}
        for n in range(5)
    ]
    calls = {}

    class Stream(list):
        def cast_column(self, column, feature):
            calls["cast"] = (column, feature)
            return self

    def fake_load_dataset(name, config, split, streaming):
        calls["load"] = (name, config, split, streaming)
        return Stream(rows)

    fake = types.SimpleNamespace(load_dataset=fake_load_dataset, Audio=lambda decode: decode)
    monkeypatch.setitem(sys.modules, "datasets", fake)
    utterances = load_dataset("hf:some/set:clean:test", samples=2)
    assert calls == {"load": ("some/set", "clean", "test", True), "cast": ("audio", False)}
    assert [u.text for u in utterances] == ["row 0", "row 1"]
    assert utterances[1].audio_path.suffix == ".flac"
    assert utterances[1].audio_path.read_bytes() == b"fLaC\x01"
    load_dataset("hf:some/set")
    assert calls["load"] == ("some/set", None, "validation", True)
    with pytest.raises(DatasetError, match="hf:NAME"):
        load_dataset("hf:a:b:c:d")

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    fake.load_dataset = offline
    with pytest.raises(DatasetError, match="network.*ConnectionError"):
        load_dataset("hf:some/set")
