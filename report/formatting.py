"""Numbers and names as the report prints them: LaTeX escaping, number formats and the short
display names of benchmark configurations."""

from __future__ import annotations

from datetime import datetime


def tex_escape(text: str) -> str:
    """Plain text -> LaTeX text (OT1-safe: no literal < > | either)."""
    replace = {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
        "<": r"\textless{}",
        ">": r"\textgreater{}",
        "|": r"\textbar{}",
    }
    # "--" would become an en dash: keep command-line flags as two hyphens.
    return "".join(replace.get(ch, ch) for ch in str(text)).replace("--", "-{}-")


def tt(text: str) -> str:
    """Monospaced text that may break after spaces, slashes and dashes."""
    escaped = tex_escape(text).replace("/", r"/\allowbreak{}")
    return r"\texttt{" + escaped + "}"


def f2(x: float) -> str:
    return f"{x:.2f}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def pct(share: float) -> str:
    return f"{share * 100:.1f}"


def when(started: str) -> str:
    """'20261124-222054' -> '24 Nov 2026, 22:20'."""
    return datetime.strptime(started, "%Y%m%d-%H%M%S").strftime("%-d %b %Y, %H:%M")


def count_word(n: int) -> str:
    words = "zero one two three four five six seven eight nine ten".split()
    return words[n] if 0 <= n < len(words) else str(n)


def display_name(row: dict) -> str:
    """A short, readable name for a summary row, from its configuration (not its label)."""
    config = row.get("config") or {}
    engine = config.get("engine")
    if row.get("role") == "bound":
        return "encoder only (bound)"
    if engine == "transformers":
        assistant = config.get("assistant")
        if assistant:
            return f"transformers assisted, {assistant}"
        return f"transformers generate(){'' if config.get('beam_size', 1) == 1 else ' beam'}"
    if engine == "faster-whisper":
        return f"faster-whisper {config.get('compute_type', '')}".strip()
    if engine == "specwhisper":
        beam = config.get("beam_size", 1)
        if beam and beam > 1:
            return f"specwhisper, beam {beam}"
        draft = config.get("draft")
        if draft in (None, "none"):
            return "specwhisper, no draft"
        name = config.get("drafter") or draft
        if draft == "auto":
            name = f"auto ({name})"
        elif draft == row.get("model"):
            name = f"{draft} (itself, fp32)"
        length = config.get("draft_length", "adaptive")
        k = "" if length == "adaptive" else f", k={length}"
        return f"specwhisper, draft {name}{k}"
    return row["system"]


def short_name(row: dict) -> str:
    """Display name without the engine prefix, for places that only show specwhisper."""
    return display_name(row).replace("specwhisper, ", "")
