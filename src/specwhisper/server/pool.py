"""Transcribers shared by requests, and the bounded queue in front of them.

Two guarantees: no Transcriber serves two requests at once (each is checked out by one worker
thread and back in when done), and at most ``capacity`` requests are inside the server at once
(running or waiting); the rest are answered 503 with a Retry-After, never silently dropped.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import anyio
import anyio.to_thread

from ..models.loading import load_model
from ..transcribe import Transcriber
from .catalog import ModelKey
from .errors import ApiError, api_error

T = TypeVar("T")

# A hub model that failed to load is not retried for this long: without a network each try
# spends ~30 s in download retries, and every request for it would pay that again.
FAILURE_MEMORY_S = 300.0


class TranscriberPool:
    """Transcribers by (model, draft). Loaded models are cached per process by the engine, so
    extra instances of one key share weights; they exist only when ``concurrency`` > 1 and
    several requests for the same key run together."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._idle: dict[ModelKey, list[Transcriber]] = {}
        self._languages: dict[ModelKey, dict[str, int]] = {}
        self._creating: dict[ModelKey, threading.Lock] = {}
        self._failures: dict[ModelKey, tuple[float, ApiError]] = {}

    def loaded(self) -> list[ModelKey]:
        with self._lock:
            return sorted(self._languages)

    def prepare(self, key: ModelKey) -> dict[str, int]:
        """Load ``key`` once (blocking) and return its main model's language codes -> ids
        (empty for English-only models). Raises ApiError when it cannot be loaded."""
        if key not in self._languages:
            with self._lock:
                creating = self._creating.setdefault(key, threading.Lock())
            with creating:  # one load per key, however many requests ask at once
                if key not in self._languages:
                    transcriber = self._create(key)
                    with self._lock:
                        self._idle.setdefault(key, []).append(transcriber)
                        self._languages[key] = transcriber.main.special.languages
        return self._languages[key]

    @contextmanager
    def borrow(self, key: ModelKey) -> Iterator[Transcriber]:
        """A Transcriber for ``key`` that no one else uses until the block ends."""
        self.prepare(key)
        with self._lock:
            idle = self._idle[key]
            transcriber = idle.pop() if idle else None
        if transcriber is None:  # every instance is busy: only when concurrency > 1
            transcriber = self._create(key)
        try:
            yield transcriber
        finally:
            with self._lock:
                self._idle[key].append(transcriber)

    def _create(self, key: ModelKey) -> Transcriber:
        with self._lock:
            failed = self._failures.get(key)
        if failed and time.monotonic() - failed[0] < FAILURE_MEMORY_S:
            error = failed[1]
            raise ApiError(error.status, error.message, error.code, error.param, error.type)
        try:
            try:
                load_model(key.model)
            except Exception as error:
                raise api_error(error, "model") from error
            try:  # the main model is cached now: what fails here is the draft
                return Transcriber(key.model, key.draft, threads=self.threads)
            except Exception as error:
                raise api_error(error, "draft") from error
        except ApiError as error:
            if error.status < 500:
                with self._lock:
                    self._failures[key] = (time.monotonic(), error)
            raise


class Admission:
    """At most ``concurrency`` transcriptions run at once; at most ``capacity`` requests are
    admitted (running + waiting). Used only from the event loop, so the counter needs no lock."""

    def __init__(self, concurrency: int, capacity: int, timeout: float) -> None:
        self.concurrency = concurrency
        self.capacity = capacity
        self.timeout = timeout
        self.inside = 0  # admitted and not yet answered
        self.running = 0
        self._workers = anyio.Semaphore(concurrency)
        # Threads of their own: anyio's shared pool (40 threads) also serves file reads and
        # audio decoding, and must never make a transcription wait that holds a worker.
        self._threads = anyio.CapacityLimiter(concurrency)
        # Running mean of a transcription's seconds, for Retry-After; seeded with a guess.
        self._mean_run_s = 2.0

    @property
    def waiting(self) -> int:
        return self.inside - self.running

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained by one place (1..120)."""
        rounds = (self.waiting + 1) / self.concurrency
        return max(1, min(120, math.ceil(rounds * self._mean_run_s)))

    def _busy(self, reason: str, code: str) -> ApiError:
        """A 503 that tells the client when to come back."""
        seconds = self.retry_after()
        return ApiError(
            503,
            f"{reason}; retry in about {seconds} s",
            code,
            type="server_error",
            headers={"Retry-After": str(seconds)},
        )

    @contextmanager
    def admit(self, count: int = 1) -> Iterator[None]:
        """Hold ``count`` places in the queue (a batch takes one per file), or raise 503."""
        if self.inside + count > self.capacity:
            raise self._busy(
                f"server busy: {self.inside} requests are running or queued (capacity "
                f"{self.capacity})",
                "queue_full",
            )
        self.inside += count
        try:
            yield
        finally:
            self.inside -= count

    async def run(
        self, work: Callable[[], T], client_gone: Callable[[], Awaitable[bool]] | None = None
    ) -> tuple[T, float]:
        """Wait for a free worker (at most ``timeout`` s), then run ``work`` in a thread, unless
        ``client_gone()`` says by then that nobody is waiting for the answer any more (clients
        that time out and retry would otherwise make an overloaded server do everything twice).
        Returns the result of ``work`` and the seconds spent waiting."""
        queued_at = time.perf_counter()
        with anyio.move_on_after(self.timeout) as waited:
            await self._workers.acquire()
        if waited.cancelled_caught:
            raise self._busy(
                f"timed out after {self.timeout:g} s waiting for a free worker", "queue_timeout"
            )
        try:
            if client_gone is not None and await client_gone():
                raise ApiError(499, "client closed the connection while queued", "client_closed")
            started = time.perf_counter()
            self.running += 1
            try:
                # Once started, the work is shielded from cancellation (anyio's default): a
                # thread cannot be stopped, and its Transcriber must be checked back in.
                result = await anyio.to_thread.run_sync(work, limiter=self._threads)
            finally:
                self.running -= 1
                self._mean_run_s += 0.2 * (time.perf_counter() - started - self._mean_run_s)
            return result, started - queued_at
        finally:
            self._workers.release()
