"""Which systems each benchmark mode compares, and which one is its baseline."""

from __future__ import annotations

from dataclasses import dataclass

from ..models.loading import load_model
from ..models.registry import available_offline, resolve
from . import MODES
from .systems import (
    EncoderFloor,
    FasterWhisper,
    Specwhisper,
    System,
    TransformersGenerate,
    faster_whisper_available,
    int8_assistant,
)

DEFAULT_DRAFTS = ("self-int8", "tiny.en")
CROSS_SWEEP = (2, 4, 6, 8)
BEAM_SIZES = (1, 2, 3, 4, 5)


@dataclass
class Plan:
    systems: list[System]
    baseline: str
    notes: list[str]


def build_plan(
    mode: str, model: str, drafts: list[str] | None, threads: int, language: str | None = "en"
) -> Plan:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    baseline = TransformersGenerate(model, language)
    systems: list[System] = [baseline]
    notes: list[str] = []
    if mode == "speculative":
        systems.append(EncoderFloor(model))
        systems.append(Specwhisper(model, "none", language))
        systems += [Specwhisper(model, draft, language) for draft in (drafts or DEFAULT_DRAFTS)]
    elif mode == "cross":
        for draft in drafts or ["tiny.en"]:
            systems.append(
                Specwhisper(model, draft, language, label=f"{model} <- {draft} adaptive k")
            )
            systems += [
                Specwhisper(
                    model, draft, language, draft_length=k, label=f"{model} <- {draft} k={k}"
                )
                for k in CROSS_SWEEP
            ]
        notes.append(_large_v3_note())
    elif mode == "beam":
        systems += [TransformersGenerate(model, language, beam_size=b) for b in BEAM_SIZES[1:]]
        systems.append(Specwhisper(model, "auto", language))
    else:  # peers
        tiny = load_model("tiny.en")
        systems.append(
            TransformersGenerate(
                model, language, assistant=tiny, label=f"transformers assisted {model} <- tiny.en"
            )
        )
        systems.append(
            TransformersGenerate(
                model,
                language,
                assistant=int8_assistant(model),
                label=f"transformers assisted {model} <- int8 self",
            )
        )
        systems += [Specwhisper(model, "auto", language), Specwhisper(model, "tiny.en", language)]
        if faster_whisper_available() and resolve(model).kind == "bundled":
            systems += [
                FasterWhisper(model, language, kind, threads) for kind in ("float32", "int8")
            ]
        else:
            notes.append("faster-whisper not installed (pip install '.[peers]'): skipped")
    return Plan(systems, baseline.label, notes)


def _large_v3_note() -> str:
    if available_offline(resolve("large-v3")):
        return "large-v3 is available: run --model large-v3 --draft tiny for that pair"
    return "tiny -> large-v3 skipped: those weights need a network (not available here)"
