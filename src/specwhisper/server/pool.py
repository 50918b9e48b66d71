"""Transcribers shared by requests, and the bounded queue in front of them.

Two guarantees: no Transcriber serves two requests at once (each is checked out by one worker
thread and back in when done), and at most ``capacity`` requests are inside the server at once
(running or waiting); the rest are answered 503 with a Retry-After, never silently dropped.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import Request

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

    def __init__(self, threads: int | None = None, device: str | None = None) -> None:
        self.threads = threads
        self.device = device
        self._lock = threading.Lock()
        self._idle: dict[ModelKey, list[Transcriber]] = {}
        self._languages: dict[ModelKey, dict[str, int]] = {}
        self._creating: dict[ModelKey, threading.Lock] = {}
        self._failures: dict[ModelKey, tuple[float, ApiError]] = {}
        self._first: dict[ModelKey, Transcriber] = {}  # for read-only use (options, audio)

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
                        self._first[key] = transcriber
                        self._languages[key] = transcriber.main.special.languages
        return self._languages[key]

    def reference(self, key: ModelKey) -> Transcriber:
        """A Transcriber of ``key`` for read-only calls (``options``, ``prepare``) that any
        thread may make while another uses it to transcribe."""
        self.prepare(key)
        return self._first[key]

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
                load_model(key.model, self.device)
            except Exception as error:
                raise api_error(error, "model") from error
            try:  # the main model is cached now: what fails here is the draft
                return Transcriber(
                    key.model,
                    key.draft,
                    threads=self.threads,
                    compute_type=key.compute_type,
                    device=self.device,
                )
            except Exception as error:
                # An option the main model refuses (int8 on a GPU) names itself.
                raise api_error(error, getattr(error, "field", None) or "draft") from error
        except ApiError as error:
            if error.status < 500:
                with self._lock:
                    self._failures[key] = (time.monotonic(), error)
            raise


# How often a waiting or running request checks that its client is still connected. Each check
# also lets uvicorn read the socket again, which is how it learns that a client closed it.
CLIENT_POLL_S = 0.25
# Seeds the measured seconds one 30 s window costs, until a transcription has been timed.
_FIRST_GUESS_WINDOW_S = 2.0
MAX_RETRY_AFTER_S = 3600


class ClientWatch:
    """Whether the HTTP client of a request is still there. ``gone`` is a threading.Event, so
    that a transcription running in a worker thread can check it between windows."""

    def __init__(self, request: Request | None) -> None:
        self.request = request
        self.gone = threading.Event()

    async def wait_gone(self) -> None:
        """Return once the client has disconnected (never, without a request)."""
        if self.request is None:
            await anyio.sleep_forever()
        while not self.gone.is_set():
            if await self.request.is_disconnected():
                self.gone.set()
                return
            await anyio.sleep(CLIENT_POLL_S)


@dataclass(eq=False)  # tickets are told apart by identity: two may hold equal numbers
class Ticket:
    """One admitted request's place; ``windows`` is its work still to do, in 30 s windows
    (unknown until its audio has been scanned: counted as one)."""

    count: int
    windows: float | None = None


class Admission:
    """At most ``concurrency`` transcriptions run at once; at most ``capacity`` requests are
    admitted (running + waiting). Used from the event loop, so the counters need no lock
    (worker threads only update a ticket's remaining work, a float)."""

    def __init__(
        self,
        concurrency: int,
        capacity: int,
        timeout: float,
        on_abandoned: Callable[[], None] | None = None,
    ) -> None:
        self.on_abandoned = on_abandoned or (lambda: None)
        self.concurrency = concurrency
        self.capacity = capacity
        self.timeout = timeout
        self.inside = 0  # admitted and not yet answered
        self.running = 0
        self._tickets: list[Ticket] = []
        self._workers = anyio.Semaphore(concurrency)
        # Threads of their own: anyio's shared pool (40 threads) also serves file reads and
        # audio decoding, and must never make a transcription wait that holds a worker.
        self.threads = anyio.CapacityLimiter(concurrency)
        # Measured seconds per 30 s window of audio (moving average), for Retry-After.
        self.window_s = _FIRST_GUESS_WINDOW_S

    @property
    def waiting(self) -> int:
        return self.inside - self.running

    def queued_windows(self) -> float:
        """Work admitted and not yet done, in windows."""
        return sum((t.windows if t.windows is not None else 1.0) * t.count for t in self._tickets)

    def retry_after(self) -> int:
        """Seconds until the work admitted now is likely done, from the audio it holds and
        the measured cost of a window (1..3600)."""
        seconds = self.queued_windows() * self.window_s / self.concurrency
        return max(1, min(MAX_RETRY_AFTER_S, math.ceil(seconds)))

    def record(self, windows: float, seconds: float) -> None:
        """A transcription of ``windows`` windows took ``seconds``: update the cost."""
        if windows > 0 and seconds > 0:
            self.window_s += 0.3 * (seconds / windows - self.window_s)

    def busy(self, reason: str, code: str) -> ApiError:
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
    def admit(self, count: int = 1) -> Iterator[Ticket]:
        """Hold ``count`` places in the queue (a batch takes one per file), or raise 503."""
        if self.inside + count > self.capacity:
            raise self.busy(
                f"server busy: {self.inside} requests are running or queued (capacity "
                f"{self.capacity})",
                "queue_full",
            )
        ticket = Ticket(count)
        self.inside += count
        self._tickets.append(ticket)
        try:
            yield ticket
        finally:
            self.inside -= count
            self._tickets.remove(ticket)

    @asynccontextmanager
    async def worker(self) -> AsyncIterator[None]:
        """Hold a worker, waiting as long as it takes (the batcher's dispatchers: the requests
        themselves keep their own deadlines)."""
        await self._workers.acquire()
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._workers.release()

    @asynccontextmanager
    async def slot(self, watch: ClientWatch | None = None) -> AsyncIterator[float]:
        """Wait for a free worker (at most ``timeout`` s) and hold it; yields the seconds
        waited. A client that leaves while waiting gives its place up at once (499)."""
        queued_at = time.perf_counter()
        acquired = False
        with anyio.move_on_after(self.timeout) as waited:
            async with anyio.create_task_group() as group:

                async def cancel_when_gone() -> None:
                    await watch.wait_gone()  # type: ignore[union-attr]
                    group.cancel_scope.cancel()

                if watch is not None:
                    group.start_soon(cancel_when_gone)
                await self._workers.acquire()
                acquired = True
                group.cancel_scope.cancel()
        if not acquired:
            if waited.cancelled_caught:
                raise self.busy(
                    f"timed out after {self.timeout:g} s waiting for a free worker",
                    "queue_timeout",
                )
            self.on_abandoned()
            raise client_closed()
        try:
            if watch is not None and watch.gone.is_set():
                self.on_abandoned()
                raise client_closed()
            self.running += 1
            try:
                yield time.perf_counter() - queued_at
            finally:
                self.running -= 1
        finally:
            self._workers.release()

    async def run(self, work: Callable[[], T], watch: ClientWatch | None = None) -> tuple[T, float]:
        """Run ``work`` in a worker thread once a worker is free, unless the client has gone
        by then (clients that time out and retry would otherwise make an overloaded server do
        everything twice). While it runs, ``watch.gone`` is kept up to date, so that the work
        can stop between windows. Returns the result of ``work`` and the seconds waited."""
        async with self.slot(watch) as waited:
            failure: Exception | None = None
            async with anyio.create_task_group() as group:
                if watch is not None:
                    group.start_soon(watch.wait_gone)
                # Once started, the thread is not cancelled (anyio's default): it stops by
                # itself when ``watch.gone`` is set, and its Transcriber must be checked in.
                try:
                    result = await anyio.to_thread.run_sync(work, limiter=self.threads)
                except Exception as error:  # raised as itself, not as a task group's group
                    failure = error
                group.cancel_scope.cancel()
            if failure is not None:
                raise failure
            return result, waited


def client_closed() -> ApiError:
    return ApiError(499, "client closed the connection while queued", "client_closed")
