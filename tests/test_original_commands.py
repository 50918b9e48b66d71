"""The original project's command lines work as its users type them (with --samples 1):

    python main.py benchmark --mode speculative --samples 8
    python main.py benchmark --mode v3 --samples 10
    python main.py benchmark --mode beam --samples 20
    python main.py api --port 8000
    curl -X POST http://localhost:8000/transcribe -F file=@audio.wav -F model=v2   (and v3)

Offline without large-v2/v3, the benchmarks run bundled stand-ins and say so, and the curl calls
get a 400 naming the missing weights and the two ways to provide them; with weights in
$SPECWHISPER_MODELS_DIR (random stand-ins here) the same curl call transcribes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from server.server_helpers import start_server
from stand_in_models import isolate_offline, save_stand_in

from specwhisper.bench.modes import build_plan
from specwhisper.cli import build_parser, main

pytestmark = pytest.mark.slow

MISSING_SPECULATIVE = (
    "speculative: ran the bundled base <- self-int8, tiny.en, base instead of the original "
    "project's large-v2 <- tiny, base, distil-large-v2, because these weights are not on this "
    "machine: large-v2;"
)
MISSING_V3 = (
    "v3: ran the bundled base <- tiny.en instead of the original project's large-v3 <- tiny, "
    "because these weights are not on this machine: large-v3, tiny;"
)


@pytest.fixture(autouse=True)
def offline_machine(tmp_path, monkeypatch) -> Path:
    """No large models here, whatever the developer's own Hugging Face cache holds."""
    return isolate_offline(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("mode", "note", "systems"),
    [("speculative", MISSING_SPECULATIVE, 6), ("v3", MISSING_V3, 6), ("beam", None, 7)],
)
def test_benchmark_commands(mode, note, systems, tmp_path, capsys, dev_set):
    output = tmp_path / "run"
    # One clip, the shortest of the dev set (2.6 s): the line-up and the run are what is tested.
    shortest = next(u for u in dev_set if u.id == "dev_031")
    manifest = tmp_path / "one.jsonl"
    manifest.write_text(json.dumps({"audio": str(shortest.audio_path), "text": shortest.text}))
    argv = ["benchmark", "--mode", mode, "--dataset", str(manifest), "--repeats", "1"]
    assert main([*argv, "--no-memory", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    results = json.loads((output / "results.json").read_text())
    assert results["clips"] == 1 and results["model"] == "base"
    assert len(results["summary"]) == systems
    if note is not None:  # one line: which line-up ran, and why
        (line,) = [line for line in printed.splitlines() if line.startswith(f"note: {mode}:")]
        assert line.startswith(f"note: {note} put them in the Hugging Face cache or in ")
    else:
        assert "note:" not in printed


def test_benchmark_line_ups_with_the_weights_here(tmp_path, monkeypatch, base):
    """Weights in the models folder: --mode v3 and speculative run the original's line-ups."""
    models = tmp_path / "models"
    save_stand_in(models / "large-v3", base, n_mels=128, seed=1)
    for name, seed in (("large-v2", 3), ("tiny", 2), ("distil-large-v2", 4)):
        save_stand_in(models / name, base, n_mels=80, seed=seed)
    monkeypatch.setenv("SPECWHISPER_MODELS_DIR", str(models))
    plan = build_plan("v3", None, None, 1)
    assert plan.model == "large-v3"
    assert plan.notes[0] == "v3: the original project's large-v3 <- tiny (weights found here)"
    assert "specwhisper large-v3 <- tiny adaptive k" in [s.label for s in plan.systems]
    plan = build_plan("speculative", None, None, 1)
    assert plan.model == "large-v2" and plan.notes == [
        "speculative: the original project's large-v2 <- tiny, base, distil-large-v2 "
        "(weights found here)"
    ]
    labels = {system.label for system in plan.systems}
    for draft in ("tiny", "base", "distil-large-v2"):  # int8 copies where torch can quantize
        assert labels & {f"specwhisper large-v2 draft={draft}{end}" for end in ("", "-int8")}


def _post(url: str, model: str, folder: Path) -> tuple[int, dict]:
    """The README's curl call, run in ``folder`` (which holds audio.wav). Without a curl binary,
    httpx sends the same multipart fields."""
    curl = shutil.which("curl")
    if curl is None:
        with (folder / "audio.wav").open("rb") as audio:
            response = httpx.post(
                f"{url}/transcribe", files={"file": audio}, data={"model": model}, timeout=300
            )
        return response.status_code, response.json()
    command = [curl, "-s", "-X", "POST", f"{url}/transcribe", "-F", "file=@audio.wav"]
    command += ["-F", f"model={model}", "-w", "\n%{http_code}"]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)


def _assert_missing(answer: tuple[int, dict], name: str, hub_id: str, param: str, models: Path):
    status, body = answer
    assert status == 400, body
    error = body["error"]
    assert (error["code"], error["param"]) == ("model_unavailable", param)
    assert f"model {name!r} ({hub_id}) is not on this machine" in error["message"]
    assert f"`hf download {hub_id}`" in error["message"]  # way 1: the Hugging Face cache
    assert f"at {models / name}." in error["message"]  # way 2: the models folder


def test_api_and_curl_calls(tmp_path, offline_machine, base, dev_set):
    assert build_parser().parse_args(["api", "--port", "8000"]).port == 8000
    models = tmp_path / "models"
    models.mkdir()
    clip = next(u.audio_path for u in dev_set if u.id == "dev_031")  # the shortest
    shutil.copy(clip, tmp_path / "audio.wav")
    # A free port rather than 8000, which another process on this machine may hold.
    server = start_server(
        {"default_model": "tiny.en", "default_draft": "none", "warmup": "false"},
        command="api",
        env={
            "SPECWHISPER_MODELS_DIR": str(models),
            "HF_HOME": str(offline_machine.parent),
            "HF_HUB_CACHE": str(offline_machine),
        },
    )
    try:
        missing = _assert_missing
        missing(
            _post(server.url, "v2", tmp_path),
            "large-v2",
            "openai/whisper-large-v2",
            "model",
            models,
        )
        missing(
            _post(server.url, "v3", tmp_path),
            "large-v3",
            "openai/whisper-large-v3",
            "model",
            models,
        )
        # Weights put in the models folder count at once, no restart; v3's draft is tiny.
        save_stand_in(models / "large-v3", base, n_mels=128, seed=1)
        missing(_post(server.url, "v3", tmp_path), "tiny", "openai/whisper-tiny", "draft", models)
        save_stand_in(models / "tiny", base, n_mels=80, seed=2, draft_for=models / "large-v3")
        status, body = _post(server.url, "v3", tmp_path)
        assert status == 200, body
        assert body["model"] == "large-v3" and body["draft"].startswith("tiny")
        assert isinstance(body["text"], str)  # random weights: junk text
    finally:
        server.stop()
