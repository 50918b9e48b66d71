"""Model names a request may use, turned into a (model, draft) key before it waits in the queue.

Checking names here, on the event loop, answers a typo with 400 at once instead of after a wait,
and keeps clients from making the server load arbitrary hub ids or folders (unless allowed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..models.registry import PRESETS, UnknownModelError, available_offline, known_names, resolve
from .errors import ApiError, api_error
from .settings import ServerSettings

# OpenAI's model name; clients written for OpenAI send it, and here it means the default model.
OPENAI_MODEL = "whisper-1"
# Draft specs that are not model names (the engine's ``make_drafter`` knows them).
DRAFT_KEYWORDS = ("auto", "none", "self-int8")


@dataclass(frozen=True, order=True)
class ModelKey:
    """What one Transcriber serves. ``model`` is never a preset: presets are expanded."""

    model: str
    draft: str  # "auto", "none", "self-int8" or a model name

    def label(self) -> str:
        return f"{self.model}:{self.draft}"


def hub_offline() -> bool:
    """True when the hub is switched off, so a model missing from its cache cannot load."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


class Catalog:
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        configured = [settings.default_model, settings.default_draft]
        for model, draft in settings.preload_pairs():
            configured += [model, draft or ""]
        self._extra = [
            name for name in configured if name and name not in (*PRESETS, *DRAFT_KEYWORDS)
        ]

    def names(self) -> list[str]:
        """Model names clients may send, presets and the OpenAI alias included."""
        names = [OPENAI_MODEL, *PRESETS, *known_names()]
        return names + [name for name in self._extra if name not in names]

    def key_for(self, model: str | None, draft: str | None = None) -> ModelKey:
        """The key serving ``model`` (name, preset, ``whisper-1`` or empty for the default)
        with ``draft`` (empty: the preset's draft, else the default draft). Raises ApiError 400
        for names that are unknown, not allowed, or unavailable offline."""
        model = (model or "").strip() or OPENAI_MODEL
        draft = (draft or "").strip() or None
        if model == OPENAI_MODEL:
            model = self.settings.default_model
        if model in PRESETS:
            main, preset_draft = PRESETS[model]
            # As in Transcriber: "auto" with a preset means the preset's own draft.
            draft = preset_draft if draft in (None, "auto") else draft
        else:
            main, draft = model, draft or self.settings.default_draft
        self._check(main, "model")
        if draft not in DRAFT_KEYWORDS:
            self._check(draft, "draft")
        return ModelKey(main, draft)

    def _check(self, name: str, param: str) -> None:
        if not self.settings.allow_any_model and name not in self.names():
            what = "model" if param == "model" else "draft model"
            choices = self.names() if param == "model" else [*DRAFT_KEYWORDS, *known_names()]
            raise ApiError(
                400,
                f"unknown {what} {name!r}; use one of {', '.join(choices)}",
                "unknown_model",
                param,
            )
        try:
            source = resolve(name)
        except UnknownModelError as error:  # its message lists the valid names
            raise api_error(error, param) from None
        if source.kind == "hub" and hub_offline() and not available_offline(source):
            raise ApiError(
                400,
                f"model {name!r} ({source.location}) needs a network to download it from the "
                "Hugging Face hub, and this server is offline (HF_HUB_OFFLINE is set); "
                f"offline models: {', '.join(self.offline_names())}",
                "model_unavailable",
                param,
            )

    def offline_names(self) -> list[str]:
        return [name for name in known_names() if available_offline(resolve(name))]

    def describe(self) -> list[dict]:
        """Every name clients may send: source, offline availability, description."""
        default = self.key_for(None)
        entries = [
            {
                "name": OPENAI_MODEL,
                "source": "alias",
                "offline": self._offline(default.model),
                "description": f"OpenAI's model name; here the default model, {default.model} "
                f"with draft {default.draft}",
            }
        ]
        for preset, (main, draft) in PRESETS.items():
            entries.append(
                {
                    "name": preset,
                    "source": "preset",
                    "offline": self._offline(main),
                    "description": f"{main} with draft {draft}",
                }
            )
        for name in self.names()[len(PRESETS) + 1 :]:
            try:
                source = resolve(name)
            except UnknownModelError as error:
                entries.append(
                    {"name": name, "source": "folder", "offline": False, "description": str(error)}
                )
                continue
            entries.append(
                {
                    "name": name,
                    "source": source.kind,
                    "offline": available_offline(source),
                    "description": source.description,
                }
            )
        return entries

    def _offline(self, name: str) -> bool:
        try:
            return available_offline(resolve(name))
        except UnknownModelError:
            return False
