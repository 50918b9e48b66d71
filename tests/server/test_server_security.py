"""API keys and CORS (in process; the openai client against a real server is in
test_server_live.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from server_helpers import fast_settings

from specwhisper.server.app import create_app


def _post(client, **headers):
    files = {"file": ("clip.wav", b"RIFF", "audio/wav")}
    return client.post("/transcribe", files=files, headers=headers)


def test_keys_guard_every_transcription_and_model_route():
    app = create_app(fast_settings(api_keys="first-key, second-key"))
    with TestClient(app) as client:
        for path in ("/models", "/v1/models", "/v1/models/tiny.en"):
            missing = client.get(path)
            assert (
                missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
            )
            assert missing.headers["WWW-Authenticate"] == "Bearer"
            wrong = client.get(path, headers={"Authorization": "Bearer nope"})
            assert wrong.json()["error"]["code"] == "invalid_api_key"
            ok = client.get(path, headers={"Authorization": "Bearer second-key"})
            assert ok.status_code == 200, path
        for path in ("/transcribe", "/transcribe/stream", "/v1/audio/transcriptions"):
            response = client.post(path, files={"file": ("clip.wav", b"RIFF")})
            assert response.status_code == 401, path
        # With the key, the request reaches the audio check (these bytes are not audio).
        assert _post(client, Authorization="Bearer first-key").status_code == 415
        assert client.get("/health").status_code == 200  # open for load balancers
        assert client.get("/docs").status_code == 200


def test_keys_never_appear_in_answers():
    app = create_app(fast_settings(api_keys="s3cret-key"))
    with TestClient(app) as client:
        wrong = client.get("/v1/models", headers={"Authorization": "Bearer s3cret-kez"})
        assert "s3cret" not in wrong.text
        assert "s3cret" not in repr(app.state.specwhisper.settings)


def test_cors_is_closed_by_default_and_opens_to_configured_origins():
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    with TestClient(create_app(fast_settings())) as client:
        response = client.options("/transcribe", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    app = create_app(fast_settings(cors_origins="https://app.example"))
    with TestClient(app) as client:
        response = client.options("/transcribe", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        other = client.options(
            "/transcribe", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
