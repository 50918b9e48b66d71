"""A lean Whisper decoder: the same layers as transformers' decoder, fewer steps around them.

A decoder step of ``base`` spends as much time in bookkeeping as in arithmetic when it goes
through transformers' modules: cache objects growing by concatenation, attention-mask
construction, output records, one call per projection. Here the self-attention keys/values live
in buffers allocated once per window (rolling back is setting ``length``), the query, key and
value projections are one matrix product (``fuse_qkv``), and each layer is a handful of calls
on the model's own weights. Both the main model (verification and plain decoding) and the
drafts run on it; its logits equal transformers' to within 1e-5 (tested), and plain and
speculative decoding share it, so they stay token-identical.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .kv_decoder import CrossKV, cross_key_values, project_to_vocab, split_heads


def fuse_qkv(attention: nn.Module) -> nn.Module:
    """One ``Linear(d, 3d)`` for an attention's query, key and value projections.

    For a float module the fused weight is one tensor and the separate projections become views
    of it, so nothing is stored twice. Quantized copies are fused before quantization (see
    ``self_int8.quantized_copy``). The key projection has no bias: a zero bias stands in.
    """
    fused = getattr(attention, "lean_qkv", None)
    if fused is not None:
        return fused
    q, k, v = attention.q_proj, attention.k_proj, attention.v_proj
    d_in, d_out = q.in_features, q.out_features
    weight = torch.cat([q.weight.data, k.weight.data, v.weight.data])
    bias = torch.cat(
        [
            q.bias.data if q.bias is not None else torch.zeros(d_out),
            k.bias.data if k.bias is not None else torch.zeros(d_out),
            v.bias.data if v.bias is not None else torch.zeros(d_out),
        ]
    )
    fused = nn.Linear(d_in, 3 * d_out)
    fused.weight = nn.Parameter(weight, requires_grad=False)
    fused.bias = nn.Parameter(bias, requires_grad=False)
    for index, projection in enumerate((q, k, v)):
        projection.weight = nn.Parameter(weight[index * d_out : (index + 1) * d_out], False)
    attention.lean_qkv = fused
    return fused


def fuse_decoder(decoder: nn.Module) -> None:
    """Fuse every self-attention of ``decoder`` (idempotent)."""
    for layer in decoder.layers:
        fuse_qkv(layer.self_attn)


class LeanDecoder:
    """``forward(tokens, rows) -> logits``, ``crop(length)``, ``length``: as ``CachedDecoder``.

    ``model`` is a Whisper or any module with ``.model.decoder`` and ``.proj_out`` (an int8
    copy, say). ``cross_kv`` may come from another model with the same decoder shape, e.g. the
    fp32 main model's own cross-attention keys/values for its int8 self-draft. ``cross_dtype``
    bfloat16 halves the cross-attention's memory traffic: for drafts only, whose numbers need
    not be the main model's.
    """

    def __init__(
        self,
        model: nn.Module,
        encoder_out: torch.Tensor | None = None,
        cross_kv: CrossKV | None = None,
        cross_dtype: torch.dtype = torch.float32,
    ) -> None:
        if cross_kv is None:
            if encoder_out is None:
                raise ValueError("LeanDecoder needs encoder_out or cross_kv")
            cross_kv = cross_key_values(model, encoder_out)
        self.decoder = model.model.decoder
        fuse_decoder(self.decoder)
        # An int8 main model (models/int8.py) quantizes each row's activations: a rounding
        # difference of 1e-7 upstream can move an int8 value, so its attention must give a row
        # bit for bit what it gives that row decoded alone. Float models skip this (cost).
        self.row_invariant = bool(getattr(model, "row_invariant", False))
        self.output_layer = model.proj_out
        self.cross_dtype = cross_dtype
        self.cross_kv = [(k.to(cross_dtype), v.to(cross_dtype)) for k, v in cross_kv]
        attention = self.decoder.layers[0].self_attn
        self.heads, self.head_dim = attention.num_heads, attention.head_dim
        self.scaling = attention.scaling
        self.width = self.heads * self.head_dim
        self.max_positions = self.decoder.embed_positions.weight.shape[0]
        shape = (1, self.heads, self.max_positions, self.head_dim)
        # Per layer: self-attention keys and values of every position fed so far.
        self.keys = [torch.empty(shape) for _ in self.decoder.layers]
        self.values = [torch.empty(shape) for _ in self.decoder.layers]
        self.length = 0

    def _heads(self, states: torch.Tensor) -> torch.Tensor:
        return split_heads(states, self.heads, self.head_dim)

    @torch.inference_mode()
    def forward(self, tokens: list[int], rows: list[int] | None = None) -> torch.Tensor:
        """Append ``tokens``; return the (len(rows), vocab) logits of positions ``rows``
        (indices into ``tokens``; default all)."""
        start, end = self.length, self.length + len(tokens)
        if end > self.max_positions:
            raise ValueError(f"the decoder has {self.max_positions} positions, not {end}")
        ids = torch.tensor(tokens, dtype=torch.long)
        positions = self.decoder.embed_positions.weight[start:end]
        embedded = self.decoder.embed_tokens(ids) * getattr(self.decoder, "embed_scale", 1.0)
        hidden = (embedded + positions).unsqueeze(0)  # (1, n, d)
        # Token i sees every cached position and the new ones up to itself.
        mask = None
        if len(tokens) > 1:
            mask = torch.ones(len(tokens), end, dtype=torch.bool).tril(diagonal=start)
        width = self.width
        for index, layer in enumerate(self.decoder.layers):
            attention = layer.self_attn
            qkv = attention.lean_qkv(layer.self_attn_layer_norm(hidden))
            query = self._heads(qkv[..., :width] * self.scaling)
            self.keys[index][:, :, start:end] = self._heads(qkv[..., width : 2 * width])
            self.values[index][:, :, start:end] = self._heads(qkv[..., 2 * width :])
            keys, values = self.keys[index], self.values[index]
            if self.row_invariant and len(tokens) > 1:
                # Row i sees positions up to start + i: the call decoding it alone makes.
                mixed = torch.cat(
                    [
                        F.scaled_dot_product_attention(
                            query[:, :, i : i + 1],
                            keys[:, :, : start + i + 1],
                            values[:, :, : start + i + 1],
                            scale=1.0,
                        )
                        for i in range(len(tokens))
                    ],
                    dim=2,
                )
            else:
                mixed = F.scaled_dot_product_attention(
                    query,
                    keys[:, :, :end],
                    values[:, :, :end],
                    attn_mask=mask,
                    scale=1.0,  # the query is already scaled, as in transformers
                )
            hidden = hidden + attention.out_proj(mixed.transpose(1, 2).reshape(hidden.shape))

            attention = layer.encoder_attn
            normed = layer.encoder_attn_layer_norm(hidden)
            query = self._heads(attention.q_proj(normed) * self.scaling).to(self.cross_dtype)
            keys, values = self.cross_kv[index]
            if self.row_invariant and len(tokens) > 1:
                mixed = torch.cat(
                    [
                        F.scaled_dot_product_attention(
                            query[:, :, i : i + 1], keys, values, scale=1.0
                        )
                        for i in range(len(tokens))
                    ],
                    dim=2,
                )
            else:
                mixed = F.scaled_dot_product_attention(query, keys, values, scale=1.0)
            mixed = mixed.to(hidden.dtype)
            hidden = hidden + attention.out_proj(mixed.transpose(1, 2).reshape(hidden.shape))

            normed = layer.final_layer_norm(hidden)
            hidden = hidden + layer.fc2(layer.activation_fn(layer.fc1(normed)))
        self.length = end
        hidden = hidden[0] if rows is None else hidden[0, rows]
        hidden = self.decoder.layer_norm(hidden)
        weight = getattr(self.output_layer, "weight", None)
        if isinstance(weight, torch.Tensor) and isinstance(self.output_layer, nn.Linear):
            return project_to_vocab(weight, hidden)
        return self.output_layer(hidden)  # e.g. a dynamically quantized linear

    def crop(self, length: int) -> None:
        """Forget every cached token from position ``length`` on (the buffers stay)."""
        self.length = min(self.length, length)
