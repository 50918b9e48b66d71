"""A lean decoder for drafts: the same layers as transformers' Whisper decoder, fewer steps.

A draft token costs ~4.4 ms through transformers' decoder for int8 ``base`` on 2 CPU cores, of
which ~0.7 ms is bookkeeping around the arithmetic: cache objects growing by concatenation,
attention-mask construction, output dataclasses. Here the self-attention keys/values live in
buffers allocated once per utterance (rolling back is setting ``length``) and each layer is a
handful of calls on the model's own modules. Only drafts use it: the main model is always run
through transformers' own decoder (``kv_decoder.CachedDecoder``), so the verifier's numbers
are the library's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .kv_decoder import CrossKV, cross_key_values, split_heads


class DraftDecoder:
    """Same interface as ``CachedDecoder``: ``forward(tokens) -> logits``, ``crop``, ``length``.

    ``model`` is a Whisper or any module with ``.model.decoder`` and ``.proj_out`` (an int8
    copy, say). ``cross_kv`` may come from another model with the same decoder shape, e.g. the
    fp32 main model's own cross-attention keys/values for its int8 self-draft.
    """

    def __init__(
        self,
        model: nn.Module,
        encoder_out: torch.Tensor | None = None,
        cross_kv: CrossKV | None = None,
    ) -> None:
        if cross_kv is None:
            if encoder_out is None:
                raise ValueError("DraftDecoder needs encoder_out or cross_kv")
            cross_kv = cross_key_values(model, encoder_out)
        self.decoder = model.model.decoder
        self.output_layer = model.proj_out
        self.cross_kv = cross_kv
        attention = self.decoder.layers[0].self_attn
        self.heads, self.head_dim = attention.num_heads, attention.head_dim
        self.scaling = attention.scaling
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
        """Append ``tokens``; return the logits of positions ``rows`` (default all)."""
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
        for index, layer in enumerate(self.decoder.layers):
            attention = layer.self_attn
            normed = layer.self_attn_layer_norm(hidden)
            query = self._heads(attention.q_proj(normed) * self.scaling)
            self.keys[index][:, :, start:end] = self._heads(attention.k_proj(normed))
            self.values[index][:, :, start:end] = self._heads(attention.v_proj(normed))
            mixed = F.scaled_dot_product_attention(
                query,
                self.keys[index][:, :, :end],
                self.values[index][:, :, :end],
                attn_mask=mask,
                scale=1.0,  # the query is already scaled, as in transformers
            )
            hidden = hidden + attention.out_proj(mixed.transpose(1, 2).reshape(hidden.shape))

            attention = layer.encoder_attn
            normed = layer.encoder_attn_layer_norm(hidden)
            query = self._heads(attention.q_proj(normed) * self.scaling)
            keys, values = self.cross_kv[index]
            mixed = F.scaled_dot_product_attention(query, keys, values, scale=1.0)
            hidden = hidden + attention.out_proj(mixed.transpose(1, 2).reshape(hidden.shape))

            normed = layer.final_layer_norm(hidden)
            hidden = hidden + layer.fc2(layer.activation_fn(layer.fc1(normed)))
        self.length = end
        hidden = hidden[0] if rows is None else hidden[0, rows]
        return self.output_layer(self.decoder.layer_norm(hidden))

    def crop(self, length: int) -> None:
        """Forget every cached token from position ``length`` on (the buffers stay)."""
        self.length = min(self.length, length)
