import pytest

from specwhisper.models.loading import ModelUnavailableError, load_model
from specwhisper.models.registry import UnknownModelError, available_offline, resolve


def test_bundled_names_resolve_offline():
    for name in ("tiny.en", "base"):
        source = resolve(name)
        assert source.kind == "bundled"
        assert available_offline(source)


def test_hub_aliases_and_ids():
    assert resolve("large-v2").location == "openai/whisper-large-v2"
    assert resolve("large-v3-turbo").location == "openai/whisper-large-v3-turbo"
    assert resolve("distil-large-v3").location == "distil-whisper/distil-large-v3"
    assert resolve("someone/my-whisper").kind == "hub"


def test_local_folder(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert resolve(str(tmp_path)).kind == "folder"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UnknownModelError, match="config.json"):
        resolve(str(empty))


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownModelError) as error:
        resolve("larg-v2")
    message = str(error.value)
    for name in ("tiny.en", "base", "large-v2", "large-v3"):
        assert name in message


def test_hub_model_without_network_says_so():
    # conftest sets HF_HUB_OFFLINE=1: the hub cannot be reached, as on this machine.
    with pytest.raises(ModelUnavailableError, match="needs a network"):
        load_model("openai/whisper-large-v2")
