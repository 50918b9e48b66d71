"""Macros of the speculative run: the main comparison, the cost model and the latency fits."""

from __future__ import annotations

from collections.abc import Callable

from report.analysis import (
    CostModel,
    clip_tokens,
    cost_model,
    engine_totals,
    latency_fit,
    per_clip_speedups,
)
from report.formatting import f2, ms, tex_escape
from report.macros_common import Getter, common_macros, faster_or_slower, more_or_less
from report.results import Run


def speculative_macros(run: Run) -> list[tuple[str, Getter]]:
    out = common_macros("Spec", run)

    def base() -> dict:
        return run.row(role="baseline")

    def floor() -> dict:
        return run.row(role="bound")

    def plain() -> dict:
        return run.row(engine="specwhisper", draft="none", beam_size=1)

    def selfint() -> dict:
        return run.row(drafter="self-int8", beam_size=1)

    def tinyen() -> dict:
        return run.row(draft="tiny.en", beam_size=1, draft_length="adaptive")

    def model(drafter: Callable[[], dict]) -> CostModel:
        return cost_model(run, plain(), drafter())

    for name, row in (("Plain", plain), ("SelfInt", selfint), ("TinyEn", tinyen)):
        out += [
            (f"{name}Ms", lambda row=row: ms(row()["mean_clip_s"])),
            (f"{name}Speedup", lambda row=row: f2(row()["speedup"])),
            (f"{name}EncMs", lambda row=row: ms(row()["time_split"]["main_encoder_s"])),
            (f"{name}DraftEncMs", lambda row=row: ms(row()["time_split"]["draft_encoder_s"])),
            (f"{name}DraftMs", lambda row=row: ms(row()["time_split"]["drafting_s"])),
            (f"{name}VerifyMs", lambda row=row: ms(row()["time_split"]["verifying_s"])),
            (
                f"{name}OtherMs",
                lambda row=row: ms(row()["mean_clip_s"] - sum(row()["time_split"].values())),
            ),
            (
                f"{name}DecodeMs",
                lambda row=row: ms(
                    row()["time_split"]["drafting_s"] + row()["time_split"]["verifying_s"]
                ),
            ),
        ]
    for name, row in (("SelfInt", selfint), ("TinyEn", tinyen)):
        out += [
            (f"{name}Acceptance", lambda row=row: f2(row()["acceptance"])),
            (f"{name}TPV", lambda row=row: f2(row()["tokens_per_verify"])),
            (f"{name}VsPlain", lambda row=row: f2(plain()["total_s"] / row()["total_s"])),
            (f"{name}P", lambda row=row: f2(model(row).p)),
            (f"{name}Calls", lambda row=row: str(engine_totals(run.clips(row())).calls)),
            (f"{name}K", lambda row=row: f"{model(row).k:.1f}"),
            (f"{name}Ek", lambda row=row: f2(model(row).e_k)),
            (f"{name}CdMs", lambda row=row: f"{model(row).cd * 1000:.1f}"),
            (f"{name}CvMs", lambda row=row: f"{model(row).cv * 1000:.1f}"),
            (f"{name}CdRatio", lambda row=row: f2(model(row).cd / model(row).c1)),
            (f"{name}CvRatio", lambda row=row: f2(model(row).cv / model(row).c1)),
            (f"{name}DecSpeedupModel", lambda row=row: f2(model(row).dec_speedup_model)),
            (f"{name}DecSpeedup", lambda row=row: f2(model(row).dec_speedup)),
            (f"{name}EtoEModel", lambda row=row: f2(model(row).e2e_model)),
            (f"{name}EtoE", lambda row=row: f2(model(row).e2e)),
            (
                f"{name}ClipSpeedupMin",
                lambda row=row: f2(min(per_clip_speedups(run, row(), base()))),
            ),
            (
                f"{name}ClipSpeedupMax",
                lambda row=row: f2(max(per_clip_speedups(run, row(), base()))),
            ),
        ]
    tiny_remap = lambda key: lambda: str(tinyen()["remap"][key])  # noqa: E731
    out += [
        ("TinyEnRemapped", tiny_remap("draft_tokens_remapped")),
        ("TinyEnOneToMany", tiny_remap("one_to_many")),
        ("TinyEnPartial", tiny_remap("partial")),
        ("TinyEnDraftEot", tiny_remap("draft_eot")),
        ("TinyEnVsSelfInt", lambda: faster_or_slower(selfint()["total_s"] / tinyen()["total_s"])),
        (
            "TinyEnVsPlainVerdict",
            lambda: faster_or_slower(plain()["total_s"] / tinyen()["total_s"]),
        ),
        ("TinyEnSavedMs", lambda: ms(model(tinyen).dec_plain - model(tinyen).dec_spec)),
        (
            "TinyEnSavedVsEnc",
            lambda: more_or_less(
                model(tinyen).dec_plain - model(tinyen).dec_spec, model(tinyen).draft_enc
            ),
        ),
        ("SelfIntSavedMs", lambda: ms(model(selfint).dec_plain - model(selfint).dec_spec)),
        ("SelfIntCap", lambda: f2(model(selfint).c1 / model(selfint).cd)),
        ("FloorMs", lambda: ms(floor()["mean_clip_s"])),
        ("FloorSpeedup", lambda: f2(floor()["speedup"])),
        ("FloorVsPlain", lambda: f2(plain()["total_s"] / floor()["total_s"])),
        ("PlainStepMs", lambda: f"{model(selfint).c1 * 1000:.1f}"),
        ("PlainBound", lambda: f2(model(selfint).e2e_bound)),
        ("PlainCalls", lambda: str(engine_totals(run.clips(plain())).calls)),
        ("SpecTokens", lambda: str(base()["tokens_generated"])),
        ("SpecTokensPerClip", lambda: f"{base()['tokens_generated'] / run.data['clips']:.1f}"),
        ("SpecTokensMin", lambda: str(min(clip_tokens(r) for r in run.clips(base())))),
        ("SpecTokensMax", lambda: str(max(clip_tokens(r) for r in run.clips(base())))),
        ("SpecAudioMin", lambda: f"{min(r['audio_s'] for r in run.clips(base())):.1f}"),
        ("SpecAudioMax", lambda: f"{max(r['audio_s'] for r in run.clips(base())):.1f}"),
        (
            "GenDecodeShare",
            lambda: f"{100 * (1 - floor()['total_s'] / base()['total_s']):.0f}",
        ),
        ("GenDecodeMs", lambda: ms(base()["mean_clip_s"] - floor()["mean_clip_s"])),
    ]
    fits = (("Gen", base), ("Plain", plain), ("SelfInt", selfint), ("TinyEn", tinyen))
    for name, row in fits + (("Floor", floor),):
        out += [
            (f"{name}FitMs", lambda row=row: ms(latency_fit(run, row(), base())[0])),
            (
                f"{name}SlopeMs",
                lambda row=row: f"{latency_fit(run, row(), base())[1] * 1000:.1f}",
            ),
        ]
    for name, row in fits[1:]:
        out.append(
            (
                f"{name}SlopeRatio",
                lambda row=row: f2(
                    latency_fit(run, base(), base())[1] / latency_fit(run, row(), base())[1]
                ),
            )
        )
    env = lambda key: lambda: tex_escape(run.data["environment"]["packages"][key])  # noqa: E731
    out += [
        ("TorchVersion", env("torch")),
        ("TransformersVersion", env("transformers")),
        ("PythonVersion", lambda: tex_escape(run.data["environment"]["python"])),
    ]
    return out
