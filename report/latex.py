"""Building the PDF from ``specwhisper-report.tex`` and ``generated/`` with LaTeX."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from report.results import REPORT_DIR, ROOT

TEX = REPORT_DIR / "specwhisper-report.tex"
PDF = REPORT_DIR / "specwhisper-report.pdf"
LATEX_DIR = REPORT_DIR / ".build"  # latexmk's aux, log and PDF (ignored by git)
INSTALL_TEX = (
    "apt-get install -y --no-install-recommends texlive-latex-base texlive-latex-recommended "
    "texlive-fonts-recommended latexmk"
)


def build_pdf(tex: Path = TEX, pdf: Path = PDF) -> int:
    """latexmk (or three pdflatex passes) in report/; the PDF is copied to ``pdf``."""
    latexmk, pdflatex = shutil.which("latexmk"), shutil.which("pdflatex")
    if not pdflatex:
        print(
            "error: pdflatex not found, so the PDF was not built (report/generated/ is up to "
            f"date).\nInstall TeX (Debian/Ubuntu): sudo {INSTALL_TEX}\n"
            "or run with --no-pdf to regenerate only tables, macros and figures.",
            file=sys.stderr,
        )
        return 2
    LATEX_DIR.mkdir(exist_ok=True)
    flags = ["-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    if latexmk:
        command = ["latexmk", "-pdf", f"-outdir={LATEX_DIR}", *flags, tex.name]
        commands = [command]
    else:
        print(f"note: latexmk not found, running pdflatex three times ({INSTALL_TEX})")
        commands = [["pdflatex", f"-output-directory={LATEX_DIR}", *flags, tex.name]] * 3
    for command in commands:
        done = subprocess.run(command, cwd=tex.parent, capture_output=True, text=True)
        if done.returncode != 0:
            log = LATEX_DIR / tex.with_suffix(".log").name
            text = log.read_text(errors="replace") if log.exists() else done.stdout
            errors = [line for line in text.splitlines() if line.startswith(("!", "./"))]
            print("\n".join(errors[-20:]) or done.stdout[-3000:], file=sys.stderr)
            print(f"error: LaTeX failed; full log: {log}", file=sys.stderr)
            return 1
    built = LATEX_DIR / tex.with_suffix(".pdf").name
    shutil.copyfile(built, pdf)
    log = (LATEX_DIR / tex.with_suffix(".log").name).read_text(errors="replace")
    for pattern in ("Overfull \\hbox", "undefined", "Rerun to get"):
        hits = [line for line in log.splitlines() if pattern in line]
        if hits:
            print(f"warning: {len(hits)} log line(s) with '{pattern}', e.g. {hits[0]}")
    pages = re.search(r"Output written on .*\((\d+) pages?", log)
    print(f"wrote {pdf.relative_to(ROOT)} ({pages.group(1) if pages else '?'} pages)")
    return 0
