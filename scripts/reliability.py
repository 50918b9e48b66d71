"""The slow half of the server's reliability suite (the fast half is tests/server/
test_server_reliability.py): hostile long audio against a real server, with its memory.

    python scripts/reliability.py [--model tiny.en] [--hours 2] [--output bench/results/reliability]

Starts ``specwhisper serve`` on a free loopback port (default settings but the upload limit:
3 h maximum duration, one transcription at a time) and measures, on that process:
1. a 1 s request alone (median of 3), then beside two 8-hour silent FLACs sent at once (refused
   from their headers): its latency, and the server's resident memory before and after;
2. an ``--hours``-long file of speech (the long dev files end to end, with pauses) transcribed
   whole: wall time, windows, and peak resident memory above the idle server (VmHWM).
Writes results.json and results.md to ``--output``. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))  # the test suite's server helpers

from server_helpers import flac_of_silence, rss_mb, start_server  # noqa: E402

from specwhisper.audio import load_audio  # noqa: E402
from specwhisper.evaluation.datasets import DEFAULT_DEV_SET, LONG_DEV_SET, load_dataset  # noqa: E402


def speech_flac(path: Path, seconds: float) -> float:
    """The long dev files end to end (2 s pauses), repeated to ``seconds``; written as FLAC."""
    parts = [load_audio(u.audio_path) for u in load_dataset(LONG_DEV_SET)]
    pause = np.zeros(32000, dtype=np.float32)
    written = 0
    with soundfile.SoundFile(path, "w", 16000, 1, format="FLAC", subtype="PCM_16") as file:
        while written < seconds * 16000:
            for part in parts:
                file.write(part)
                file.write(pause)
                written += len(part) + len(pause)
    return written / 16000


def post(url: str, data: bytes, name: str, **fields) -> tuple[int, float, dict]:
    began = time.perf_counter()
    response = httpx.post(
        f"{url}/transcribe", files={"file": (name, data)}, data=fields, timeout=7200
    )
    return response.status_code, time.perf_counter() - began, response.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en", help="server default model (tiny.en)")
    parser.add_argument("--hours", type=float, default=2.0, help="length of the long file")
    parser.add_argument("--output", type=Path, default=ROOT / "bench/results/reliability")
    args = parser.parse_args()
    # Uploads up to 256 MB: two hours of 16 kHz FLAC speech is about 120 MB (OpenAI's 25 MB
    # default would refuse it before any of this is measured).
    server = start_server(
        {
            "default_model": args.model,
            "default_draft": "auto",
            "max_upload_bytes": str(256 * 1024 * 1024),
        }
    )
    results: dict = {"command": " ".join(["python", *sys.argv]), "model": args.model}
    try:
        pid = server.process.pid
        clip = next(u for u in load_dataset(DEFAULT_DEV_SET) if u.id == "dev_031")
        short = clip.audio_path.read_bytes()
        solo = [post(server.url, short, "short.wav")[1] for _ in range(3)]
        idle = rss_mb(pid)
        hostile = flac_of_silence(8 * 3600)
        with ThreadPoolExecutor(3) as pool:
            attacks = [pool.submit(post, server.url, hostile, "silence.flac") for _ in range(2)]
            time.sleep(0.05)
            beside = pool.submit(post, server.url, short, "short.wav").result()
            answers = [future.result() for future in attacks]
        results["hostile"] = {
            "flac_bytes": len(hostile),
            "answers": [(status, body["error"]["code"]) for status, _, body in answers],
            "refused_in_s": [round(seconds, 3) for _, seconds, _ in answers],
            "short_request_solo_s": round(statistics.median(solo), 3),
            "short_request_beside_s": round(beside[1], 3),
            "rss_idle_mb": round(idle, 1),
            "rss_after_mb": round(rss_mb(pid), 1),
        }
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "long.flac"
            seconds = speech_flac(path, args.hours * 3600)
            peak_before = rss_mb(pid, "VmHWM")
            status, wall, body = post(server.url, path.read_bytes(), "long.flac")
        results["long_file"] = {
            "audio_s": round(seconds, 1),
            "status": status,
            "wall_s": round(wall, 1),
            "windows": body.get("stats", {}).get("windows"),
            "segments": len(body.get("segments", [])),
            "rss_idle_mb": round(idle, 1),
            "peak_rss_before_mb": round(peak_before, 1),
            "peak_rss_mb": round(rss_mb(pid, "VmHWM"), 1),
            "peak_above_idle_mb": round(rss_mb(pid, "VmHWM") - idle, 1),
        }
    finally:
        server.stop()
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    hostile, long_file = results["hostile"], results["long_file"]
    lines = [
        "# Reliability: hostile and long audio against a real server",
        "",
        f"Command: `{results['command']}` (model {args.model}, default server settings, "
        "uploads up to 256 MB)",
        "",
        "| check | result |",
        "|---|---|",
        f"| two 8 h silent FLACs ({hostile['flac_bytes'] / 1e6:.1f} MB each) at once | "
        f"{hostile['answers']} in {hostile['refused_in_s']} s |",
        f"| a 1 s request alone / beside them | {hostile['short_request_solo_s']} s / "
        f"{hostile['short_request_beside_s']} s |",
        f"| resident memory idle / after | {hostile['rss_idle_mb']} / "
        f"{hostile['rss_after_mb']} MB |",
        f"| {long_file['audio_s'] / 3600:.2f} h of speech in one request | status "
        f"{long_file['status']}, {long_file['wall_s']} s, {long_file['windows']} windows, "
        f"{long_file['segments']} segments |",
        f"| peak resident memory above the idle server | {long_file['peak_above_idle_mb']} MB |",
    ]
    (args.output / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
