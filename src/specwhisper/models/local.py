"""Weights of hub models that are already on this machine: a models folder named by a setting,
or the Hugging Face cache. Looked up on every ``resolve``, by file system only (no network), so
that weights copied in while a server runs count at once."""

from __future__ import annotations

import os
from pathlib import Path

MODELS_DIR_ENV = "SPECWHISPER_MODELS_DIR"

# What a transformers Whisper folder must hold to load: each entry is a list of alternatives,
# one of which must be there (weights in one file or sharded; the tokenizer as one file, as
# transformers 5 saves it, or as the vocabulary and merges the hub repositories also carry).
REQUIRED_FILES: tuple[tuple[str, ...], ...] = (
    ("config.json",),
    (
        "model.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
        "pytorch_model.bin.index.json",
    ),
    ("tokenizer.json", "vocab.json"),
    ("preprocessor_config.json",),
)


def hub_offline() -> bool:
    """True when the hub is switched off (HF_HUB_OFFLINE), so nothing may be downloaded."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def models_dir() -> Path | None:
    """The folder of ``$SPECWHISPER_MODELS_DIR`` (one sub-folder per model name), if set."""
    value = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def models_dir_folder(name: str) -> Path | None:
    """``$SPECWHISPER_MODELS_DIR/<name>`` when it is a model folder (has config.json).

    An incomplete folder still counts: the user put it there on purpose, and loading it says
    which files are missing rather than quietly going to the hub instead."""
    root = models_dir()
    if root is None:
        return None
    folder = root / name
    return folder.resolve() if (folder / "config.json").is_file() else None


def hub_cache_dir() -> Path:
    """Where the Hugging Face cache is (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/...)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_snapshot(hub_id: str) -> Path | None:
    """The snapshot folder of ``hub_id``'s main revision in the Hugging Face cache, when it holds
    every file a Whisper needs. A partial snapshot (an interrupted download, or one made by
    loading the model class alone) does not count: loading it offline would fail."""
    try:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(hub_id, "config.json")
    except Exception:  # an odd cache layout or id only means "not known to be here"
        return None
    if not isinstance(config, str):
        return None
    snapshot = Path(config).parent
    return snapshot if not missing_files(snapshot) else None


def missing_files(folder: Path) -> list[str]:
    """The required files ``folder`` lacks, each as its alternatives joined by " or "."""
    return [
        " or ".join(choices)
        for choices in REQUIRED_FILES
        if not any((folder / name).is_file() for name in choices)
    ]
