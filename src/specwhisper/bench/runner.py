"""Time configurations on the same clips in the same run: warm up, interleave, repeat, medians."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from tqdm import tqdm

from ..audio import SAMPLE_RATE, load_audio
from ..evaluation.datasets import Utterance
from .systems import Outcome, System


@dataclass
class ClipRecord:
    clip: str
    audio_s: float  # duration of the clip
    seconds: float  # median wall time over the repeats
    times: list[float]  # every timed repeat, in the order run
    # Of the median repeat, so its engine timings (SpecStats) match ``seconds``. Tokens agree
    # across repeats (decoding is deterministic); an adaptive draft length may differ.
    outcome: Outcome


@dataclass
class SystemRun:
    system: System
    clips: list[ClipRecord] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.system.label

    @property
    def total_seconds(self) -> float:
        return sum(c.seconds for c in self.clips)


def rotation(systems: list[System], turn: int) -> list[int]:
    """Indices of ``systems`` starting at ``turn``: who runs right after whom (and so inherits
    a warm or a cold cache) changes from turn to turn instead of favouring one configuration."""
    n = len(systems)
    return [(turn + i) % n for i in range(n)]


def median_index(times: list[float]) -> int:
    """Index of the median time (the lower middle one for an even count)."""
    order = sorted(range(len(times)), key=times.__getitem__)
    return order[(len(times) - 1) // 2]


def run_systems(
    systems: list[System],
    utterances: list[Utterance],
    repeats: int,
    progress: bool = True,
    warmup: bool = True,
) -> list[SystemRun]:
    """Every system on every clip ``repeats`` times. Interleaved: clip 1 runs every system once,
    then again (``repeats`` rounds), then clip 2..., so a burst of machine noise (another process,
    thermal drift) falls on all systems alike instead of on the one being timed at that moment.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    if not utterances:
        raise ValueError("no clips to benchmark")
    runs = [SystemRun(system) for system in systems]
    bar = tqdm(
        total=len(systems) * (len(utterances) * repeats + int(warmup)),
        disable=not progress,
        desc="benchmark",
        unit="run",
    )
    if warmup:
        # First calls pay for lazy initialisation (allocator growth, kernel selection, int8
        # weight packing, CTranslate2's model load): not what a transcription costs.
        bar.set_postfix_str("warm-up")
        for system in systems:
            system(utterances[0].audio_path)
            bar.update()
    for index, utterance in enumerate(utterances):
        audio_s = len(load_audio(utterance.audio_path)) / SAMPLE_RATE
        times: list[list[float]] = [[] for _ in systems]
        outcomes: list[list[Outcome]] = [[] for _ in systems]
        for repeat in range(repeats):
            for s in rotation(systems, index * repeats + repeat):
                bar.set_postfix_str(f"{utterance.id}: {systems[s].label}", refresh=False)
                started = time.perf_counter()
                outcomes[s].append(systems[s](utterance.audio_path))
                times[s].append(time.perf_counter() - started)
                bar.update()
        for s, run in enumerate(runs):
            middle = median_index(times[s])
            record = ClipRecord(
                utterance.id, audio_s, statistics.median(times[s]), times[s], outcomes[s][middle]
            )
            run.clips.append(record)
    bar.close()
    return runs
