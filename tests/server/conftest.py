"""Server fixtures: in-process apps on the real bundled models, and one real uvicorn process.

Every request goes to 127.0.0.1 or through an in-process transport; no other network.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile
from server_helpers import TEST_UPLOAD_LIMIT, LiveServer, fast_settings, start_server

from specwhisper.server.app import create_app


@pytest.fixture(scope="session")
def clips(dev_set) -> list[Path]:
    """Short dev clips (< 7 s), shortest first."""
    short = [u.audio_path for u in dev_set if soundfile.info(u.audio_path).duration < 7]
    return sorted(short, key=lambda path: soundfile.info(path).duration)


@pytest.fixture(scope="session")
def clip_bytes(clips) -> bytes:
    return clips[0].read_bytes()


@pytest.fixture(scope="module")
def client():
    """An in-process app (lifespan run) serving tiny.en by default."""
    from fastapi.testclient import TestClient

    with TestClient(create_app(fast_settings())) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """A real server: tiny.en by default, base with its int8 self-draft preloaded, two
    transcriptions at a time on one torch thread each."""
    server = start_server(
        {
            "default_model": "tiny.en",
            "default_draft": "none",
            "preload": "base:self-int8",
            "concurrency": "2",
            "threads": "1",
            "max_upload_bytes": str(TEST_UPLOAD_LIMIT),
        }
    )
    try:
        yield server
    finally:
        # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
        assert server.stop() in (0, -15), "the server did not shut down cleanly"
