"""Where one step of the ``self-int8`` draft decoder spends its time (base, one dev clip).

Times a draft step on PyTorch's operators and through the native call (``native_step``,
alternated), then PyTorch's profiler over the same steps (operator self time per
step), then the int8 output layer alone at full size and restricted to the first N token ids
(the "smaller output layer" idea: byte-level BPE ids are roughly ordered by frequency), so
that the gain of each idea can be bounded before it is built.

    python scripts/draft_step_profile.py [--threads 2] [--kind weight-only|dynamic] \
        > bench/results/draft-step/KIND.md
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch
from torch.profiler import ProfilerActivity, profile

from specwhisper.audio import load_audio
from specwhisper.decoding.drafters.self_int8 import quantized_copy, quantized_decoder
from specwhisper.decoding.kv_decoder import cross_key_values, encode
from specwhisper.decoding.lean_decoder import LeanDecoder
from specwhisper.decoding.prompt import build_prompt
from specwhisper.evaluation.datasets import DEFAULT_DEV_SET, load_dataset
from specwhisper.features import log_mel
from specwhisper.hardware import native_bf16
from specwhisper.models.loading import load_model
from specwhisper.models.weight_int8 import WeightOnlyInt8Linear

STEPS = 100


def per_call_ms(function, calls: int = 300) -> float:
    for _ in range(5):
        function()
    began = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - began) / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--kind",
        choices=("auto", "weight-only", "dynamic"),
        default="auto",
        help="the draft's int8: weight-only (models.weight_int8), PyTorch's dynamic int8, or "
        "auto (what self-int8 uses here)",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    base = load_model("base", "cpu")
    weight_only = None if args.kind == "auto" else args.kind == "weight-only"
    draft = quantized_decoder(base, weight_only=weight_only)
    kind = "weight-only" if isinstance(draft.proj_out, WeightOnlyInt8Linear) else "dynamic"
    clip = load_dataset(DEFAULT_DEV_SET, samples=1)[0]
    with torch.inference_mode():
        encoder_out = encode(base.model, log_mel(load_audio(clip.audio_path), base))
        cross_kv = cross_key_values(base.model, encoder_out)
    cross_dtype = torch.bfloat16 if native_bf16() else torch.float32
    prompt = build_prompt(base, "en", "transcribe", [], True).tokens

    def fresh(native: bool = False) -> LeanDecoder:
        decoder = LeanDecoder(
            draft, encoder_out, cross_kv=cross_kv, cross_dtype=cross_dtype, cache_dtype=cross_dtype
        )
        decoder._native_checked = not native  # True: the PyTorch path (the profiled one)
        decoder.forward(prompt)
        return decoder

    def step_ms(native: bool) -> float:
        decoder = fresh(native)
        ids = iter(range(400, 400 + 10 * STEPS))
        return per_call_ms(lambda: decoder.forward([next(ids)]), STEPS)

    # Alternated, three rounds, medians: the machine's speed drifts between runs.
    native_applies = fresh(True)._native_step() is not None
    rounds = [(step_ms(False), step_ms(True) if native_applies else None) for _ in range(3)]
    pytorch_ms = sorted(r[0] for r in rounds)[1]
    native_ms = sorted(r[1] for r in rounds)[1] if native_applies else None
    decoder = fresh()
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        for token in range(STEPS):
            decoder.forward([500 + token])
    rows = sorted(profiled.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    print(
        f"# One self-int8 draft step of base ({kind} int8, {args.threads} threads, "
        f"attention caches in "
        f"{str(cross_dtype).removeprefix('torch.')})\n"
    )
    print(
        f"Step on PyTorch's operators: {pytorch_ms:.2f} ms, measured alone (positions "
        f"{len(prompt)} to {len(prompt) + STEPS}; median of 3 rounds)."
    )
    if native_ms is not None:
        print(
            f"The same step through the native call (`decoding.native_step`, what the draft "
            f"uses here), alternated with it: {native_ms:.2f} ms.\n"
        )
    else:
        print("The native step does not apply to this draft.\n")
    print("| operator | ms per step (self, profiled) | calls per step |")
    print("|---|---|---|")
    accounted = 0.0
    for row in rows[:10]:
        ms = row.self_cpu_time_total / 1000 / STEPS
        accounted += ms
        print(f"| {row.key} | {ms:.3f} | {row.count / STEPS:g} |")
    total = sum(row.self_cpu_time_total for row in rows) / 1000 / STEPS
    print(f"| all operators | {total:.3f} | |")
    print(
        f"\nOutside the operators (Python, dispatch; step minus all operators, the profiler "
        f"adds its own cost to the latter): {pytorch_ms - total:.2f} ms"
        + (
            "; the weight-only int8 kernel (kernels.int8_linear) runs outside PyTorch's "
            "operators, so its time is counted here.\n"
            if kind == "weight-only"
            else "\n"
        )
    )
    x = torch.randn(1, base.model.config.d_model)
    print("| int8 output layer over | ms per row |")
    print("|---|---|")
    full = per_call_ms(lambda: draft.proj_out(x))
    vocabulary = base.model.config.vocab_size
    print(f"| all {vocabulary} ids | {full:.3f} |")
    weight = base.model.proj_out.weight.detach()
    for size in (8192, 16384, 24576):
        layer = torch.nn.Linear(weight.shape[1], size, bias=False)
        layer.weight = torch.nn.Parameter(weight[:size].clone(), requires_grad=False)
        small = quantized_copy(
            torch.nn.Sequential(layer), lean=False, weight_only=kind == "weight-only"
        )[0]
        print(f"| the first {size} ids | {per_call_ms(lambda s=small: s(x)):.3f} |")


if __name__ == "__main__":
    main()
