"""Where each text token of a window was spoken: cross-attention of the alignment heads + DTW.

A few cross-attention heads of a trained Whisper decoder (its ``alignment_heads``, listed in
the generation config of the released checkpoints) look at the audio frames where the token
they read is spoken. One extra pass of the main decoder over the window's final text tokens,
with the start-of-transcript prompt and no timestamps (so the attention is about text alone),
gives those heads' attention; dynamic time warping then finds the monotonic path through it.
Where the path moves from one token to the next is when that token starts.

The pass reads only the final tokens and the main model, so drafting cannot change the result,
and it is our own loop over the decoder layers because transformers' SDPA attention does not
return its weights (``LeanDecoder`` is untouched: it never needs them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.devices import module_device, on_cpu
from ..models.loading import WhisperBundle
from .dtw import dtw, median_filter
from .kv_decoder import CrossKV, cross_key_values, project_to_vocab, split_heads
from .lean_decoder import fuse_decoder
from .prompt import sot_sequence

# Encoder positions per second: the encoder halves the 100 log-mel frames per second.
POSITIONS_PER_SECOND = 50
# openai-whisper's smoothing of the attention along time, in encoder positions (140 ms).
MEDIAN_FILTER_WIDTH = 7


@dataclass(frozen=True)
class TokenTimes:
    """Per text token of a window: when it starts and how likely the main model found it.

    ``starts`` has one more entry than there are tokens: the last is when the end-of-text
    starts, i.e. when the last token ends. Seconds from the window's start.
    """

    starts: np.ndarray  # (n + 1,)
    probabilities: np.ndarray  # (n,) softmax over the text vocabulary


def alignment_heads(bundle: WhisperBundle) -> list[tuple[int, int]]:
    """(layer, head) pairs whose cross-attention follows the speech. From the generation config;
    a model without them uses every head of the upper half of the layers (openai-whisper's
    default), which aligns less sharply."""
    configured = getattr(bundle.generation_config, "alignment_heads", None)
    if configured:
        return [(int(layer), int(head)) for layer, head in configured]
    config = bundle.model.config
    layers, heads = config.decoder_layers, config.decoder_attention_heads
    return [(layer, head) for layer in range(layers // 2, layers) for head in range(heads)]


def token_times(
    bundle: WhisperBundle,
    encoder_out: torch.Tensor,
    text_tokens: list[int],
    audio_positions: int,
    language: str | None,
    task: str,
    cross_kv: CrossKV | None = None,
) -> TokenTimes:
    """Start times of ``text_tokens`` (ids below end-of-text) in a window whose encoder output
    is ``encoder_out`` (1, 1500, d), of which the first ``audio_positions`` hold audio."""
    if not text_tokens:
        return TokenTimes(np.zeros(1), np.zeros(0))
    if cross_kv is None:
        cross_kv = cross_key_values(bundle.model, encoder_out)
    prompt = sot_sequence(bundle, language, task, timestamps=False)
    tokens = [*prompt, *text_tokens, bundle.special.eot]
    # Row r of these predicts text token r: the first is <|notimestamps|>'s row, the last
    # (the last text token's row) predicts the end-of-text.
    rows = slice(len(prompt) - 1, len(prompt) + len(text_tokens))
    heads = alignment_heads(bundle)
    logits, scores = _attend(bundle.model, cross_kv, tokens, heads)
    text_logits = logits[rows][:-1, : bundle.special.eot].float()
    probabilities = text_logits.softmax(dim=-1)
    probabilities = probabilities[torch.arange(len(text_tokens)), torch.tensor(text_tokens)]

    positions = max(1, min(audio_positions, scores.shape[-1]))
    # Attention over the audio alone: the padding after it says nothing about when.
    weights = scores[:, :, :positions].float().softmax(dim=-1).numpy()  # (heads, tokens, pos)
    # Standardise each position across the tokens: a position every token attends to (noise,
    # a loud click) should not pull the path.
    mean = weights.mean(axis=1, keepdims=True)
    std = weights.std(axis=1, keepdims=True)
    weights = (weights - mean) / np.maximum(std, 1e-8)
    weights = median_filter(weights, MEDIAN_FILTER_WIDTH)
    matrix = weights.mean(axis=0)[rows]  # (n + 1, positions)
    token_index, position = dtw(-matrix)
    # The path visits every row; the first position it reaches a row at is that token's start.
    first = np.concatenate([[True], np.diff(token_index) > 0])
    starts = position[first] / POSITIONS_PER_SECOND
    return TokenTimes(starts.astype(np.float64), probabilities.numpy().astype(np.float64))


@torch.inference_mode()
def _attend(
    model: nn.Module, cross_kv: CrossKV, tokens: list[int], heads: list[tuple[int, int]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """One decoder pass over ``tokens`` (no cache): logits of every position (n, vocab) and
    the pre-softmax cross-attention scores of ``heads`` (len(heads), n, 1500).

    The layers are the model's own modules, called as ``LeanDecoder`` calls them; only the
    cross-attention is written out, to keep its scores.
    """
    decoder = model.model.decoder
    fuse_decoder(decoder)
    attention = decoder.layers[0].self_attn
    n_heads, head_dim, scaling = attention.num_heads, attention.head_dim, attention.scaling
    width = n_heads * head_dim
    ids = torch.tensor(tokens, dtype=torch.long, device=module_device(decoder))
    positions = decoder.embed_positions.weight[: len(tokens)]
    embedded = decoder.embed_tokens(ids) * getattr(decoder, "embed_scale", 1.0)
    hidden = (embedded + positions).unsqueeze(0)  # (1, n, d)
    wanted: dict[int, list[int]] = {}
    for layer_index, head in heads:
        wanted.setdefault(layer_index, []).append(head)
    kept: dict[tuple[int, int], torch.Tensor] = {}
    for index, layer in enumerate(decoder.layers):
        qkv = layer.self_attn.lean_qkv(layer.self_attn_layer_norm(hidden))
        query = split_heads(qkv[..., :width] * scaling, n_heads, head_dim)
        keys = split_heads(qkv[..., width : 2 * width], n_heads, head_dim)
        values = split_heads(qkv[..., 2 * width :], n_heads, head_dim)
        mixed = F.scaled_dot_product_attention(query, keys, values, is_causal=True, scale=1.0)
        hidden = hidden + layer.self_attn.out_proj(mixed.transpose(1, 2).reshape(hidden.shape))

        cross = layer.encoder_attn
        normed = layer.encoder_attn_layer_norm(hidden)
        query = split_heads(cross.q_proj(normed) * scaling, n_heads, head_dim)
        keys, values = cross_kv[index]
        scores = query @ keys.transpose(-1, -2)  # (1, heads, n, 1500)
        mixed = scores.softmax(dim=-1) @ values
        for head in wanted.get(index, []):
            kept[(index, head)] = scores[0, head]
        hidden = hidden + cross.out_proj(mixed.transpose(1, 2).reshape(hidden.shape))

        hidden = hidden + layer.fc2(layer.activation_fn(layer.fc1(layer.final_layer_norm(hidden))))
    hidden = decoder.layer_norm(hidden[0])
    output = model.proj_out
    if isinstance(output, nn.Linear):
        logits = project_to_vocab(output.weight, hidden)
    else:
        logits = output(hidden)  # e.g. the int8 main model's row-wise int8 layer
    return on_cpu(logits), on_cpu(torch.stack([kept[pair] for pair in heads]))
