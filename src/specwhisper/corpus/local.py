"""The local engine: worker processes on this machine, each holding one Transcriber.

Processes are started with ``spawn`` (a forked copy of a parent that has touched torch or
OpenMP can deadlock) and load their models on their first batch, so that a setup error (a
language the model does not know) reaches the driver as itself rather than as a dead pool.
At most two batches per worker are queued: a killed run loses only those.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from ..hardware import share_cores_politely
from .work import FileTranscriber, WorkerSettings, failed_record

QUEUED_PER_WORKER = 2
_PARENT_CHECK_S = 1.0

_worker: FileTranscriber | None = None  # this worker process's Transcriber


def run_local(
    batches: list[list[str]], settings: WorkerSettings, workers: int
) -> Iterator[list[dict]]:
    """Records of each batch, as batches finish (not in input order)."""
    remaining = iter(batches)
    pool = _start_pool(workers)
    in_flight: dict[Future, list[str]] = {}
    try:
        while True:
            while len(in_flight) < workers * QUEUED_PER_WORKER:
                batch = next(remaining, None)
                if batch is None:
                    break
                in_flight[pool.submit(_transcribe_batch, settings, batch)] = batch
            if not in_flight:
                return
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                batch = in_flight.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    broken = True
                    yield [failed_record(path, _died()) for path in batch]
            if broken:
                # A worker died (killed, out of memory, a crash in native code): every batch
                # it shared the pool with is lost too. Record them, start a fresh pool.
                for batch in in_flight.values():
                    yield [failed_record(path, _died()) for path in batch]
                in_flight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _start_pool(workers)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _died() -> RuntimeError:
    return RuntimeError(
        "the worker process died while this file was in its batch (out of memory or a crash); "
        "run the same command again to retry (with --batch-size 1 to find the culprit)"
    )


def _start_pool(workers: int) -> ProcessPoolExecutor:
    # Set here, for the children to inherit: a spawned worker re-imports the driver's main
    # module, which may load torch (and OpenMP) before the worker's own code runs. Spinning
    # OpenMP waiters made the dev set 4.6x slower on 2 busy cores (230 s against 50 s).
    share_cores_politely()
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_watch_parent,
        initargs=(os.getpid(),),
    )


def _watch_parent(parent: int) -> None:
    """Exit when the driver is gone: a driver killed with SIGKILL cannot stop its pool, and
    orphaned workers would keep their models in memory and wait for work forever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _transcribe_batch(settings: WorkerSettings, paths: list[str]) -> list[dict]:
    global _worker
    if _worker is None:
        _worker = FileTranscriber(settings)
    return _worker(paths)
