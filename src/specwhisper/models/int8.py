"""The ``int8`` compute type: a main model whose linear layers compute in 8-bit integers.

Every linear layer, encoder and decoder, is a ``RowwiseInt8Linear``: int8 weights with one
scale per output channel, and each activation row (one audio frame, one token position)
quantized with its own scale, as CTranslate2's int8 does. Measured on the dev set, PyTorch's
dynamically quantized encoder (FBGEMM, one scale for a whole window's activations) raised base's
WER from 14.9 % to 17.2 % on 16 clips, the per-row encoder kept it at 14.9 % and ran faster
(bench/results/peers-8clips has the current figures).

In the decoder the per-row scale is also what keeps decoding exact: one scale for all the rows
of a pass would quantize each position of a k-token draft differently from decoding it alone,
and speculative output could drift from plain output. With a scale per row and exact integer
products (``torch._int_mm``), a row's result does not depend on the other rows: the int8
model's speculative output is token-identical to its own plain output, by construction.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import replace

import torch
from torch import nn

from ..decoding.lean_decoder import fuse_decoder
from .loading import WhisperBundle
from .weight_int8 import replace_linears

COMPUTE_TYPES = ("float32", "int8")


class RowwiseInt8Linear(nn.Module):
    """y = x W^T + b with W in int8 (one scale per output channel) and each row of x
    quantized to int8 with its own scale; int32 accumulation."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        quantized = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight_t", quantized.T.contiguous())  # (in, out) for _int_mm
        self.register_buffer("weight_scale", scale)
        bias = linear.bias.detach().float() if linear.bias is not None else None
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, self.in_features).float()
        scale = rows.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0
        quantized = torch.round(rows / scale).clamp(-127, 127).to(torch.int8)
        out = torch._int_mm(quantized, self.weight_t).float() * scale * self.weight_scale
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*shape[:-1], self.out_features)


_cache: dict[str, WhisperBundle] = {}
_lock = threading.Lock()


def int8_bundle(bundle: WhisperBundle) -> WhisperBundle:
    """``bundle`` with an int8 copy of its model (made once per process); the float model is
    untouched (drafts are built from it)."""
    key = bundle.source.location
    with _lock:
        if key not in _cache:
            model = copy.deepcopy(bundle.model).eval()
            decoder = model.model.decoder
            fuse_decoder(decoder)  # the lean decoder's fused q/k/v, before quantizing
            replace_linears(model.model.encoder, RowwiseInt8Linear)
            # Every decoder linear, the fused and the separate q/k/v alike (beam search runs
            # transformers' own modules, which call the separate ones).
            replace_linears(decoder, RowwiseInt8Linear)
            # proj_out shares its weight with the token embedding, which stays float.
            model.proj_out = RowwiseInt8Linear(bundle.model.proj_out)
            model.row_invariant = True  # read by LeanDecoder: attention row by row
            _cache[key] = replace(bundle, model=model)
        return _cache[key]
