"""Loading benchmark results: which folder each mode's results.json is in
(``report/sources.json``), read without ever failing on a missing or broken one."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPORT_DIR = Path(__file__).resolve().parent
ROOT = REPORT_DIR.parent
SOURCES = REPORT_DIR / "sources.json"
MODES = ("speculative", "cross", "beam", "peers")
NA = r"\NA{}"  # what a number whose result is missing prints (defined in the report preamble)


@dataclass
class Run:
    """One benchmark mode's results.json (``data`` is None when missing; ``problem`` says why)."""

    mode: str
    folder: str | None
    data: dict | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.data is not None

    @property
    def rows(self) -> list[dict]:
        return self.data["summary"] if self.data else []

    def find(self, **where) -> dict | None:
        """The first summary row whose top-level or ``config`` fields equal ``where``."""
        for row in self.rows:
            config = row.get("config") or {}
            if all((row[k] if k in row else config.get(k)) == v for k, v in where.items()):
                return row
        return None

    def row(self, **where) -> dict:
        found = self.find(**where)
        if found is None:
            raise LookupError(f"{self.mode}: no summary row with {where}")
        return found

    def clips(self, row: dict) -> list[dict]:
        return self.data["per_clip"][row["system"]]


def load_sources(path: Path = SOURCES, root: Path = ROOT) -> dict[str, Run]:
    """mode -> Run for every mode; never raises for a missing or unreadable result."""
    try:
        mapping = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        mapping = {}
        print(f"warning: cannot read {path}: {error}", file=sys.stderr)
    runs = {}
    for mode in MODES:
        folder = mapping.get(mode)
        if not folder:
            runs[mode] = Run(mode, None, None, f"no folder for mode {mode} in sources.json")
            continue
        results = root / folder / "results.json"
        try:
            data = json.loads(results.read_text())
        except OSError:
            runs[mode] = Run(mode, folder, None, f"{folder}/results.json not found")
            continue
        except json.JSONDecodeError as error:
            runs[mode] = Run(mode, folder, None, f"{folder}/results.json is not JSON ({error})")
            continue
        if data.get("mode") != mode or not isinstance(data.get("summary"), list):
            problem = f"{folder}/results.json holds mode {data.get('mode')!r}, not {mode!r}"
            runs[mode] = Run(mode, folder, None, problem)
            continue
        runs[mode] = Run(mode, folder, data)
    for run in runs.values():
        if not run.ok:
            print(f"warning: {run.mode} results missing: {run.problem}", file=sys.stderr)
    return runs
