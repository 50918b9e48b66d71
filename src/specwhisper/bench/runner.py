"""Time systems on the same clips in the same run: warm up, interleave, repeat, take medians."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from tqdm import tqdm

from ..evaluation.datasets import Utterance
from .systems import Outcome, System


@dataclass
class ClipRecord:
    clip: str
    seconds: float  # median wall time over the repeats
    times: list[float]
    outcome: Outcome


@dataclass
class SystemRun:
    label: str
    clips: list[ClipRecord] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(c.seconds for c in self.clips)


def run_systems(
    systems: list[System], utterances: list[Utterance], repeats: int, progress: bool = True
) -> list[SystemRun]:
    """Every system on every clip, ``repeats`` times, interleaved clip by clip so that machine
    noise (other processes, thermal drift) falls on all systems alike."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    runs = [SystemRun(system.label) for system in systems]
    # Warm-up: first calls pay for lazy initialisation (allocator, kernels, int8 packing).
    for system in systems:
        system(utterances[0].audio_path)
    bar = tqdm(
        total=len(utterances) * len(systems) * repeats,
        disable=not progress,
        desc="benchmark",
        unit="run",
    )
    for utterance in utterances:
        for system, run in zip(systems, runs, strict=True):
            times, outcome = [], None
            for _ in range(repeats):
                started = time.perf_counter()
                outcome = system(utterance.audio_path)
                times.append(time.perf_counter() - started)
                bar.update()
            run.clips.append(ClipRecord(utterance.id, statistics.median(times), times, outcome))
    bar.close()
    return runs
