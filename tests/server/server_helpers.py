"""Helpers for the server tests (a module of its own: conftest.py is not importable)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile

from specwhisper.server.settings import ServerSettings

ROOT = Path(__file__).resolve().parents[2]
# Upload limit of the test servers: above every dev clip (<= 0.6 MB), below what 413 tests send.
TEST_UPLOAD_LIMIT = 1_000_000


def fast_settings(**overrides) -> ServerSettings:
    """tiny.en without a draft: the fastest real model, for tests about the HTTP layer."""
    values = dict(
        default_model="tiny.en",
        default_draft="none",
        warmup=False,
        max_upload_bytes=TEST_UPLOAD_LIMIT,
        max_audio_seconds=600,
    )
    return ServerSettings(**{**values, **overrides})


def flac_of_silence(seconds: float) -> bytes:
    """A 16 kHz FLAC of digital silence, written a minute at a time: hours of audio in a few
    hundred kB, without holding hours of samples."""
    buffer = io.BytesIO()
    minute = np.zeros(16000 * 60, dtype=np.int16)
    with soundfile.SoundFile(buffer, "w", 16000, 1, format="FLAC", subtype="PCM_16") as file:
        for _ in range(int(seconds // 60)):
            file.write(minute)
        file.write(minute[: int(16000 * (seconds % 60))])
    return buffer.getvalue()


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM (uvicorn finishes in-flight requests, then exits); the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.log_path.unlink(missing_ok=True)
        return code


def start_server(
    settings: dict[str, str],
    *args: str,
    timeout: float = 180,
    command: str = "serve",
    env: dict[str, str] | None = None,
) -> LiveServer:
    """``python main.py serve`` (or ``command``: ``api``, the original project's name) on a free
    loopback port with ``SPECWHISPER_*`` ``settings`` and other variables ``env``; returns once
    /health answers."""
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        # Idle OpenMP threads sleep instead of spinning: steadier timings on a shared CPU.
        "OMP_WAIT_POLICY": "PASSIVE",
        **{f"SPECWHISPER_{name.upper()}": value for name, value in settings.items()},
        **(env or {}),
    }
    log = tempfile.NamedTemporaryFile(prefix="specwhisper-", suffix=".log", delete=False)
    argv = [sys.executable, "main.py", command, "--port", str(port), *args]
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()  # the child holds its own descriptor
    server = LiveServer(f"http://127.0.0.1:{port}", process, Path(log.name))
    try:
        wait_until_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(server: LiveServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited with {server.process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"server not healthy after {timeout} s:\n{server.log()}")


def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with ``fields`` and one ``file`` part; and its content type."""
    boundary = "specwhisper-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def raw_post(url: str, path: str, body: bytes, content_type: str, send: int | None = None):
    """A POST over a plain socket (no client library in between); returns the open socket.
    ``send``: bytes of the body to send (default all), for clients that stall mid-upload."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock.sendall(head + body[: len(body) if send is None else send])
    return sock


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of process ``pid`` in MB (``VmHWM``: its peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def wait_for(condition, timeout: float = 60.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError("condition not met in time")
