"""``self-int8`` drafter: the main model's own decoder, dynamically quantized to int8 (CPU).

It reads the main model's encoder output, so drafting costs no second encoder pass, and it
agrees with the fp32 model on almost every token (the prototype measured 0.95 acceptance).
Its cross-attention reads the main model's own keys/values of that output (computed once per
window for verification anyway) instead of projecting int8 ones, and it runs on the
``LeanDecoder``.
"""

from __future__ import annotations

import copy
import threading
import warnings
import weakref

import torch
from torch import nn

from ...hardware import native_bf16
from ...models import weight_int8
from ...models.loading import WhisperBundle
from ..lean_decoder import LeanDecoder, fuse_decoder
from ..logit_filters import build_filters
from ..options import TranscribeOptions
from .base import DraftModelSession, ModelBatchDraft, WindowContext


class _DecoderOnly(nn.Module):
    """Quacks like a Whisper for LeanDecoder: ``.model.decoder`` and ``.proj_out``."""

    def __init__(self, decoder: nn.Module, proj_out: nn.Module) -> None:
        super().__init__()
        self.model = nn.Module()
        self.model.decoder = decoder
        self.proj_out = proj_out


def quantized_copy(module: nn.Module, lean: bool = True, weight_only: bool = False) -> nn.Module:
    """An int8 copy of every linear layer in ``module``; the original is untouched.
    ``lean``: a decoder's self-attention projections are fused first
    (``lean_decoder.fuse_qkv``) and the separate ones dropped from the copy, which only the lean
    decoder can then run; False keeps transformers' modules whole (for its own generate()).
    ``weight_only``: int8 weights with near-float activations (``models.weight_int8``) instead
    of PyTorch's dynamic int8, which also rounds the activations to 7 bits."""
    module = copy.deepcopy(module).eval()
    decoder = getattr(getattr(module, "model", None), "decoder", None) if lean else None
    if decoder is not None:
        fuse_decoder(decoder)
        for layer in decoder.layers:  # the fused projection replaces them
            for name in ("q_proj", "k_proj", "v_proj"):
                setattr(layer.self_attn, name, nn.Identity())
    if weight_only:
        weight_int8.weight_only_int8(module)
        return module
    with warnings.catch_warnings():
        # torch.ao's eager quantization is deprecated in favour of torchao, but it is what the
        # pinned torch ships, and it is fast: keep the warnings out of users' output.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return torch.ao.quantization.quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8)


# One int8 copy per float model and kind, shared by every drafter built from it in a process
# (a benchmark's configurations, a server's transcribers): the copies are only read, and each
# costs a few hundred MB. Keyed weakly: a model that is dropped takes its copies with it.
_copies: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_copies_lock = threading.Lock()


def shared_int8(model: nn.Module, kind: str, build) -> nn.Module:
    """``build()``'s int8 copy of ``model``, made once per process for each ``kind``."""
    with _copies_lock:
        made = _copies.setdefault(model, {})
        if kind not in made:
            made[kind] = build()
        return made[kind]


def quantized_decoder(main: WhisperBundle, weight_only: bool | None = None) -> nn.Module:
    """An int8 copy of the main decoder and output layer (one per process and kind); the fp32
    original is left untouched. ``weight_only``: see ``quantized_copy``; by default where its
    kernel builds and runs (AVX512-VNNI and a C compiler), else PyTorch's dynamic int8."""
    if weight_only is None:
        weight_only = weight_int8.available()

    def build() -> nn.Module:
        # Only the decoder is copied: the encoder output comes from the main model.
        config = main.model.config
        proj_out = nn.Linear(config.d_model, config.vocab_size, bias=False)
        proj_out.weight = main.model.proj_out.weight
        decoder = _DecoderOnly(main.model.model.decoder, proj_out)
        return quantized_copy(decoder, weight_only=weight_only)

    return shared_int8(main.model, "decoder-weight-only" if weight_only else "decoder", build)


def _attention_dtype() -> torch.dtype:
    """The draft's attention keys/values, cross and self: bfloat16 halves the memory traffic of
    its largest reads where the processor has bf16 arithmetic (the verifier keeps float32)."""
    return torch.bfloat16 if native_bf16() else torch.float32


class SelfInt8Drafter:
    name = "self-int8"

    def __init__(self, main: WhisperBundle) -> None:
        self.main = main
        self.module = quantized_decoder(main)

    def batch(self, options: TranscribeOptions) -> ModelBatchDraft:
        dtype = _attention_dtype()
        decoder = LeanDecoder(self.module, cross_kvs=[], cross_dtype=dtype, cache_dtype=dtype)
        return ModelBatchDraft(decoder, build_filters(self.main, options), self.main.special.eot)

    def start(self, context: WindowContext) -> DraftModelSession:
        dtype = _attention_dtype()
        decoder = LeanDecoder(
            self.module,
            context.main_encoder_out,
            cross_kv=context.main_cross_kv,
            cross_dtype=dtype,
            cache_dtype=dtype,
        )
        filters = build_filters(self.main, context.options)
        return DraftModelSession(decoder, filters, list(context.main_prompt), self.main.special.eot)
