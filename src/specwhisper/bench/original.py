"""The original project's benchmark line-ups, run when their weights are on this machine.

``--mode speculative`` and ``--mode v3`` without ``--model``/``--draft`` mean what they meant
there (large-v2 with three drafters; large-v3 drafted by tiny). Those weights only come from the
Hugging Face hub, so offline without them each mode runs its bundled stand-in and says so:
never a silent download of gigabytes in the middle of a benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..models.local import MODELS_DIR_ENV
from ..models.registry import UnknownModelError, available_offline, resolve

DEFAULT_MODEL = "base"  # main model of every mode when none is named and none is cached

# mode -> (main model, drafters) of the original project.
ORIGINAL: dict[str, tuple[str, tuple[str, ...]]] = {
    "speculative": ("large-v2", ("tiny", "base", "distil-large-v2")),
    "v3": ("large-v3", ("tiny",)),
}
# mode -> what runs instead from the bundled weights. v3's stand-in is the cross-vocabulary
# pair the `cross` mode measures: an English-only draft for a multilingual main, as tiny's
# vocabulary differs from large-v3's. None: the mode's own default drafters.
BUNDLED: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "speculative": (DEFAULT_MODEL, None),
    "v3": (DEFAULT_MODEL, ("tiny.en",)),
}
_HOW = f"put them in the Hugging Face cache or in ${MODELS_DIR_ENV}/<name> (README)"


@dataclass(frozen=True)
class Lineup:
    model: str
    drafts: list[str] | None  # None: the mode's default drafters
    note: str | None = None  # which line-up runs and why, when the user named neither


def choose_lineup(
    mode: str, model: str | None, drafts: list[str] | None, default_drafts: Sequence[str] = ()
) -> Lineup:
    """What ``mode`` runs for ``--model``/``--draft`` (None when not given); ``default_drafts``
    are the mode's own, named in the note ("{model}": the main model drafting for itself)."""
    if model is not None or mode not in ORIGINAL:
        return Lineup(model or DEFAULT_MODEL, drafts)
    main, original_drafts = ORIGINAL[mode]
    wanted = drafts or list(original_drafts)
    pair = f"{main} <- {', '.join(wanted)}"
    # v3's point is the pair, so it needs both; speculative needs its main model, and leaves
    # out the drafters that are not here (rather than download them mid-benchmark).
    missing = [name for name in ([main, *wanted] if mode == "v3" else [main]) if not _offline(name)]
    if not missing:
        here = [name for name in wanted if _offline(name)]
        absent = [name for name in wanted if name not in here]
        why = "weights found here"
        if absent:
            why += f"; not here, left out: {', '.join(absent)}"
        return Lineup(main, here, f"{mode}: the original project's {pair} ({why})")
    bundled_main, bundled_drafts = BUNDLED[mode]
    chosen = drafts or (list(bundled_drafts) if bundled_drafts else None)
    shown = ", ".join(d.format(model=bundled_main) for d in chosen or default_drafts)
    return Lineup(
        bundled_main,
        chosen,
        f"{mode}: ran the bundled {bundled_main} <- {shown} instead of the original project's "
        f"{pair}, because these weights are not on this machine: {', '.join(missing)}; {_HOW}",
    )


def _offline(name: str) -> bool:
    try:
        return available_offline(resolve(name))
    except UnknownModelError:
        return False
