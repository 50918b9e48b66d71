"""Which configurations each benchmark mode compares, and what each is compared against."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..decoding.drafters import DraftError
from ..models.devices import resolve_device
from ..models.loading import ModelUnavailableError, load_model
from ..models.registry import UnknownModelError, available_offline, resolve
from . import MODES
from .original import choose_lineup
from .systems import (
    LONG_FORM,
    EncoderFloor,
    FasterWhisper,
    Specwhisper,
    System,
    TransformersGenerate,
    TransformersLongform,
    faster_whisper_available,
    int8_assistant,
)

# Drafters tried for the main model in `speculative` mode; "{model}" is the model itself (its
# output must be accepted in full: the invariant, timed).
DEFAULT_DRAFTS = ("self-int8", "tiny.en", "{model}")
CROSS_DRAFT = "tiny.en"
CROSS_SWEEP = (2, 4, 6, 8)  # fixed draft lengths, next to the adaptive choice
# The cross pair that matters most in practice; its weights only come from the hub.
LARGE_PAIR = ("large-v3", "tiny")
BEAM_SIZES = (1, 2, 3, 4, 5)
# What a configuration can fail with when its weights or engine are missing here.
_UNAVAILABLE = (ModelUnavailableError, UnknownModelError, DraftError, OSError)


@dataclass
class Plan:
    systems: list[System]
    baselines: dict[str, str]  # main model -> label of its generate() greedy system
    notes: list[str] = field(default_factory=list)
    greedy: str | None = None  # beam mode: the beam-1 label that latencies are divided by
    model: str = ""  # the main model that ran (``--model``, else the mode's line-up)
    # main model -> label whose tokens "exact" compares with (default: the baseline's). In the
    # longform mode that is our own plain greedy: the invariant is about the main model's own
    # greedy output, window by window, and peers differ from it in documented ways.
    references: dict[str, str] = field(default_factory=dict)

    def reference(self, model: str) -> str:
        return self.references.get(model, self.baselines[model])


def build_plan(
    mode: str,
    model: str | None,
    drafts: list[str] | None,
    threads: int,
    language: str | None = "en",
) -> Plan:
    """The configurations of ``mode`` for main model ``model`` (None: the mode's line-up, see
    ``original``); ``drafts`` narrows the drafters (speculative, cross, v3). Configurations
    whose weights are missing are left out with a note."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    lineup = choose_lineup(mode, model, drafts, DEFAULT_DRAFTS)
    model, drafts = lineup.model, lineup.drafts
    if mode == "longform":
        return _longform(model, drafts, threads, language)
    plan = Plan([], {}, notes=[lineup.note] if lineup.note else [], model=model)
    _add_baseline(plan, model, language)
    if mode == "speculative":
        plan.systems.append(EncoderFloor(model))
        plan.systems.append(Specwhisper(model, "none", language))
        names = [d.format(model=model) for d in (drafts or DEFAULT_DRAFTS)]
        for draft in dict.fromkeys(names):  # ordered and without repeats
            _try(plan, f"draft {draft}", lambda d=draft: Specwhisper(model, d, language))
    elif mode in ("cross", "v3"):  # v3: the original project's name for the cross pair
        _cross(plan, model, drafts, language)
    elif mode == "beam":
        for beam in BEAM_SIZES:
            label = f"specwhisper {model} beam={beam}" + (" (greedy)" if beam == 1 else "")
            plan.systems.append(Specwhisper(model, "none", language, beam_size=beam, label=label))
            if beam == 1:
                plan.greedy = label
        # Greedy with the default drafter: what beam search gives up in speed.
        plan.systems.append(Specwhisper(model, "auto", language))
    else:
        _peers(plan, model, threads, language)
    return plan


_INT8_CPU_ONLY = "PyTorch's int8 kernels are the CPU's"


def _on_gpu(plan: Plan, what: str, why: str = _INT8_CPU_ONLY) -> bool:
    """On a GPU run, leave out ``what`` (a CPU-only configuration) with a note."""
    if resolve_device() == "cpu":
        return False
    plan.notes.append(f"{what} skipped on the GPU: {why}")
    return True


def _add_baseline(plan: Plan, model: str, language: str | None) -> None:
    baseline = TransformersGenerate(model, language)
    baseline.role = "baseline"
    plan.systems.append(baseline)
    plan.baselines[model] = baseline.label


def _try(plan: Plan, what: str, make: Callable[[], System]) -> bool:
    try:
        plan.systems.append(make())
        return True
    except _UNAVAILABLE as error:
        plan.notes.append(f"{what} skipped: {error}")
        return False


def _cross(plan: Plan, model: str, drafts: list[str] | None, language: str | None) -> None:
    pairs = [(model, draft) for draft in (drafts or [CROSS_DRAFT])]
    if drafts is None:
        main, draft = LARGE_PAIR
        if all(available_offline(resolve(name)) for name in LARGE_PAIR):
            pairs.append(LARGE_PAIR)
        else:
            plan.notes.append(
                f"{draft} -> {main} skipped: those weights are not on this machine (they come "
                f"from the Hugging Face hub); with them cached, --mode cross measures that pair too"
            )
    for main, draft in pairs:
        if main not in plan.baselines:
            _add_baseline(plan, main, language)
        name = f"specwhisper {main} <- {draft}"
        made = _try(
            plan,
            f"{draft} -> {main}",
            lambda m=main, d=draft, n=name: Specwhisper(m, d, language, label=f"{n} adaptive k"),
        )
        if not made:
            continue
        if not _is_cross(main, draft):
            plan.notes.append(f"{draft} shares {main}'s vocabulary: no remapping to measure")
        for k in CROSS_SWEEP:
            plan.systems.append(
                Specwhisper(main, draft, language, draft_length=k, label=f"{name} k={k}")
            )


def _is_cross(main: str, draft: str) -> bool:
    return load_model(main).tokenizer.get_vocab() != load_model(draft).tokenizer.get_vocab()


def _peers(plan: Plan, model: str, threads: int, language: str | None) -> None:
    _try(
        plan,
        f"transformers assisted generation {model} <- tiny.en",
        lambda: TransformersGenerate(
            model,
            language,
            assistant=load_model("tiny.en"),
            label=f"transformers assisted {model} <- tiny.en",
        ),
    )
    if _on_gpu(plan, f"transformers assisted {model} <- {model}-int8"):
        plan.systems.append(Specwhisper(model, "auto", language))
        return
    plan.systems.append(
        TransformersGenerate(
            model,
            language,
            assistant=int8_assistant(model),
            label=f"transformers assisted {model} <- {model}-int8",
        )
    )
    plan.systems.append(Specwhisper(model, "auto", language))
    _add_int8(plan, model, language, None)
    _add_faster_whisper(plan, model, language, threads, long_form=False)


def _add_int8(plan: Plan, model: str, language: str | None, options: dict | None) -> None:
    """The int8 main model, plain (its own reference for exactness) and with its int8
    self-draft; speedups against the same baseline as the float32 model."""
    if _on_gpu(plan, f"{model} int8"):
        return
    plain = Specwhisper(model, "none", language, options=options, compute_type="int8")
    plan.systems.append(plain)
    plan.baselines[plain.model] = plan.baselines[model]
    plan.references[plain.model] = plain.label
    plan.systems.append(
        Specwhisper(model, "self-int8", language, options=options, compute_type="int8")
    )


# Drafters timed in the longform mode (the main model's own greedy is always there).
LONGFORM_DRAFTS = ("self-int8", "tiny.en")


def _longform(model: str, drafts: list[str] | None, threads: int, language: str | None) -> Plan:
    """Whole long files: transformers' sequential long-form generate() (the baseline),
    specwhisper without a draft (the reference for exactness) and with each drafter, and
    faster-whisper float32/int8, all greedy with timestamps, conditioning and the same
    thresholds."""
    baseline = TransformersLongform(model, language)
    baseline.role = "baseline"
    plan = Plan([baseline], {model: baseline.label}, model=model)
    plain = Specwhisper(model, "none", language, options=LONG_FORM)
    plan.systems.append(plain)
    plan.references[model] = plain.label
    for draft in dict.fromkeys(drafts or LONGFORM_DRAFTS):
        _try(
            plan,
            f"draft {draft}",
            lambda d=draft: Specwhisper(model, d, language, options=LONG_FORM),
        )
    _add_int8(plan, model, language, LONG_FORM)
    _add_faster_whisper(plan, model, language, threads, long_form=True)
    return plan


def _add_faster_whisper(
    plan: Plan, model: str, language: str | None, threads: int, long_form: bool
) -> None:
    """faster-whisper float32 and int8 on the same CTranslate2 files, where they are here."""
    if _on_gpu(plan, "faster-whisper", "its CTranslate2 wheels need CUDA 12's cuBLAS"):
        return
    if not faster_whisper_available():
        plan.notes.append("faster-whisper skipped: not installed (pip install '.[peers]')")
    elif resolve(model).kind != "bundled":
        plan.notes.append(f"faster-whisper skipped: {model} is not a bundled CTranslate2 model")
    else:
        for compute_type in ("float32", "int8"):
            plan.systems.append(FasterWhisper(model, language, compute_type, threads, long_form))
