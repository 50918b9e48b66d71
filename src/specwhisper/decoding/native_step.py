"""A weight-only int8 draft's step in one native call (``kernels.decoder_step``).

Through PyTorch, a draft step of ``base`` is about a thousand small operations, and on a 2-core
CPU their dispatch cost more than their arithmetic (``scripts/draft_step_profile.py``: half of
the step outside any operator). The native step runs every layer in C on the same weights and
the same cache buffers as ``LeanDecoder``, which keeps long prompt feeds and cropping; it takes
over the feeds of a few tokens in all (a draft's steps, alone or batched, and the two tokens a
draft resumes with after a fully accepted proposal).

It applies where every linear layer of the decoder is weight-only int8
(``models.weight_int8``), the activation is exact GELU, and the kernels build here; elsewhere
``table_for`` answers None and the decoder stays on PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import kernels
from ..models.weight_int8 import WeightOnlyInt8Linear

# The most tokens one native call takes. Its work grows with the tokens (each reads its row's
# cross-attention keys/values), but it stays ahead of PyTorch's operators well past the int8
# kernel's own 8-row bound: a batched draft step of 8 rows on base, one of them resuming with
# two tokens, took 23 ms against 41 (all 8 with two: 33 against 42); longer feeds (prompts) are
# matrix products, which PyTorch does better.
MAX_TOKENS = 16


@dataclass(frozen=True)
class _LayerWeights:
    """One layer's layer norms (self-attention, cross-attention, feed-forward: weight, bias)
    and int8 linears (fused qkv, self out, cross query, cross out, fc1, fc2: weight, scale,
    bias), as ``decoder_step.c`` reads them."""

    norms: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    linears: tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None], ...]
    epsilons: frozenset[float]

    @classmethod
    def of(cls, layer: nn.Module) -> _LayerWeights | None:
        linears = (
            layer.self_attn.lean_qkv,
            layer.self_attn.out_proj,
            layer.encoder_attn.q_proj,
            layer.encoder_attn.out_proj,
            layer.fc1,
            layer.fc2,
        )
        norms = (
            layer.self_attn_layer_norm,
            layer.encoder_attn_layer_norm,
            layer.final_layer_norm,
        )
        if not all(type(linear) is WeightOnlyInt8Linear for linear in linears):
            return None
        if not all(norm.weight is not None and norm.bias is not None for norm in norms):
            return None
        return cls(
            norms=tuple((norm.weight, norm.bias) for norm in norms),
            linears=tuple((linear.weight, linear.scale, linear.bias) for linear in linears),
            epsilons=frozenset(norm.eps for norm in norms),
        )

    @property
    def tensors(self) -> tuple[torch.Tensor | None, ...]:
        """In ``decoder_step.c``'s table order: each sub-layer's norm, then its linears."""
        (self_norm, cross_norm, ffn_norm), linears = self.norms, self.linears
        return (
            *self_norm, *linears[0], *linears[1],
            *cross_norm, *linears[2], *linears[3],
            *ffn_norm, *linears[4], *linears[5],
        )  # fmt: skip

    def fits(self, width: int, ffn: int) -> bool:
        """Every tensor has the shape and dtype ``decoder_step.c`` reads it with."""
        outputs = (3 * width, width, width, width, ffn, width)
        inputs = (width, width, width, width, width, ffn)
        norms = [t for pair in self.norms for t in pair]
        if any(t.dtype != torch.float32 or t.shape != (width,) for t in norms):
            return False
        for (weight, scale, bias), rows, columns in zip(self.linears, outputs, inputs, strict=True):
            if weight.dtype != torch.int8 or weight.shape != (rows, columns):
                return False
            for vector in (scale, bias):
                if vector is None or vector.dtype != torch.float32 or vector.shape != (rows,):
                    return False
        return True


class NativeStep:
    """The table and shape for a ``LeanDecoder``'s buffers (every row). Build it again whenever
    the decoder's cache or cross-attention tensors are replaced (it points into them)."""

    def __init__(self, table: torch.Tensor, shape: kernels.StepShape, keep: list) -> None:
        self.table = table
        self.shape = shape
        self._keep = keep  # every tensor the table points into

    def __call__(
        self, hidden: torch.Tensor, slots: list[int], positions: list[int]
    ) -> torch.Tensor:
        """(tokens, d) float32 embeddings -> (tokens, d) last layer's output (in place); token
        t sits at ``positions[t]`` of cache row ``slots[t]`` (see ``kernels.decoder_step``)."""
        kernels.decoder_step(self.table, self.shape, slots, positions, hidden)
        return hidden


def _exact_gelu(decoder: nn.Module) -> bool:
    config = getattr(decoder, "config", None)
    return getattr(config, "activation_function", None) == "gelu"


def table_for(decoder: nn.Module, keys: list, values: list, cross_kv: list) -> NativeStep | None:
    """A native step over ``decoder``'s layers with these self-attention cache buffers
    (``(rows, heads, cache, head_dim)`` per layer) and cross-attention keys/values
    (``(rows, heads, frames, head_dim)``), each float32 or bfloat16; None where it does not
    apply. Everything the C code reads is checked here (shape, dtype, contiguity, device)."""
    if not keys or len(keys) != len(decoder.layers) or not _exact_gelu(decoder):
        return None
    # Type checks first: a float or dynamically quantized decoder never builds the kernels.
    layers = [_LayerWeights.of(layer) for layer in decoder.layers]
    if any(weights is None for weights in layers) or not kernels.available():
        return None
    epsilons = frozenset().union(*(layer.epsilons for layer in layers))
    if len(epsilons) != 1:
        return None
    cross_dtype, cache_dtype = cross_kv[0][0].dtype, keys[0].dtype
    if not {cross_dtype, cache_dtype} <= {torch.float32, torch.bfloat16}:
        return None
    rows, heads, cache, head_dim = keys[0].shape
    frames = cross_kv[0][0].shape[2]
    width = heads * head_dim
    ffn = decoder.layers[0].fc1.out_features
    # decoder_step.c's limits: whole AVX512 vectors per head, int8 products over 32 columns.
    if head_dim % 16 or head_dim > 128 or width % 32 or ffn % 32:
        return None
    if not all(layer.fits(width, ffn) for layer in layers):
        return None
    cross_shape = (rows, heads, frames, head_dim)
    if any(t.shape != keys[0].shape or t.dtype != cache_dtype for t in (*keys, *values)):
        return None
    if any(t.shape != cross_shape or t.dtype != cross_dtype for pair in cross_kv for t in pair):
        return None
    buffers = [*keys, *values, *(t for pair in cross_kv for t in pair)]
    weights = [t for layer in layers for t in layer.tensors]
    if any(not t.is_contiguous() or t.device.type != "cpu" for t in (*buffers, *weights)):
        return None
    table = []
    for index, layer in enumerate(layers):
        pointers = [t.data_ptr() for t in layer.tensors]
        keys_at, values_at = cross_kv[index]
        pointers += [keys[index].data_ptr(), values[index].data_ptr()]
        pointers += [keys_at.data_ptr(), values_at.data_ptr()]
        table.append(pointers)
    attention = decoder.layers[0].self_attn
    shape = kernels.StepShape(
        rows=rows,
        layers=len(layers),
        width=width,
        heads=heads,
        ffn=ffn,
        cache=cache,
        frames=frames,
        cross_bf16=cross_dtype == torch.bfloat16,
        cache_bf16=cache_dtype == torch.bfloat16,
        eps=next(iter(epsilons)),
        scaling=attention.scaling,
    )
    return NativeStep(torch.tensor(table, dtype=torch.int64), shape, buffers + weights)
