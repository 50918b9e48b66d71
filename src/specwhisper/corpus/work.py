"""The job of one worker, whichever engine runs it: a Transcriber loaded once, batches of paths
in, one record per path out.

Records are plain dicts (JSON types only), so they cross process and machine boundaries the
same way in both engines and the driver writes them without knowing who made them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..decoding.options import TranscribeOptions
from ..hardware import share_cores_politely


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker needs to build the same Transcriber (small and picklable)."""

    model: str
    draft: str
    compute_type: str
    threads: int  # torch threads of this worker
    options: TranscribeOptions
    max_duration: float | None = None
    device: str | None = None  # auto (None), cpu, cuda, cuda:N: see models/devices.py


def failed_record(path: str, error: BaseException) -> dict:
    message = " ".join(str(error).split()) or error.__class__.__name__
    return {
        "file": path,
        "status": "failed",
        "error": {"message": message, "type": error.__class__.__name__},
    }


class FileTranscriber:
    """Loads the models on construction; each call transcribes a batch of paths."""

    def __init__(self, settings: WorkerSettings) -> None:
        # Before torch loads: idle OpenMP threads must not spin on cores that several workers
        # share (``hardware.SHARED_CORES_OPENMP``).
        share_cores_politely()
        from ..audio import DecodeLimits
        from ..transcribe import Transcriber

        self.transcriber = Transcriber(
            settings.model,
            settings.draft,
            threads=settings.threads,
            compute_type=settings.compute_type,
            device=settings.device,
        )
        self.options = self.transcriber.options(settings.options)
        self.limits = DecodeLimits(max_seconds=settings.max_duration)

    def __call__(self, paths: list[str]) -> list[dict]:
        """One record per path, in order. An error that ``transcribe_batch`` does not hand back
        per input (a bug, a torch error on odd audio) would lose the whole batch, so the batch
        is then run again one file at a time and only the culprit is recorded as failed."""
        try:
            results = self.transcriber.transcribe_batch(paths, self.options, limits=self.limits)
            if len(results) != len(paths):
                raise RuntimeError(f"{len(results)} results for {len(paths)} inputs")
        except Exception as error:  # recorded with its type; the run goes on
            if len(paths) > 1:
                return [record for path in paths for record in self([path])]
            results = [error]
        return [self._record(path, result) for path, result in zip(paths, results, strict=True)]

    @staticmethod
    def _record(path: str, result) -> dict:
        if isinstance(result, BaseException):
            return failed_record(path, result)
        return {"file": path, "status": "ok", **result.as_dict()}
