"""The ``int8`` compute type: a main model whose linear layers compute in 8-bit integers.

Encoder: PyTorch's dynamically quantized linear layers (FBGEMM), as faster-whisper's int8 does
with CTranslate2. The encoder always sees one whole window at once, so how it quantizes its
activations (one scale per tensor) is the same in every decode.

Decoder: ``RowwiseInt8Linear``. A dynamically quantized layer takes one activation scale for all
the rows it is given, so scoring a draft of k tokens at once would quantize each position
differently from decoding it alone, and speculative output could drift from plain output.
Here every row gets its own scale and the products are exact integer arithmetic
(``torch._int_mm``), so a row's result does not depend on the other rows: the int8 model's
speculative output is token-identical to its own plain output, by construction.
"""

from __future__ import annotations

import copy
import threading
import warnings
from dataclasses import replace

import torch
from torch import nn

from ..decoding.lean_decoder import fuse_decoder
from .loading import WhisperBundle

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


def _rowwise(module: nn.Module) -> None:
    """Replace every nn.Linear under ``module`` by a RowwiseInt8Linear, in place."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear):
            setattr(module, name, RowwiseInt8Linear(child))
        else:
            _rowwise(child)


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
            with warnings.catch_warnings():
                # torch.ao's eager quantization is deprecated in favour of torchao, but it is
                # what the pinned torch ships: keep the warnings out of users' output.
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", UserWarning)
                model.model.encoder = torch.ao.quantization.quantize_dynamic(
                    model.model.encoder, {nn.Linear}, dtype=torch.qint8
                )
            # Every decoder linear, the fused and the separate q/k/v alike (beam search runs
            # transformers' own modules, which call the separate ones).
            _rowwise(decoder)
            # proj_out shares its weight with the token embedding, which stays float.
            model.proj_out = RowwiseInt8Linear(bundle.model.proj_out)
            model.row_invariant = True  # read by LeanDecoder: attention row by row
            _cache[key] = replace(bundle, model=model)
        return _cache[key]
