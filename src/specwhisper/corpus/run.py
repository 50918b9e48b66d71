"""The driver of a corpus run: find the files, skip those done before, feed the rest to an
engine, write each record as it comes back, and sum up.

The driver never loads a model: it reads headers (to refuse unreadable files at once and to
know the audio seconds ahead, for the progress bar), writes the output folder, and leaves the
transcribing to the engine's workers. Both engines hand back the same records; only the driver
writes, so the output does not depend on the engine.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .inputs import CorpusFile, CorpusUsageError, expand_inputs
from .records import (
    RESERVED_NAMES,
    SETTINGS_NAME,
    SUMMARY_NAME,
    RecordLog,
    file_key,
    latest_records,
    missing_formats,
    read_records,
    same_version,
    write_atomic,
    write_formats,
)
from .work import WorkerSettings, failed_record

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class CorpusConfig:
    inputs: list[str]
    output: Path
    settings: WorkerSettings
    formats: list[str] = field(default_factory=list)  # keys of records.FORMATS
    engine: str = "local"
    workers: int = 1
    batch_size: int = 4
    key: str = "stat"  # records.KEY_MODES
    ray_address: str | None = None
    progress: bool = True
    command: str = ""  # the command line, kept in the summary


@dataclass
class Summary:
    files: int  # every file the inputs name
    skipped: int  # transcribed by an earlier run (same file version)
    transcribed: int = 0
    failed: int = 0
    audio_seconds: float = 0.0  # transcribed by this run
    wall_seconds: float = 0.0  # this run, models loading included
    engine: str = "local"
    workers: int = 1

    @property
    def real_time_factor(self) -> float:
        """Wall seconds per audio second (below 1: faster than real time)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else 0.0

    def lines(self) -> list[str]:
        files = (
            f"files: {self.files} ({self.skipped} done before, {self.transcribed} transcribed, "
            f"{self.failed} failed)"
        )
        if not self.audio_seconds:
            return [files, f"audio: none transcribed ({self.wall_seconds:.1f} s)"]
        return [
            files,
            f"audio: {self.audio_seconds / 3600:.3f} h in {self.wall_seconds:.1f} s "
            f"({self.engine} engine, {self.workers} worker{'s' * (self.workers > 1)}): "
            f"real-time factor {self.real_time_factor:.3f}, "
            f"{1 / self.real_time_factor:.1f}x real time",
        ]


def run_corpus(config: CorpusConfig, say: Callable[[str], None] | None = None) -> Summary:
    """Transcribe what ``config`` names that is not done yet; ``say`` prints a line (stderr)."""
    say = say or _to_stderr
    if config.engine not in ENGINES:
        raise CorpusUsageError(
            f"engine must be one of {', '.join(ENGINES)}, not {config.engine!r}", "engine"
        )
    started = time.perf_counter()
    files = expand_inputs(config.inputs, reserved=RESERVED_NAMES)
    config.output.mkdir(parents=True, exist_ok=True)
    _check_settings(config.output, config.settings)
    latest = latest_records(read_records(config.output))
    keys = {f.path: file_key(f.path, config.key) for f in files}
    done = [
        f
        for f in files
        if latest.get(f.path, {}).get("status") == "ok"
        and same_version(latest[f.path], keys[f.path])
    ]
    done_paths = {f.path for f in done}
    pending = [f for f in files if f.path not in done_paths]
    say(f"corpus: {len(files)} files, {len(done)} done before (skipped), {len(pending)} to do")
    for f in done:  # formats asked for now that an earlier run did not write
        if missing := missing_formats(config.output, f.name, config.formats):
            write_formats(config.output, f.name, latest[f.path], missing)
    summary = Summary(len(files), len(done), engine=config.engine, workers=config.workers)
    by_path = {f.path: f for f in pending}
    with RecordLog(config.output) as log:

        def write(record: dict) -> None:
            corpus_file = by_path[record["file"]]
            record = {**record, **keys[corpus_file.path]}
            if record["status"] == "ok":
                write_formats(config.output, corpus_file.name, record, config.formats)
                summary.transcribed += 1
                summary.audio_seconds += record["duration"]
            else:
                summary.failed += 1
            log.append(record)  # after its files: a record means they are complete

        seconds, readable = _probe(pending, config.settings.max_duration, write)
        bar = _progress_bar(sum(seconds.values()), config.progress)
        try:
            for records in _engine(config, _batches(readable, seconds, config.batch_size)):
                for record in records:
                    write(record)
                    bar.update(seconds.get(record["file"], 0.0))
        finally:
            bar.close()
    summary.wall_seconds = time.perf_counter() - started
    _write_summary(config, summary)
    return summary


def _probe(
    pending: list[CorpusFile], max_duration: float | None, write: Callable[[dict], None]
) -> tuple[dict[str, float], list[CorpusFile]]:
    """Audio seconds each header declares; a file whose header cannot be read (empty, not
    audio, cut short, over --max-duration) is recorded as failed here, without a worker."""
    from ..audio import DecodeLimits, open_audio
    from ..errors import SpecwhisperError

    limits = DecodeLimits(max_seconds=max_duration)
    seconds: dict[str, float] = {}
    readable = []
    for corpus_file in pending:
        try:
            stream = open_audio(corpus_file.path, limits)
        except SpecwhisperError as error:
            write(failed_record(corpus_file.path, error))
            continue
        seconds[corpus_file.path] = stream.declared_seconds or 0.0
        readable.append(corpus_file)
    return seconds, readable


def _batches(files: list[CorpusFile], seconds: dict[str, float], size: int) -> list[list[str]]:
    """Longest files first: the long ones start early instead of leaving one worker busy at
    the end, and files of similar length share a batch (less padding once batches decode
    together)."""
    ordered = sorted(files, key=lambda f: -seconds[f.path])
    paths = [f.path for f in ordered]
    return [paths[i : i + size] for i in range(0, len(paths), size)]


def _engine(config: CorpusConfig, batches: list[list[str]]) -> Iterator[list[dict]]:
    if not batches:
        return iter(())
    if config.engine == "ray":
        from .ray_engine import run_ray

        return run_ray(batches, config.settings, config.workers, config.ray_address)
    from .local import run_local

    return run_local(batches, config.settings, config.workers)


def _check_settings(output: Path, settings: WorkerSettings) -> None:
    """Records in one folder must come from the same model and options, or skipping "done"
    files would mix two transcriptions. The first run writes them; later runs must match."""
    wanted = _settings_dict(settings)
    path = output / SETTINGS_NAME
    if not path.is_file():
        write_atomic(path, json.dumps(wanted, indent=1) + "\n")
        return
    kept = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(kept.get("options"), dict):  # written by a version that kept them all
        kept["options"] = {k: v for k, v in kept["options"].items() if k not in _SPEED_ONLY}
    differ = [key for key in wanted if kept.get(key) != wanted[key]]
    if differ:
        raise CorpusUsageError(
            f"{output} holds records made with other settings ({', '.join(differ)}: "
            f"{', '.join(f'{kept.get(k)!r}' for k in differ)}); run with those settings to "
            "resume, or choose another --output",
            "output",
        )


# Options that change how fast, never what is written: they may differ between runs.
_SPEED_ONLY = ("batch_size", "draft_length", "use_speculative")


def _settings_dict(settings: WorkerSettings) -> dict:
    # threads, engine and the options above do not change the output.
    options = {k: v for k, v in asdict(settings.options).items() if k not in _SPEED_ONLY}
    data = {
        "model": settings.model,
        "draft": settings.draft,
        "compute_type": settings.compute_type,
        "max_duration": settings.max_duration,
        "options": options,
    }
    return json.loads(json.dumps(data))  # tuples -> lists, as read back from the file


def _write_summary(config: CorpusConfig, summary: Summary) -> None:
    data = {
        "command": config.command,
        **asdict(summary),
        "real_time_factor": round(summary.real_time_factor, 4),
        "batch_size": config.batch_size,
        "threads_per_worker": config.settings.threads,
    }
    write_atomic(config.output / SUMMARY_NAME, json.dumps(data, indent=1) + "\n")


class _NoBar:
    def update(self, _: float) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: float, wanted: bool):
    """Audio seconds done out of all, on stderr, only where a person watches (a terminal)."""
    if not wanted or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=round(total, 1), unit="s", desc="audio", file=sys.stderr, smoothing=0.1)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
