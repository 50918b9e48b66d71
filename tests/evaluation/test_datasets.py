import json

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
    manifest.write_text('{"audio": "sub/a.wav"}\n')
    with pytest.raises(DatasetError, match="m.jsonl:1"):
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
    with pytest.raises(DatasetError, match="manifest .jsonl"):
        load_dataset(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no utterances"):
        load_dataset(tmp_path)
    with pytest.raises(DatasetError, match="at least 1"):
        load_dataset(DEFAULT_DEV_SET, samples=0)


def test_hub_dataset_without_library_or_network():
    with pytest.raises(DatasetError, match="datasets|network"):
        load_dataset("hf:openslr/librispeech_asr:validation", samples=2)
