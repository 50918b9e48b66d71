"""The report's booktabs tables (``generated/tab_*.tex``), lists of commands and notes, and
the writing of every generated .tex file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from report.analysis import CostModel, cost_model, latency_fit, per_clip_speedups
from report.formatting import display_name, f2, ms, pct, short_name, tex_escape, tt, when
from report.macros import macros_tex
from report.results import MODES, Run


def _opt(value, fmt: Callable[[float], str]) -> str:
    return "--" if value is None else fmt(value)


def _missing_table(run: Run, caption: str, label: str) -> str:
    return (
        "\\begin{table}[htbp]\n\\centering\n"
        f"\\caption{{{caption}}}\\label{{{label}}}\n"
        f"\\MissingResult{{{run.mode}}}{{{tex_escape(run.problem or '')}}}\n"
        "\\end{table}\n"
    )


def _table(caption: str, label: str, spec: str, head: list[str], body: list[list[str]]) -> str:
    lines = [
        "\\begin{table}[htbp]",
        "\\centering\\small",
        f"\\caption{{{caption}}}\\label{{{label}}}",
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(head) + r" \\",
        "\\midrule",
    ]
    lines += [" & ".join(cells) + r" \\" for cells in body]
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def _x(value: float) -> str:
    return f"{value:.2f}$\\times$"


def results_table(run: Run, caption: str, label: str) -> str:
    """The main table of a run: every configuration, latency, speedup, accuracy, acceptance."""
    if not run.ok:
        return _missing_table(run, caption, label)
    head = ["Configuration", "ms/clip", "speedup", "WER\\,\\%", "CER\\,\\%", "exact"]
    head += ["accept.", "tok/verify"]
    body = []
    for r in run.rows:
        body.append(
            [
                tex_escape(display_name(r)),
                ms(r["mean_clip_s"]),
                _x(r["speedup"]),
                _opt(r["wer"], pct),
                _opt(r["cer"], pct),
                _opt(r["exact_match"], f2),
                _opt(r["acceptance"], f2),
                _opt(r["tokens_per_verify"], f2),
            ]
        )
    return _table(caption, label, "lrrrrrrr", head, body)


def time_split_table(runs: list[Run], caption: str, label: str) -> str:
    """Where specwhisper's time goes, ms per clip, for every greedy specwhisper row."""
    available = [run for run in runs if run.ok]
    if not available:
        return _missing_table(runs[0], caption, label)
    head = ["Run", "Configuration", "encoder", "draft enc.", "drafting", "verifying", "other"]
    head.append("total")
    body = []
    for run in available:
        for r in run.rows:
            split = r.get("time_split")
            if not split or (r.get("config") or {}).get("beam_size", 1) != 1:
                continue
            parts = [split[k] for k in ("main_encoder_s", "draft_encoder_s")]
            parts += [split[k] for k in ("drafting_s", "verifying_s")]
            other = r["mean_clip_s"] - sum(parts)
            name = short_name(r)
            cells = [run.mode, tex_escape(name)] + [ms(p) for p in parts]
            body.append(cells + [ms(other), ms(r["mean_clip_s"])])
    return _table(caption, label, "llrrrrrr", head, body)


def cross_table(run: Run, caption: str, label: str) -> str:
    if not run.ok:
        return _missing_table(run, caption, label)
    head = ["Draft length", "ms/clip", "speedup", "accept.", "tok/verify", "remapped"]
    head += ["1-to-many", "partial", "draft EOT"]
    body = []
    for r in run.rows:
        config = r.get("config") or {}
        if config.get("engine") != "specwhisper":
            continue
        remap = r.get("remap") or {}
        k = config.get("draft_length")
        name = "adaptive" if k == "adaptive" else f"$k={k}$"
        if r["model"] != run.data["model"]:
            name = tex_escape(f"{r['model']} <- {config.get('draft')}: ") + name
        body.append(
            [
                name,
                ms(r["mean_clip_s"]),
                _x(r["speedup"]),
                _opt(r["acceptance"], f2),
                _opt(r["tokens_per_verify"], f2),
            ]
            + [
                str(remap.get(key, "--"))
                for key in ("draft_tokens_remapped", "one_to_many", "partial", "draft_eot")
            ]
        )
    return _table(caption, label, "lrrrrrrrr", head, body)


def beam_table(run: Run, caption: str, label: str) -> str:
    if not run.ok:
        return _missing_table(run, caption, label)
    head = ["Configuration", "ms/clip", r"$\times$ greedy", "speedup", "WER\\,\\%", "CER\\,\\%"]
    head.append("exact")
    body = [
        [
            tex_escape(display_name(r)),
            ms(r["mean_clip_s"]),
            _opt(r["latency_vs_greedy"], f2),
            _x(r["speedup"]),
            _opt(r["wer"], pct),
            _opt(r["cer"], pct),
            _opt(r["exact_match"], f2),
        ]
        for r in run.rows
    ]
    return _table(caption, label, "lrrrrrr", head, body)


def cost_table(run: Run, caption: str, label: str) -> str:
    """The cost model's parameters, measured, one column per drafter of the speculative run."""
    if not run.ok:
        return _missing_table(run, caption, label)
    try:
        plain = run.row(engine="specwhisper", draft="none", beam_size=1)
    except LookupError:
        return _missing_table(
            Run(run.mode, run.folder, None, "no plain greedy row in this run"), caption, label
        )
    drafters = [
        r
        for r in run.rows
        if (r.get("config") or {}).get("engine") == "specwhisper"
        and (r.get("config") or {}).get("draft") not in (None, "none")
        and r.get("acceptance") is not None
    ]
    models = [(r, cost_model(run, plain, r)) for r in drafters]
    if not models:
        return _missing_table(
            Run(run.mode, run.folder, None, "no drafter rows in this run"), caption, label
        )
    quantities: list[tuple[str, Callable[[CostModel], str]]] = [
        (r"mean draft length $\bar k$", lambda m: f"{m.k:.1f}"),
        (r"per-token acceptance $\hat a$", lambda m: f2(m.p)),
        (r"$E(\bar k)$, model", lambda m: f2(m.e_k)),
        (r"tokens per verification, measured", lambda m: f2(m.tpv)),
        (r"$c_1$: plain step, ms", lambda m: f"{m.c1 * 1000:.1f}"),
        (r"$c_d$: draft token, ms", lambda m: f"{m.cd * 1000:.1f}"),
        (r"$c_v$: verification, ms", lambda m: f"{m.cv * 1000:.1f}"),
        (r"$c_d / c_1$", lambda m: f2(m.cd / m.c1)),
        (r"$c_v / c_1$", lambda m: f2(m.cv / m.c1)),
        (r"draft encoder, ms/clip", lambda m: ms(m.draft_enc)),
        (r"decoding speedup, model (Eq.~\ref{eq:dec})", lambda m: _x(m.dec_speedup_model)),
        (r"decoding speedup, measured", lambda m: _x(m.dec_speedup)),
        (r"end-to-end vs.\ no draft, model (Eq.~\ref{eq:e2e})", lambda m: _x(m.e2e_model)),
        (r"end-to-end vs.\ no draft, measured", lambda m: _x(m.e2e)),
        (r"bound: decoding free, no draft encoder", lambda m: _x(m.e2e_bound)),
    ]
    head = ["Quantity"] + [tex_escape(short_name(r)) for r in drafters]
    body = [[name] + [fmt(m) for _, m in models] for name, fmt in quantities]
    return _table(caption, label, "l" + "r" * len(models), head, body)


def fit_table(run: Run, caption: str, label: str) -> str:
    """Per-clip latency = intercept + slope x tokens, one row per configuration."""
    if not run.ok:
        return _missing_table(run, caption, label)
    base = run.row(role="baseline")
    head = ["Configuration", "intercept, ms", "slope, ms/token", "slope ratio"]
    head.append("per-clip speedup")
    _, base_slope = latency_fit(run, base, base)
    body = []
    for r in run.rows:
        intercept, slope = latency_fit(run, r, base)
        ratio = "--" if r.get("role") == "bound" or slope <= 0 else _x(base_slope / slope)
        speedups = per_clip_speedups(run, r, base)
        spread = f"{min(speedups):.2f}--{max(speedups):.2f}"
        if r is base:
            ratio = spread = "--"
        body.append(
            [tex_escape(display_name(r)), ms(intercept), f"{slope * 1000:.1f}", ratio, spread]
        )
    return _table(caption, label, "lrrrr", head, body)


def provenance_table(runs: dict[str, Run]) -> str:
    """Which folder, when, how many clips, and the command, for every mode."""
    lines = [
        "\\begin{table}[htbp]",
        "\\centering\\small",
        "\\caption{Benchmark runs behind this report (\\texttt{report/sources.json}).}",
        "\\label{tab:runs}",
        "\\begin{tabular}{llrrrl}",
        "\\toprule",
        r"Mode & Started & clips & audio, s & repeats & CPU, threads \\",
        "\\midrule",
    ]
    for mode in MODES:
        run = runs[mode]
        if not run.ok:
            lines.append(
                rf"{mode} & \multicolumn{{5}}{{l}}{{\NA{{}}: {tex_escape(run.problem)}}} \\"
            )
            continue
        d = run.data
        env = d["environment"]
        lines.append(
            f"{mode} & {when(d['started'])} & {d['clips']} & {d['audio_s']:.1f} & "
            f"{d['repeats']} & {tex_escape(env['cpu'])}, {env['torch_threads']} \\\\"
        )
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def commands_list(runs: dict[str, Run]) -> str:
    items = []
    for mode in MODES:
        run = runs[mode]
        if run.ok:
            items.append(
                f"\\item[{mode}] {tt(run.folder)}\\\\\n"
                f"recorded: {tt(run.data['invocation'])}\\\\\n"
                f"typed: {tt(run.data['environment']['command'])}"
            )
        else:
            items.append(f"\\item[{mode}] \\NA{{}}: {tex_escape(run.problem)}")
    return (
        "{\\raggedright\\begin{description}\\small\n"
        + "\n".join(items)
        + "\n\\end{description}\\par}\n"
    )


def notes_list(run: Run) -> str:
    if not run.ok or not run.data.get("notes"):
        return "% no notes\n"
    items = "\n".join(f"\\item {tex_escape(note)}" for note in run.data["notes"])
    return "\\begin{itemize}\\small\n" + items + "\n\\end{itemize}\n"


def write_tables(runs: dict[str, Run], out: Path) -> list[Path]:
    spec, cross, beam, peers = (runs[m] for m in MODES)
    files = {
        "macros.tex": macros_tex(runs),
        "tab_runs.tex": provenance_table(runs),
        "commands.tex": commands_list(runs),
        "tab_speculative.tex": results_table(
            spec,
            "Speculative mode: every configuration on the same clips, interleaved. Speedup is "
            "\\texttt{generate()}'s total over the configuration's total, in this run; exact is "
            "the share of clips whose tokens equal \\texttt{generate()}'s.",
            "tab:speculative",
        ),
        "tab_timesplit.tex": time_split_table(
            [spec, cross],
            "Where specwhisper's time goes, ms per clip (means over clips). Other: reading the "
            "audio file, log-mel, prompt, Python.",
            "tab:timesplit",
        ),
        "tab_cost.tex": cost_table(
            spec,
            "The cost model of Section~\\ref{sec:cost}, filled with the speculative run's "
            "per-clip engine statistics. $c_1$ is measured on the no-draft configuration.",
            "tab:cost",
        ),
        "tab_fits.tex": fit_table(
            spec,
            "Per-clip latency against the number of text tokens in the clip: least-squares "
            "line, speculative run. Slope ratio: \\texttt{generate()}'s slope over the "
            "configuration's; per-clip speedup: smallest and largest over the clips.",
            "tab:fits",
        ),
        "tab_cross.tex": cross_table(
            cross,
            "Cross-vocabulary drafting: adaptive and fixed draft lengths, with remapping "
            "statistics (draft tokens over all clips).",
            "tab:cross",
        ),
        "tab_beam.tex": beam_table(
            beam,
            "Beam search (no drafting) against greedy. $\\times$ greedy: latency over "
            "specwhisper's greedy latency; exact: same tokens as \\texttt{generate()}'s greedy "
            "output.",
            "tab:beam",
        ),
        "tab_peers.tex": results_table(
            peers,
            "Peers: transformers assisted generation and faster-whisper on the same clips.",
            "tab:peers",
        ),
        "notes_cross.tex": notes_list(cross),
        "notes_speculative.tex": notes_list(spec),
        "notes_beam.tex": notes_list(beam),
        "notes_peers.tex": notes_list(peers),
    }
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text)
        written.append(path)
    return written
