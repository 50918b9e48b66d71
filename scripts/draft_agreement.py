"""How often each kind of int8 self-draft picks the main model's own token (base).

Teacher-forced: each long dev file is cut into 30 s windows, the fp32 model decodes every
window greedily (timestamps on, no earlier text), and each draft reads that transcript in one
pass; a position agrees when the draft's filtered argmax is the main model's token. This is the
ceiling of a draft's acceptance, free of draft-length choices and timing noise. Kinds: PyTorch's
dynamic int8 (7-bit activations), weight-only int8 (``models.weight_int8``) where its kernel
runs, and the fp32 decoder itself with the draft's cross-attention precision (the control).

    python scripts/draft_agreement.py > bench/results/draft-agreement/results.md
"""

from __future__ import annotations

import argparse
import warnings

import torch

from specwhisper.audio import SAMPLE_RATE, load_audio
from specwhisper.decoding.drafters.self_int8 import quantized_decoder
from specwhisper.decoding.kv_decoder import cross_key_values, encode
from specwhisper.decoding.lean_decoder import LeanDecoder
from specwhisper.decoding.logit_filters import argmax_rows, build_filters
from specwhisper.decoding.options import SpecStats, TranscribeOptions
from specwhisper.decoding.prompt import build_prompt
from specwhisper.decoding.search import search
from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset
from specwhisper.features import log_mel
from specwhisper.hardware import native_bf16
from specwhisper.models import weight_int8
from specwhisper.models.loading import load_model

WINDOW = 30 * SAMPLE_RATE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    base = load_model("base", "cpu")
    options = TranscribeOptions()
    filters = build_filters(base, options)
    prompt = build_prompt(base, "en", "transcribe", [], True)
    cross_dtype = torch.bfloat16 if native_bf16() else torch.float32
    drafts = {"fp32 decoder (control)": base.model, "dynamic int8": quantized_decoder(base, False)}
    if weight_int8.available():
        drafts["weight-only int8"] = quantized_decoder(base, True)
    agreed = dict.fromkeys(drafts, 0)
    positions = windows = 0
    with torch.inference_mode():
        for utterance in load_dataset(LONG_DEV_SET):
            audio = load_audio(utterance.audio_path)
            for start in range(0, len(audio), WINDOW):
                encoder_out = encode(base.model, log_mel(audio[start : start + WINDOW], base))
                cross_kv = cross_key_values(base.model, encoder_out)
                main = LeanDecoder(base.model, cross_kv=cross_kv)
                result = search(main, filters, prompt, 224, base.special.eot, SpecStats())
                tokens = result.tokens + [base.special.eot]
                sequence = list(prompt.tokens) + tokens
                rows = list(range(len(prompt.tokens) - 1, len(sequence) - 1))
                for name, model in drafts.items():
                    draft = LeanDecoder(model, cross_kv=cross_kv, cross_dtype=cross_dtype)
                    logits = draft.forward(sequence[:-1], rows)
                    for i, token in enumerate(tokens):
                        chosen = argmax_rows(filters.mask(logits[i : i + 1].clone(), tokens[:i]))
                        agreed[name] += chosen[0] == token
                positions += len(tokens)
                windows += 1
    print(f"# Teacher-forced agreement of int8 self-drafts with base ({args.threads} threads)\n")
    print(
        f"{windows} windows of the long dev files, {positions} positions (the main model's "
        f"tokens and end-of-text); cross-attention in {str(cross_dtype).removeprefix('torch.')} "
        "for every draft, as the self-int8 drafter runs it.\n"
    )
    print("| draft | agrees with base |")
    print("|---|---|")
    for name, count in agreed.items():
        print(f"| {name} | {count / positions:.3f} |")
    if not weight_int8.available():
        print(f"\nWeight-only int8 unavailable here: {weight_int8.kernels.unavailable_reason()}")


if __name__ == "__main__":
    main()
