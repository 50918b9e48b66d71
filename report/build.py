"""Regenerate the technical report's tables, figures and numbers from benchmark results, then
build the PDF.

    .venv/bin/python report/build.py             # generated/*, then specwhisper-report.pdf
    .venv/bin/python report/build.py --no-pdf    # generated/* only (no LaTeX needed)

``report/sources.json`` names one results folder per benchmark mode. Everything under
``report/generated/`` is rewritten on every run: ``macros.tex`` (every measured number the prose
quotes, as a LaTeX macro), ``tab_*.tex`` (booktabs tables), ``fig_*.pdf`` (matplotlib, vector).
A mode whose results are missing gets placeholder macros (rendered as "n/a"), tables that say
the result is missing, no figure, and ``\\ifhave<mode>false`` so its prose is skipped.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

if __name__ == "__main__" and not __package__:
    # Run as a script, Python puts report/ first on sys.path; put the repository root there
    # instead, so that the report package imports as one and its module names (tables,
    # figures, ...) cannot shadow other top-level modules.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from report.figures import write_figures
from report.latex import build_pdf
from report.results import REPORT_DIR, ROOT, SOURCES, load_sources
from report.tables import write_tables

GENERATED = REPORT_DIR / "generated"


def generate(sources: Path = SOURCES, out: Path = GENERATED, figures: bool = True) -> dict:
    """Everything under ``out`` from the results ``sources`` names; returns the runs."""
    runs = load_sources(sources)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written = write_tables(runs, out)
    if figures:
        written += write_figures(runs, out)
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    print(f"wrote {len(written)} files to {shown}")
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=Path, default=SOURCES, help="mode -> results folder")
    parser.add_argument("--no-pdf", action="store_true", help="skip the LaTeX build")
    parser.add_argument("--no-figures", action="store_true", help="skip matplotlib figures")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    generate(args.sources, GENERATED, figures=not args.no_figures)
    code = 0 if args.no_pdf else build_pdf()
    print(f"done in {time.perf_counter() - started:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
