"""What this machine's processor does fast, read once (Linux: /proc/cpuinfo)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def native_bf16() -> bool:
    """bfloat16 arithmetic in hardware (AVX512-BF16 or AMX): bf16 attention is then about
    twice as fast as float32 (measured: 0.08 vs 0.19 ms for one query over 1500 frames of
    base); without it bf16 is emulated and slower."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


# How idle OpenMP threads wait, for processes that share their cores (a server's event loop
# and requests, several corpus workers). libgomp's default spins ~3 ms: spinning waiters then
# steal time from the threads doing work (on 2 busy cores a 0.7 s transcription took 6-12 s).
# PASSIVE alone sleeps at once, and a decoder step's many small operations each wait for a
# sleeping thread to wake: 8 dev files took 7.0-7.5 s against 6.1 s on an idle machine. A
# ~0.1 ms spin first (GOMP_SPINCOUNT, which libgomp reads even under PASSIVE) gave 6.2-6.4 s,
# and the dev set through one local corpus worker 32.2 s against 34.8 (means of 4 runs).
SHARED_CORES_OPENMP = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "10000"}


def share_cores_politely() -> bool:
    """Set ``SHARED_CORES_OPENMP`` in this process's environment where the user set no wait
    policy of their own; it takes effect only if OpenMP (torch) has not loaded yet. True if
    set."""
    if "OMP_WAIT_POLICY" in os.environ:
        return False
    for name, value in SHARED_CORES_OPENMP.items():
        os.environ.setdefault(name, value)
    return True
