"""One error shape for every route: ``{"error": {"message", "type", "param", "code"}}``.

That is the shape OpenAI's API returns, so the official clients raise their usual exceptions
with our message; the native routes use it too, so that clients need one parser.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    AudioDecodeError,
    AudioTooLongError,
    DraftError,
    ModelUnavailableError,
    OptionsError,
    TranscriptionCancelled,
    UnknownModelError,
)

# A child of uvicorn's logger, so that our lines appear in its format wherever it logs.
log = logging.getLogger("uvicorn.error.specwhisper")

INVALID = "invalid_request_error"  # OpenAI's type for everything the client can fix


class ApiError(Exception):
    """An answer other than 2xx, raised anywhere in a request and rendered by one handler."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        param: str | None = None,
        type: str = INVALID,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type
        self.headers = headers or {}

    def body(self) -> dict:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.body()}, self.status, headers=self.headers)


def api_error(error: Exception, param: str | None = None) -> ApiError:
    """The HTTP answer for an engine exception. ``param`` names the field it came from."""
    if isinstance(error, ApiError):
        return error
    message = str(error)
    if isinstance(error, AudioTooLongError):
        return ApiError(400, message, "audio_too_long", param or "file")
    if isinstance(error, AudioDecodeError):
        return ApiError(415, message, "unsupported_audio", param or "file")
    if isinstance(error, OptionsError):
        return ApiError(422, message, "invalid_value", param or error.field)
    if isinstance(error, TranscriptionCancelled):
        return ApiError(499, message, "client_closed", None)
    if isinstance(error, UnknownModelError):
        return ApiError(400, message, "unknown_model", param or "model")
    if isinstance(error, DraftError):
        return ApiError(400, message, "invalid_draft", param or "draft")
    if isinstance(error, ModelUnavailableError):
        return ApiError(400, message, "model_unavailable", param or "model")
    log.error("unexpected error in a request", exc_info=error)
    return ApiError(
        500,
        f"internal error ({error.__class__.__name__}); see the server log",
        "internal_error",
        type="server_error",
    )


def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    first = problems[0] if problems else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    param = ".".join(location) or None
    message = "; ".join(_describe(problem) for problem in problems) or "invalid request"
    return ApiError(422, message, "invalid_value", param).response()


def _describe(problem: dict) -> str:
    location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query")]
    field = ".".join(location) or "request"
    return f"{field}: {problem.get('msg', 'invalid value')}"


def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and str(error.detail).startswith("Invalid multipart data"):
        # python-multipart refuses a part header line over 4 KB: in practice a file name.
        return ApiError(
            400,
            "the multipart form could not be parsed: a part header is too long (a file name "
            "over about 4000 characters) or the form is malformed; send a shorter file name",
            "invalid_multipart",
            "file",
        ).response()
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(error.status_code, "http_error")
    kind = INVALID if error.status_code < 500 else "server_error"
    headers = dict(error.headers or {})
    return ApiError(
        error.status_code, str(error.detail), code, type=kind, headers=headers
    ).response()


def _api_error(request: Request, error: Exception) -> JSONResponse:
    return api_error(error).response()


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Engine errors that escape a route (rendered as the table in ``api_error`` says), and
    # anything unexpected: a JSON 500 in the same shape, the server goes on.
    engine_errors = (
        AudioDecodeError,
        OptionsError,
        UnknownModelError,
        DraftError,
        ModelUnavailableError,
    )
    for kind in (ApiError, *engine_errors):
        app.add_exception_handler(kind, _api_error)
    app.add_exception_handler(Exception, _api_error)


_DESCRIPTIONS = {
    400: "empty file, audio over the maximum duration, unknown model, or a model that needs a "
    "network",
    401: "missing or wrong API key (when the server has keys)",
    404: "no such model",
    413: "upload over the size limit",
    415: "not audio in an accepted format",
    422: "a field has a bad value (`param` names it)",
    503: "queue full or wait timed out: retry after the Retry-After header's seconds",
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI entries for ``statuses``, all in the one error shape."""
    from .schemas import ErrorResponse

    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        for status in statuses
    }
