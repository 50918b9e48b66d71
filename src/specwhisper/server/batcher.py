"""Server batching: requests for the same models and options are decoded together, with
continuous batching (``batching.Scheduler``).

Nothing waits to form a batch: a worker that comes free takes the oldest waiting request and
every other waiting one that can share its decode (up to ``max_batch``), and while that batch
runs, a request that arrives for the same models and options takes the place of one that
finished, at once. A lone request is decoded exactly as before; under load, batches form and
stay full by themselves, and each request's text is still what it would be alone. Waiting is
bounded as before (``request_timeout``: 503 with Retry-After), and a client that leaves while
its request waits gives its place up at once.
"""

from __future__ import annotations

import asyncio
import threading
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
        # Worker threads take waiting entries too (continuous batching): the list's changes
        # happen under this lock, and an entry's ``running`` with them.
        self.lock = threading.Lock()
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
        with self.lock:
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
            with self.lock:
                started = entry.running
                if not started:
                    self.waiting.remove(entry)
            if started:  # a transcription that has begun always finishes
                with anyio.CancelScope(shield=True):
                    await entry.done.wait()
            else:
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
        with self.lock:
            alive = [e for e in self.waiting if not e.watch.gone.is_set()]
            if not alive:
                return []
            first = alive[0]
            batch = [e for e in alive if e.key == first.key and e.options == first.options]
            batch = batch[: self.max_batch]
            for entry in batch:
                self._start(entry)
            return batch

    def _start(self, entry: _Entry) -> None:
        self.waiting.remove(entry)
        entry.running = True
        entry.waited = time.perf_counter() - entry.queued_at

    def _join(self, like: _Entry) -> _Entry | None:
        """From a worker thread: the oldest waiting entry, if it can join ``like``'s batch.
        Only the oldest: one that needs another model or other options must not wait behind
        a stream of newer requests that keep a batch alive (the batch drains, and the worker
        goes to it)."""
        with self.lock:
            for entry in self.waiting:
                if entry.watch.gone.is_set():
                    continue
                if entry.key == like.key and entry.options == like.options:
                    self._start(entry)
                    return entry
                return None
        return None

    async def _run(self, batch: list[_Entry]) -> None:
        state = self.state
        admission = state.admission
        loop = asyncio.get_running_loop()
        began = time.perf_counter()
        entries: list[_Entry] = []
        extra = 0  # running entries beyond the worker's own count
        windows = 0

        def counted(delta: int) -> None:
            nonlocal extra
            extra += delta
            admission.running += delta

        def feed():
            """The batch's entries, then whoever arrives for the same decode; None when
            nobody waits (the scheduler asks again when a place is free). Runs in the worker
            thread."""
            for entry in batch:
                entries.append(entry)
                yield entry.audio
            while True:
                entry = self._join(batch[0])
                if entry is None:
                    yield None
                    continue
                entries.append(entry)
                state.counters.add(joined=1)
                loop.call_soon_threadsafe(counted, 1)
                yield entry.audio

        def deliver(entry: _Entry, result) -> None:
            nonlocal windows
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

        def work() -> None:
            with state.pool.borrow(batch[0].key) as transcriber:
                finished = transcriber.transcribe_queue(
                    feed(),
                    batch[0].options,
                    stop_for=lambda index: entries[index].watch.gone.is_set,
                    batch_size=self.max_batch,
                )
                for index, result in finished:
                    loop.call_soon_threadsafe(deliver, entries[index], result)

        counted(len(batch) - 1)  # the worker already counts one
        try:
            await anyio.to_thread.run_sync(work, limiter=admission.threads)
        except Exception as error:  # the run failed: every entry not answered gets the error
            await asyncio.sleep(0)  # let the deliveries already scheduled land first
            # The batch's own entries too: a run may fail before it read any of them. Joiners
            # come after all of them in ``entries`` (the feed reads the batch first).
            for entry in [*batch, *entries[len(batch) :]]:
                if not entry.done.is_set():
                    deliver(entry, error)
        finally:
            await asyncio.sleep(0)
            admission.running -= extra
        admission.record(max(windows, 1), time.perf_counter() - began)
