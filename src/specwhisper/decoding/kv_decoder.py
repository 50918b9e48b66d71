"""A Whisper decoder over one utterance with a KV cache that can be rolled back."""

from __future__ import annotations

import threading
import weakref

import torch
import torch.nn.functional as F
from torch import nn
from transformers import WhisperForConditionalGeneration
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

from ..models.devices import finished, module_device, on_cpu
from . import lean_encoder


@torch.inference_mode()
def encode(model: WhisperForConditionalGeneration, features: torch.Tensor) -> torch.Tensor:
    """(1, n_mels, 3000) log-mel -> (1, 1500, d_model) encoder states, on the model's device
    (the features may be on the CPU)."""
    features = features.to(module_device(model))
    encoder = model.model.encoder
    expected = (
        encoder.config.max_source_positions * encoder.conv1.stride[0] * encoder.conv2.stride[0]
    )
    if features.shape[-1] != expected:  # as transformers' encoder refuses it
        raise ValueError(f"Whisper's encoder takes {expected} mel frames, not {features.shape[-1]}")
    if lean_encoder.applies(encoder):
        return finished(lean_encoder.encoder_states(encoder, features))
    return finished(encoder(features).last_hidden_state)


@torch.inference_mode()
def encode_window(
    model: WhisperForConditionalGeneration | nn.Module, features: torch.Tensor, frames: int
) -> torch.Tensor:
    """(1, n_mels, 3000) log-mel -> (1, frames // 2, d_model) states of its first ``frames``.

    For drafts only: an encoder that sees just the speech (plus a margin) instead of the padded
    30 s window costs a fraction of the full pass, and its decoder's cross-attention gets as
    much cheaper. Its states are not those of the full window, so a main model must never use
    this. transformers' encoder refuses inputs shorter than 3000 frames, hence the lean encoder
    (which takes any length) or, for another attention implementation, transformers' modules
    run one by one, exactly as its forward does.
    """
    encoder = model.model.encoder
    features = features.to(module_device(model))
    stride = encoder.conv1.stride[0] * encoder.conv2.stride[0]
    frames = max(stride, min(frames - frames % stride, features.shape[-1]))
    if lean_encoder.applies(encoder):
        return finished(lean_encoder.encoder_states(encoder, features[..., :frames]))
    hidden = nn.functional.gelu(encoder.conv1(features[..., :frames]))
    hidden = nn.functional.gelu(encoder.conv2(hidden)).permute(0, 2, 1)  # (1, frames/2, d)
    hidden = hidden + encoder.embed_positions.weight[: hidden.shape[1]]
    for layer in encoder.layers:
        hidden = layer(hidden, None)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    return finished(encoder.layer_norm(hidden))


def project_to_vocab(weight: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """(n, d) hidden states -> (n, vocab) logits, as ``F.linear(hidden, weight)``.

    Why not ``F.linear`` on the CPU: the ~51k x d float32 output matrix (106 MB for base) is
    larger than what stays cached between steps, and for the few rows of a decoder step or a
    verification (1-9) the plain matrix products re-pack or re-read it: 7-11 ms per call for
    base, where one read takes ~3.5. A copy packed once in oneDNN's blocked layout
    (``packed_output_layer``) is read once: 2.1x faster than the old ``weight @ hidden.T`` for
    1-2 rows, 1.5-1.7x for 5-9, and no slower up to 72 rows (``scripts/output_layer_bench.py``,
    cold caches, ``bench/results/output-layer``). The numbers differ from ``F.linear``'s by float32
    rounding (~1e-4), as any two matrix kernels do; plain decoding and verification both come
    through here.
    A GPU has no such trap: there it is ``F.linear``.
    """
    if hidden.is_cuda or weight.dtype != torch.float32 or hidden.dtype != torch.float32:
        return F.linear(hidden, weight)
    packed = packed_output_layer(weight)
    if packed is None:
        return F.linear(hidden, weight)
    return torch.ops.mkldnn._linear_pointwise(hidden, packed, None, "none", [], "")


# The rows a verification scores (a draft of up to 8 tokens, plus one): oneDNN picks its
# blocking from this hint; calls with other row counts stay correct.
_PACKED_ROWS_HINT = 8
# id(weight) -> packed copy; a tensor cannot key a WeakKeyDictionary (its == is elementwise),
# so a finalizer drops the copy when the weight goes.
_packed: dict[int, torch.Tensor | None] = {}
_packed_lock = threading.Lock()


def packed_output_layer(weight: torch.Tensor) -> torch.Tensor | None:
    """The oneDNN-packed copy of a float32 CPU ``weight``, made once per process (None where
    PyTorch has no oneDNN). A model that is dropped takes its copy with it."""
    if not torch.backends.mkldnn.is_available():
        return None
    key = id(weight)
    with _packed_lock:
        if key not in _packed:
            try:
                with torch.inference_mode():
                    packed = torch.ops.mkldnn._reorder_linear_weight(weight, _PACKED_ROWS_HINT)
                    # One call proves the build can run it (a private operator: some CPU
                    # builds may lack a kernel for it); F.linear serves if not.
                    torch.ops.mkldnn._linear_pointwise(weight[:1], packed, None, "none", [], "")
            except (RuntimeError, NotImplementedError):
                packed = None
            _packed[key] = packed
            weakref.finalize(weight, _packed.pop, key, None)
        return _packed[key]


CrossKV = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: (1, heads, frames, head_dim) x 2


def split_heads(states: torch.Tensor, heads: int, head_dim: int) -> torch.Tensor:
    """(1, n, heads * head_dim) -> (1, heads, n, head_dim), as attention layers want it."""
    return states.view(1, -1, heads, head_dim).transpose(1, 2)


@torch.inference_mode()
def cross_key_values(
    model: WhisperForConditionalGeneration | nn.Module, encoder_out: torch.Tensor
) -> CrossKV:
    """Per decoder layer, the cross-attention keys and values of ``encoder_out``.

    They depend on the encoder output alone, so they are computed once per utterance (as the
    decoder itself would on its first call) and can be handed to a draft decoder too.
    """
    keys_values: CrossKV = []
    for layer in model.model.decoder.layers:
        attention = layer.encoder_attn
        heads, head_dim = attention.num_heads, attention.head_dim
        keys = split_heads(attention.k_proj(encoder_out), heads, head_dim).contiguous()
        values = split_heads(attention.v_proj(encoder_out), heads, head_dim).contiguous()
        keys_values.append((keys, values))
    return keys_values


class CachedDecoder:
    """Feeds tokens to a decoder, keeps their keys/values, and crops them back on demand.

    ``length`` counts the tokens whose keys/values are cached. Cross-attention keys/values are
    ``cross_kv`` when given (see ``cross_key_values``), else computed on the first call; either
    way they are kept for the whole utterance.
    """

    def __init__(
        self,
        model: WhisperForConditionalGeneration | nn.Module,
        encoder_out: torch.Tensor,
        output_layer: nn.Module | None = None,
        cross_kv: CrossKV | None = None,
    ) -> None:
        # ``model`` may be a full Whisper or any module with ``.model.decoder`` and ``.proj_out``
        # (the int8 drafter passes its own quantized copy).
        self.decoder = model.model.decoder
        self.output_layer = output_layer if output_layer is not None else model.proj_out
        self.encoder_out = encoder_out
        self.max_positions = self.decoder.embed_positions.weight.shape[0]
        self.cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        for index, (keys, values) in enumerate(cross_kv or []):
            self.cache.cross_attention_cache.update(keys, values, index)
            # What transformers' attention checks to reuse instead of recomputing them.
            self.cache.is_updated[index] = True
        self.length = 0

    @torch.inference_mode()
    def forward(self, tokens: list[int], rows: list[int] | None = None) -> torch.Tensor:
        """Append ``tokens``; return the (len(rows), vocab) logits of the positions ``rows``
        (indices into ``tokens``; default all). Projecting only the rows needed matters: the
        output layer costs as much as a decoder layer per row, and a prompt of earlier text
        can be 200 tokens long."""
        ids = torch.tensor([tokens], dtype=torch.long, device=self.encoder_out.device)
        hidden = self.decoder(
            input_ids=ids,
            encoder_hidden_states=self.encoder_out,
            cache=self.cache,
            use_cache=True,
        ).last_hidden_state[0]
        self.length += len(tokens)
        if rows is not None:
            hidden = hidden[rows]
        weight = getattr(self.output_layer, "weight", None)
        if isinstance(weight, torch.Tensor) and isinstance(self.output_layer, nn.Linear):
            return on_cpu(project_to_vocab(weight, hidden))
        return self.output_layer(hidden)  # e.g. a dynamically quantized linear (CPU only)

    def crop(self, length: int) -> None:
        """Forget every cached token from position ``length`` on."""
        if length < self.length:
            self.cache.crop(length - self.length)  # transformers 5: a negative count removes
            self.length = length
