"""Peak memory of each configuration, alone: a fresh process builds it, transcribes one clip,
and reports its peak resident set. Timed runs share one process (every configuration's models
are loaded at once), so their resident set says nothing about one configuration."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from .systems import Recipe


def status_mb(field: str, status: str = "/proc/self/status") -> float | None:
    """A ``/proc`` status field in MiB (``VmRSS`` now, ``VmHWM`` the peak); None off Linux."""
    try:
        lines = Path(status).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


def _measure(recipe: Recipe, audio_path: str, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    system = recipe.build()
    loaded = status_mb("VmRSS")
    system(Path(audio_path))
    return {"loaded_rss_mb": loaded, "peak_rss_mb": status_mb("VmHWM")}


def peak_memory(recipe: Recipe, audio_path: Path, threads: int) -> dict:
    """``{"loaded_rss_mb", "peak_rss_mb"}`` of ``recipe`` built in a fresh process (resident set
    once its models are loaded, and its peak over transcribing ``audio_path``), in MiB. The
    process also holds Python, torch and transformers, as any user's does."""
    context = multiprocessing.get_context("spawn")  # no inherited models or allocator state
    with context.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(_measure, (recipe, str(audio_path), threads))


def attach_peak_memory(rows: list[dict], systems: list, audio_path: Path, threads: int) -> None:
    """Each summary row gets its configuration's ``peak_rss_mb`` and ``loaded_rss_mb``."""
    by_label = {system.label: system for system in systems}
    for row in rows:
        system = by_label[row["system"]]
        measured = peak_memory(system.recipe, audio_path, threads)
        row.update({key: round(value, 1) for key, value in measured.items() if value})
