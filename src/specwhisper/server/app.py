"""The FastAPI app: ``create_app(settings)`` wires settings, model pool, routes and errors.

Model work is blocking (torch on the CPU), so routes are ``async`` only to hold their place in
the queue on the event loop; decoding and transcription run in worker threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..transcribe import set_threads
from . import routes_native, routes_openai
from .errors import install_error_handlers
from .jobs import ServerState, preload
from .limits import UploadLimit
from .settings import ServerSettings

# A child of uvicorn's logger, so that our lines appear in its format wherever it logs.
log = logging.getLogger("uvicorn.error.specwhisper")

DESCRIPTION = """\
Whisper transcription accelerated by lossless speculative decoding: the text is exactly what
plain greedy decoding gives, only faster.

* A web page for people at `/`: upload or record, live segments, words highlighted as the
  audio plays, what speculative decoding did.
* Native API: `POST /transcribe`, `POST /transcribe/batch`, `GET /models`, `GET /health`.
* OpenAI-compatible: `POST /v1/audio/transcriptions`, `POST /v1/audio/translations`,
  `GET /v1/models`. Point the official client's `base_url` at `http://HOST:PORT/v1`.

Audio of any length up to the server's maximum duration, decoded window by window with
timestamps; `POST /transcribe/stream` sends segments as they are decoded. With API keys set,
send `Authorization: Bearer KEY`. Errors are `{"error": {"message", "type", "param", "code"}}`
on every route.
"""


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """A new app. ``settings`` default to ``SPECWHISPER_*`` environment variables."""
    settings = settings or ServerSettings()
    state = ServerState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        set_threads(settings.threads)
        # The default model (and any preload) loads before the server accepts a connection,
        # so the first request does not pay for it and a broken setup fails at startup.
        began = time.perf_counter()
        await preload(state, settings.warmup)
        loaded = ", ".join(key.label() for key in state.pool.loaded())
        log.info("models ready in %.1f s: %s", time.perf_counter() - began, loaded)
        yield

    app = FastAPI(
        title="specwhisper",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.specwhisper = state
    install_error_handlers(app)
    app.add_middleware(
        UploadLimit,
        max_upload_bytes=settings.max_upload_bytes,
        batch_files=min(settings.max_batch_files, settings.capacity),
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.mount("/static", StaticFiles(directory=routes_native.STATIC_DIR), name="static")
    app.include_router(routes_native.router)
    app.include_router(routes_native.protected)
    app.include_router(routes_openai.router)
    return app
