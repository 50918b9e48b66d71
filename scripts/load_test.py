"""Load-test a running specwhisper server: N concurrent clients, each sending M files.

    python scripts/load_test.py --url http://127.0.0.1:8000 --clients 4 --files 4

Prints throughput, latency percentiles and errors; exits 1 if any request failed. The loop is
bounded (clients x files requests, each with a timeout), so it always stops by itself. Only
loopback servers are accepted unless --allow-remote is given.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEV_MANIFEST = ROOT / "tests" / "data" / "dev" / "manifest.jsonl"


@dataclass(frozen=True)
class Sample:
    client: int
    file: str
    status: int  # 0: no HTTP answer (connection error or timeout)
    seconds: float
    audio_seconds: float
    error: str = ""


def dev_files(count: int) -> list[Path]:
    """The first ``count`` dev-set clips."""
    lines = DEV_MANIFEST.read_text().splitlines()
    return [DEV_MANIFEST.parent / json.loads(line)["audio"] for line in lines[:count]]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 < fraction <= 1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), math.ceil(fraction * len(ordered))) - 1)]


def request(http: httpx.Client, args: argparse.Namespace, path: Path) -> tuple[int, float, str]:
    """POST one file; (status, audio seconds, error message)."""
    fields = {"model": args.model} if args.model else {}
    if args.draft:
        fields["draft"] = args.draft
    route = "/transcribe"
    if args.endpoint == "openai":
        route = "/v1/audio/transcriptions"
        fields = {"model": args.model or "whisper-1", "response_format": "verbose_json", **fields}
    files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
    response = http.post(route, files=files, data=fields)
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        return response.status_code, 0.0, message
    return 200, float(response.json().get("duration", 0.0)), ""


def client_loop(
    index: int, args: argparse.Namespace, files: list[Path], start: threading.Barrier
) -> list[Sample]:
    samples = []
    with httpx.Client(base_url=args.url, timeout=args.timeout) as http:
        start.wait()  # every client starts at once
        for number in range(args.files):
            path = files[(index * args.files + number) % len(files)]
            began = time.perf_counter()
            try:
                status, audio, error = request(http, args, path)
            except httpx.HTTPError as failure:
                status, audio, error = 0, 0.0, f"{failure.__class__.__name__}: {failure}"
            elapsed = time.perf_counter() - began
            samples.append(Sample(index, path.name, status, elapsed, audio, error))
    return samples


def report(samples: list[Sample], wall: float, args: argparse.Namespace) -> str:
    ok = [s for s in samples if s.status == 200]
    failed = [s for s in samples if s.status != 200]
    latencies = [s.seconds for s in ok]
    audio = sum(s.audio_seconds for s in ok)
    lines = [
        f"server          {args.url} ({args.endpoint} endpoint, model {args.model or 'default'})",
        f"clients x files {args.clients} x {args.files}",
        f"requests        {len(samples)} sent, {len(ok)} ok",
        f"errors          {len(failed)}",
        f"wall time       {wall:.2f} s",
        f"throughput      {len(ok) / wall:.2f} requests/s, {audio / wall:.2f} audio s/s",
    ]
    if latencies:
        lines += [
            f"latency p50     {percentile(latencies, 0.50):.3f} s",
            f"latency p95     {percentile(latencies, 0.95):.3f} s",
            f"latency mean    {statistics.fmean(latencies):.3f} s "
            f"(min {min(latencies):.3f}, max {max(latencies):.3f})",
        ]
    for (status, error), count in Counter((s.status, s.error) for s in failed).items():
        lines.append(f"  {count} x status {status or 'no answer'}: {error}")
    return "\n".join(lines)


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--files", type=int, default=4, help="files per client (default 4)")
    parser.add_argument("--audio", nargs="*", type=Path, help="files to send (default: dev set)")
    parser.add_argument("--endpoint", choices=("native", "openai"), default="native")
    parser.add_argument("--model", help="model field (default: the server's default)")
    parser.add_argument("--draft", help="draft field (default: the server's default)")
    parser.add_argument("--timeout", type=float, default=300.0, help="per request, seconds")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback url")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.files < 1:
        parser.error("--clients and --files must be at least 1")
    if not args.allow_remote and not is_loopback(args.url):
        parser.error(f"{args.url} is not a loopback address (pass --allow-remote to insist)")
    files = args.audio or dev_files(max(1, args.clients * args.files))
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")

    results: list[list[Sample]] = [[] for _ in range(args.clients)]
    start = threading.Barrier(args.clients + 1, timeout=60)

    def run(index: int) -> None:
        results[index] = client_loop(index, args, files, start)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    samples = [sample for client in results for sample in client]
    print(report(samples, wall, args))
    return 0 if samples and all(s.status == 200 for s in samples) else 1


if __name__ == "__main__":
    sys.exit(main())
