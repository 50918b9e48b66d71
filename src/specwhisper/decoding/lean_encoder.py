"""Whisper's encoder as transformers runs it, minus the copies around its operations.

The encoder is about a third of a long file's time, and it is the main model's own work, so it
must stay exactly what the model computes. transformers' encoder layer makes each of q, k and v
contiguous, copies the attention output back, and allocates a fresh tensor for every residual
sum and activation: 1500 x d_model float32 each time. Here the same operators run in the same
order on the same values (SDPA on strided views of q/k/v, the residual sums and GELU in place,
which round identically), so the states are bit for bit transformers' (tested on the bundled
weights), and a 30 s window of base took 438 against 475 ms here (median of 12, alternated;
tiny.en 223 against 256).

It follows transformers' SDPA attention; a model loaded with another attention implementation
keeps transformers' own forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_gelu_in_place = torch.ops.aten.gelu_


def applies(encoder: nn.Module) -> bool:
    """Whether ``encoder_states`` computes what ``encoder`` does: SDPA attention, exact GELU."""
    config = getattr(encoder, "config", None)
    return (
        getattr(config, "_attn_implementation", None) == "sdpa"
        and getattr(config, "activation_function", None) == "gelu"
    )


@torch.inference_mode()
def encoder_states(encoder: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """(B, n_mels, frames) log-mel -> (B, frames / 2, d_model) states, as ``encoder`` computes
    them (transformers checks that frames is 3000; a draft may pass fewer, see
    ``kv_decoder.encode_window``)."""
    hidden = F.gelu(encoder.conv1(features))
    hidden = _gelu_in_place(encoder.conv2(hidden))
    hidden = hidden.permute(0, 2, 1) + encoder.embed_positions.weight[: hidden.shape[2]]
    for layer in encoder.layers:
        hidden = _layer(layer, hidden)
    return encoder.layer_norm(hidden)


def _layer(layer: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """One ``WhisperEncoderLayer`` (inference: no dropout), same operators, same order."""
    attention = layer.self_attn
    batch, frames, width = hidden.shape
    normed = layer.self_attn_layer_norm(hidden)

    def heads(states: torch.Tensor) -> torch.Tensor:
        return states.view(batch, frames, attention.num_heads, -1).transpose(1, 2)

    query = attention.q_proj(normed).mul_(attention.scaling)  # scaled before, as transformers
    keys, values = attention.k_proj(normed), attention.v_proj(normed)
    mixed = F.scaled_dot_product_attention(heads(query), heads(keys), heads(values), scale=1.0)
    mixed = mixed.transpose(1, 2).reshape(batch, frames, width)
    hidden = attention.out_proj(mixed).add_(hidden)  # residual + out: the same sum
    inner = _gelu_in_place(layer.fc1(layer.final_layer_norm(hidden)))
    hidden = layer.fc2(inner).add_(hidden)
    if hidden.dtype == torch.float16:  # transformers keeps float16 states finite
        limit = torch.finfo(hidden.dtype).max - 1000
        hidden = torch.clamp(hidden, min=-limit, max=limit)
    return hidden
