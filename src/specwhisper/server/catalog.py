"""Model names a request may use, turned into a (model, draft) key before it waits in the queue.

Checking names here, on the event loop, answers a typo with 400 at once instead of after a wait,
and keeps clients from making the server load arbitrary hub ids or folders (unless allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models.int8 import COMPUTE_TYPES
from ..models.local import hub_offline
from ..models.registry import (
    PRESETS,
    UnknownModelError,
    available_offline,
    known_names,
    resolve,
    resolve_pair,
    unavailable_message,
)
from .errors import ApiError, api_error
from .settings import ServerSettings

# OpenAI's model name; clients written for OpenAI send it, and here it means the default model.
OPENAI_MODEL = "whisper-1"
# Draft specs that are not model names (the engine's ``make_drafter`` knows them).
DRAFT_KEYWORDS = ("auto", "none", "self-int8", "ngram")


@dataclass(frozen=True, order=True)
class ModelKey:
    """What one Transcriber serves. ``model`` is never a preset: presets are expanded."""

    model: str
    draft: str  # "auto", "none", "self-int8", "ngram", "ngram+DRAFT" or a model name
    compute_type: str = "float32"  # or "int8"

    def label(self) -> str:
        suffix = "" if self.compute_type == "float32" else f":{self.compute_type}"
        return f"{self.model}:{self.draft}{suffix}"


class Catalog:
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        configured = [settings.default_model, settings.default_draft]
        for model, draft, _ in settings.preload_pairs():
            configured += [model, draft or ""]
        self._extra = [
            name for name in configured if name and name not in (*PRESETS, *DRAFT_KEYWORDS)
        ]

    def names(self) -> list[str]:
        """Model names clients may send, presets and the OpenAI alias included."""
        names = [OPENAI_MODEL, *PRESETS, *known_names()]
        return names + [name for name in self._extra if name not in names]

    def key_for(
        self, model: str | None, draft: str | None = None, compute_type: str | None = None
    ) -> ModelKey:
        """The key serving ``model`` (name, preset, ``whisper-1`` or empty for the default)
        with ``draft`` (empty: the preset's draft, else the default draft). Raises ApiError 400
        for names that are unknown, not allowed, or unavailable offline."""
        model = (model or "").strip() or OPENAI_MODEL
        draft = (draft or "").strip() or None
        if model == OPENAI_MODEL:
            model = self.settings.default_model
        if model in PRESETS:  # as in Transcriber: "auto" means the preset's own draft
            main, draft = resolve_pair(model, draft)
        else:
            main, draft = model, draft or self.settings.default_draft
        self._check(main, "model")
        model_draft = draft.removeprefix("ngram+") if draft.startswith("ngram+") else draft
        if model_draft not in DRAFT_KEYWORDS:
            self._check(model_draft, "draft")
        compute_type = (compute_type or "").strip() or self.settings.default_compute_type
        if compute_type not in COMPUTE_TYPES:
            raise ApiError(
                422,
                f"compute_type must be one of {', '.join(COMPUTE_TYPES)}, not {compute_type!r}",
                "invalid_value",
                "compute_type",
            )
        return ModelKey(main, draft, compute_type)

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
        # Weights neither in the models folder nor in the Hugging Face cache ("hub") cannot load
        # on an offline server: say so now, with the ways to provide them, not after a wait.
        if source.kind == "hub" and hub_offline():
            reason = "this server is offline (HF_HUB_OFFLINE is set)"
            raise ApiError(400, unavailable_message(source, reason), "model_unavailable", param)

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
