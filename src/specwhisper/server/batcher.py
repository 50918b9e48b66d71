"""Server batching: requests waiting for a worker at the same moment, for the same models and
options, are decoded together (``Transcriber.transcribe_batch``).

Nothing waits to form a batch: a worker that comes free takes the oldest waiting request and
every other waiting one that can share its decode (up to ``max_batch``). A lone request is
decoded exactly as before; under load, batches form by themselves, and each request's text
is still what it would be alone. Waiting is bounded as before (``request_timeout``: 503 with
Retry-After), and a client that leaves while its request waits gives its place up at once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import anyio
import anyio.to_thread

from ..decoding.options import TranscribeOptions
from ..errors import TranscriptionCancelled
from ..features import PreparedAudio
from ..transcribe import Transcription
from .catalog import ModelKey
from .pool import ClientWatch, Ticket, client_closed


@dataclass(eq=False)
class _Entry:
    key: ModelKey
    options: TranscribeOptions
    audio: PreparedAudio
    watch: ClientWatch
    ticket: Ticket
    queued_at: float = field(default_factory=time.perf_counter)
    running: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    result: Transcription | None = None
    error: BaseException | None = None
    waited: float = 0.0


class Batcher:
    def __init__(self, state, max_batch: int) -> None:
        self.state = state
        self.max_batch = max_batch
        self.waiting: list[_Entry] = []
        self._dispatchers = 0

    async def transcribe(
        self,
        key: ModelKey,
        options: TranscribeOptions,
        audio: PreparedAudio,
        watch: ClientWatch,
        ticket: Ticket,
    ) -> tuple[Transcription, float]:
        """The request's transcription and the seconds it waited for a worker."""
        entry = _Entry(key, options, audio, watch, ticket)
        self.waiting.append(entry)
        self._start_dispatchers()
        admission = self.state.admission
        with anyio.move_on_after(admission.timeout):
            async with anyio.create_task_group() as group:

                async def finished() -> None:
                    await entry.done.wait()
                    group.cancel_scope.cancel()

                async def gone() -> None:
                    await watch.wait_gone()
                    if not entry.running:
                        group.cancel_scope.cancel()

                group.start_soon(finished)
                group.start_soon(gone)
        if not entry.done.is_set():
            if entry.running:  # started: a transcription that has begun always finishes
                with anyio.CancelScope(shield=True):
                    await entry.done.wait()
            else:
                self.waiting.remove(entry)
                if watch.gone.is_set():
                    admission.on_abandoned()
                    raise client_closed()
                raise admission.busy(
                    f"timed out after {admission.timeout:g} s waiting for a free worker",
                    "queue_timeout",
                )
        if entry.error is not None:
            raise entry.error
        assert entry.result is not None
        return entry.result, entry.waited

    def _start_dispatchers(self) -> None:
        # One dispatcher per worker: each takes a batch whenever it holds a worker.
        while self._dispatchers < self.state.admission.concurrency:
            self._dispatchers += 1
            asyncio.ensure_future(self._dispatch())

    async def _dispatch(self) -> None:
        admission = self.state.admission
        try:
            while self.waiting:
                async with admission.worker():
                    batch = self._take()
                    if batch:
                        await self._run(batch)
        finally:
            self._dispatchers -= 1
            if self.waiting:  # an entry arrived as this dispatcher was leaving
                self._start_dispatchers()

    def _take(self) -> list[_Entry]:
        """The oldest waiting entry whose client is still there, and the waiting entries that
        can share its decode."""
        alive = [e for e in self.waiting if not e.watch.gone.is_set()]
        if not alive:
            return []
        first = alive[0]
        batch = [e for e in alive if e.key == first.key and e.options == first.options]
        batch = batch[: self.max_batch]
        for entry in batch:
            self.waiting.remove(entry)
            entry.running = True
            entry.waited = time.perf_counter() - entry.queued_at
        return batch

    async def _run(self, batch: list[_Entry]) -> None:
        state = self.state
        admission = state.admission
        admission.running += len(batch) - 1  # the worker already counts one
        began = time.perf_counter()

        def work() -> list:
            with state.pool.borrow(batch[0].key) as transcriber:
                return transcriber.transcribe_batch(
                    [entry.audio for entry in batch],
                    batch[0].options,
                    should_stop=[entry.watch.gone.is_set for entry in batch],
                    batch_size=len(batch),
                )

        try:
            results = await anyio.to_thread.run_sync(work, limiter=admission.threads)
        except Exception as error:  # the whole batch failed: each request gets the error
            results = [error] * len(batch)
        finally:
            admission.running -= len(batch) - 1
        windows = 0
        for entry, result in zip(batch, results, strict=True):
            if isinstance(result, Transcription):
                entry.result = result
                windows += result.stats.windows
                state.counters.add(completed=1, windows_decoded=result.stats.windows)
            else:
                if isinstance(result, TranscriptionCancelled):
                    state.counters.add(cancelled=1, windows_decoded=result.windows)
                entry.error = result
            entry.ticket.windows = 0.0
            entry.done.set()
        admission.record(max(windows, 1), time.perf_counter() - began)
