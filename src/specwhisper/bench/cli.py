"""`specwhisper benchmark` (placeholder until the benchmark suite lands: see issue 4)."""

from __future__ import annotations

import argparse


def add_benchmark_parser(commands: argparse._SubParsersAction) -> None:
    commands.add_parser("benchmark", help="(not available yet)")
