"""`specwhisper serve` (placeholder until the server lands: see issue 5)."""

from __future__ import annotations

import argparse


def add_serve_parsers(commands: argparse._SubParsersAction) -> None:
    commands.add_parser("serve", help="(not available yet)")
