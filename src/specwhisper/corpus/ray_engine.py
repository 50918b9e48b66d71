"""The Ray engine: Ray Data feeds paths to actors that each hold one Transcriber.

``ray.data.from_items`` holds the paths; ``map_batches`` runs them through a pool of
``workers`` actors (each loads the models once, in its constructor); the driver streams the
records back as batches finish and writes them itself, exactly as the local engine's. Every
node must see the audio at the same path (a shared filesystem) and have specwhisper and the
model weights installed. Records travel as JSON text: Arrow would otherwise retype nested
fields (lists of segments, null words), and the records must not depend on the engine.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from ..errors import SpecwhisperError
from ..hardware import SHARED_CORES_OPENMP
from .work import FileTranscriber, WorkerSettings

RAY_EXTRA = "pip install 'specwhisper[ray]'"


class _RayTranscriber:
    """A Ray Data actor: the models load once, in the constructor.

    A setup error (a language the model does not know, weights missing on this node) is
    handed back in place of every record, for the driver to raise: an actor whose constructor
    raises is restarted by Ray Data again and again, and an exception raised by a batch
    reaches the driver only as text inside Ray's wrappers, after minutes of retries."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.setup_error: dict | None = None
        try:
            self.transcribe = FileTranscriber(settings)
        except SpecwhisperError as error:
            self.setup_error = {"type": error.__class__.__name__, "message": str(error)}

    def __call__(self, batch: dict) -> dict:
        paths = [str(path) for path in batch["path"]]
        if self.setup_error is not None:
            records = [{"file": path, "setup_error": self.setup_error} for path in paths]
        else:
            records = self.transcribe(paths)
        return {"record": [json.dumps(record, ensure_ascii=False) for record in records]}


def _raise_setup_error(record: dict) -> None:
    """Raise the worker's setup error as itself (the CLI maps it to exit code 2)."""
    from .. import errors

    error = record["setup_error"]
    kind = getattr(errors, error["type"], None)
    if not (isinstance(kind, type) and issubclass(kind, SpecwhisperError)):
        kind = SpecwhisperError
    raise kind(error["message"])


def run_ray(
    batches: list[list[str]],
    settings: WorkerSettings,
    workers: int,
    address: str | None = None,
) -> Iterator[list[dict]]:
    """Records of each batch, as batches finish (not in input order). ``address`` joins a
    running cluster (``auto`` or ``ray://host:10001``); without one a local Ray starts with
    the CPUs the workers ask for (workers x threads), and stops at the end."""
    try:
        import ray
    except ImportError:
        from .inputs import CorpusUsageError

        raise CorpusUsageError(f"--engine ray needs Ray: {RAY_EXTRA}", "engine") from None
    workers = min(workers, len(batches))  # an actor without a batch would only load models
    started = _connect(ray, address, workers * settings.threads)
    try:
        import ray.data

        # Ray Data logs each execution at INFO, and warns that its progress bars are off: the
        # driver draws its own bar, over audio seconds, and prints its own summary.
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        batch_size = max(len(batch) for batch in batches)
        items = [{"path": path} for batch in batches for path in batch]
        dataset = ray.data.from_items(items, override_num_blocks=len(batches))
        records = dataset.map_batches(
            _RayTranscriber,
            fn_constructor_kwargs={"settings": settings},
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=settings.threads,
        )
        for batch in records.iter_batches(batch_size=None, batch_format="numpy"):
            decoded = [json.loads(text) for text in batch["record"]]
            if decoded and "setup_error" in decoded[0]:
                _raise_setup_error(decoded[0])
            yield decoded
    finally:
        if started:
            ray.shutdown()


def _connect(ray, address: str | None, cpus: int) -> bool:
    """Join ``address`` or start a local Ray; True if this call started it."""
    if ray.is_initialized():
        return False
    settings = {
        "include_dashboard": False,
        "log_to_driver": False,
        # Ray logs its start at INFO, and a local cluster's token authentication as a warning.
        "logging_level": logging.ERROR,
        # Workers' idle OpenMP threads do not spin on shared cores (see work.py).
        "runtime_env": {"env_vars": dict(SHARED_CORES_OPENMP)},
    }
    if address:
        ray.init(address=address, **settings)
    else:
        # Logical CPUs, for Ray's bookkeeping: exactly what the actors ask for, so that Ray
        # starts no more work than the worker count the user chose.
        ray.init(num_cpus=cpus, **settings)
    return True
