"""Optional API keys: ``Authorization: Bearer KEY``, as OpenAI's clients send ``api_key``.

With no keys configured the server is open. With keys, a request without one or with a wrong
one is answered 401 in OpenAI's error shape (its clients raise ``AuthenticationError``).
Keys are compared in constant time against every configured key (the answer takes as long
whichever key, if any, matches) and never appear in messages or logs.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from .errors import ApiError


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def key_matches(presented: str, keys: list[str]) -> bool:
    """Whether ``presented`` equals one of ``keys``, comparing with every key in constant
    time."""
    given = presented.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key.encode())
    return matched


async def require_key(request: Request) -> None:
    """FastAPI dependency of the protected routes."""
    keys = [key.get_secret_value() for key in request.app.state.specwhisper.settings.api_keys]
    if not keys:
        return
    presented = _presented_key(request)
    headers = {"WWW-Authenticate": "Bearer"}
    if presented is None:
        raise ApiError(
            401,
            "missing API key: send the header 'Authorization: Bearer YOUR_KEY' (with the "
            "openai client: api_key=YOUR_KEY)",
            "missing_api_key",
            headers=headers,
        )
    if not key_matches(presented, keys):
        raise ApiError(
            401,
            "incorrect API key provided; ask the server's operator for a valid key",
            "invalid_api_key",
            headers=headers,
        )
