"""A request body size limit, enforced while the body streams in (ASGI middleware).

Checked before any route runs, so an oversized upload is never buffered: a declared
Content-Length over the limit is refused at once, and a chunked body is cut off as soon as it
passes the limit. Either way the rest of the body is read and thrown away (up to a cap) before
the 413 goes out, because most HTTP clients only read a response once they have sent the body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError

# Room for the multipart boundaries, part headers and the small form fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
# Past this many bytes beyond the limit we stop draining and let the connection drop.
DRAIN_CAP_BYTES = 64 * 1024 * 1024


class _TooLarge(Exception):
    pass


class UploadLimit:
    """``max_upload_bytes`` per file: a request body may hold one file of that size, or
    ``batch_files`` of them on the batch route (each file is then checked by the route)."""

    def __init__(self, app: ASGIApp, max_upload_bytes: int, batch_files: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes
        self.batch_files = batch_files

    def max_body(self, path: str) -> int:
        files = self.batch_files if path.rstrip("/").endswith("/batch") else 1
        return files * self.max_upload_bytes + FORM_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_body = self.max_body(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > max_body:
            await _drain(receive)
            await self._reject(send, declared)
            return

        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body and not started:
                    too_large = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:  # the app's answer to a cut-off body is replaced by our 413
                return
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            pass  # FastAPI usually turns it into a 400 first; guarded_send swallowed that
        if too_large:
            await _drain(receive)
            await self._reject(send, received)

    async def _reject(self, send: Send, size: int) -> None:
        error = ApiError(
            413,
            f"upload too large: the request body is at least {size} bytes; the limit is "
            f"{self.max_upload_bytes} bytes per file (SPECWHISPER_MAX_UPLOAD_BYTES)",
            "file_too_large",
            "file",
            headers={"Connection": "close"},
        )
        response = error.response()
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _drain(receive: Receive) -> None:
    drained = 0
    while drained <= DRAIN_CAP_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
