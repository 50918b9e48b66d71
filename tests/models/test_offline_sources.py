"""Hub models a user already has load offline: from $SPECWHISPER_MODELS_DIR/<name> first, then
from the Hugging Face cache, with no network call; an absent one fails at once, saying how to
provide it. Stand-ins are random Whispers in the real formats (see stand_in_models)."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest
from huggingface_hub import try_to_load_from_cache
from stand_in_models import isolate_offline, put_in_hub_cache, save_stand_in

from specwhisper.cli import main
from specwhisper.models.loading import ModelUnavailableError, load_model
from specwhisper.models.registry import available_offline, resolve
from specwhisper.transcribe import Transcriber

pytestmark = pytest.mark.slow  # borrows the bundled base's tokenizer

LARGE_V3 = "openai/whisper-large-v3"
TINY = "openai/whisper-tiny"


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory, base) -> Path:
    """A folder with ``large-v3`` (128 mel bins) and ``tiny`` (80, drafting for it)."""
    root = tmp_path_factory.mktemp("stand-ins")
    save_stand_in(root / "large-v3", base, n_mels=128, seed=1)
    save_stand_in(root / "tiny", base, n_mels=80, seed=2, draft_for=root / "large-v3")
    return root


@pytest.fixture(autouse=True)
def offline_machine(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache, no models folder, the hub switched off; the cache path."""
    return isolate_offline(tmp_path, monkeypatch)


@pytest.fixture
def no_network(monkeypatch) -> list[object]:
    """Every attempt to open a connection fails, and is recorded."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", lambda self, *a: refuse(*a))
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, *a: refuse(*a))
    return attempts


def _same_tokens_with_and_without_draft(clip: Path) -> Transcriber:
    """Transcribe ``clip`` with preset v3 (draft tiny) and without a draft; the tokens agree."""
    options = dict(language="en", temperature=0.0, no_speech_threshold=None)
    plain = Transcriber("v3", "none").transcribe(clip, **options)
    drafted = Transcriber("v3")
    result = drafted.transcribe(clip, **options)
    assert drafted.draft_name is not None and drafted.draft_name.startswith("tiny")
    assert result.tokens and result.tokens == plain.tokens
    assert result.stats.tokens_drafted > 0
    return drafted


def test_hub_cache_loads_offline(stand_ins, offline_machine, no_network, dev_set, capsys):
    for hub_id, name in ((LARGE_V3, "large-v3"), (TINY, "tiny")):
        put_in_hub_cache(offline_machine, hub_id, stand_ins / name)
    assert isinstance(try_to_load_from_cache(LARGE_V3, "config.json"), str)
    source = resolve("large-v3")
    assert source.kind == "cache" and available_offline(source)
    assert resolve(LARGE_V3).location == source.location == str(Path(source.location))
    bundle = load_model("large-v3")
    assert bundle.n_mels == 128 and load_model(LARGE_V3) is bundle  # one copy per folder
    transcriber = _same_tokens_with_and_without_draft(dev_set[0].audio_path)
    assert transcriber.main is bundle
    assert main(["models"]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()]
    rows = {words[0]: words[1:3] for words in lines}
    assert rows["large-v3"] == ["yes", "cache"] and rows["tiny"] == ["yes", "cache"]
    assert rows["large-v2"] == ["no", "hub"] and rows["base"] == ["yes", "bundled"]
    assert no_network == []


def test_models_dir_comes_first(stand_ins, offline_machine, no_network, dev_set, monkeypatch):
    put_in_hub_cache(offline_machine, LARGE_V3, stand_ins / "large-v3")
    models = offline_machine.parent / "models"
    shutil.copytree(stand_ins, models)
    monkeypatch.setenv("SPECWHISPER_MODELS_DIR", str(models))
    for name in ("large-v3", LARGE_V3, "tiny"):
        source = resolve(name)
        assert source.kind == "folder" and Path(source.location).parent == models.resolve()
    assert load_model(LARGE_V3).source.location == str(models.resolve() / "large-v3")
    _same_tokens_with_and_without_draft(dev_set[0].audio_path)
    assert no_network == []


def test_partial_cache_does_not_count(stand_ins, offline_machine):
    snapshot = put_in_hub_cache(offline_machine, LARGE_V3, stand_ins / "large-v3")
    (snapshot / "preprocessor_config.json").unlink()  # as after loading the model class alone
    source = resolve("large-v3")
    assert source.kind == "hub" and not available_offline(source)


def test_incomplete_models_dir_folder_names_the_missing_files(tmp_path, monkeypatch):
    (tmp_path / "large-v3").mkdir()
    (tmp_path / "large-v3" / "config.json").write_text("{}")
    monkeypatch.setenv("SPECWHISPER_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelUnavailableError, match="lacks model.safetensors or .*preprocessor"):
        load_model("large-v3")


def test_absent_model_fails_fast_naming_both_ways(no_network, monkeypatch, tmp_path):
    for offline in ("1", None):  # HF_HUB_OFFLINE set; then unset, with the network down
        if offline is None:
            monkeypatch.delenv("HF_HUB_OFFLINE")
        started = time.perf_counter()
        with pytest.raises(ModelUnavailableError) as error:
            load_model("large-v2")
        assert time.perf_counter() - started < 2
        message = str(error.value)
        assert "'large-v2' (openai/whisper-large-v2) is not on this machine" in message
        assert "needs a network" in message and "`hf download openai/whisper-large-v2`" in message
        assert "$SPECWHISPER_MODELS_DIR/large-v2" in message
        assert "Offline models here: tiny.en, base" in message
    assert "the hub cannot be reached" in message and len(no_network) == 1  # one probe, refused
    monkeypatch.setenv("SPECWHISPER_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelUnavailableError, match=f"at {tmp_path / 'large-v2'}"):
        Transcriber("v2")  # the preset: large-v2 drafted by tiny
