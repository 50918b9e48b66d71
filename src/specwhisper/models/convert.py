"""Map CTranslate2 Whisper variables onto transformers' ``WhisperForConditionalGeneration``.

CTranslate2 fuses some projections that transformers keeps apart:
- self-attention ``linear_0`` is [q; k; v] with bias [bq; 0; bv] (transformers' k_proj has no bias);
- cross-attention ``linear_0`` is q and ``linear_1`` is [k; v] with bias [0; bv];
- the last linear of every attention block is the output projection.
``gamma``/``beta`` are layer-norm weight/bias; conv weights are already in Conv1d layout; the
output projection is tied to the decoder embedding.
"""

from __future__ import annotations

import re

import numpy as np
import torch
from transformers import WhisperConfig

_LAYER = re.compile(r"^(encoder|decoder)/layer_(\d+)/")  # not encoder/layer_norm


class ConversionError(ValueError):
    """The CTranslate2 variables do not describe a Whisper model we can convert."""


def _count_layers(variables: dict[str, np.ndarray], side: str) -> int:
    indices = {
        int(m.group(2)) for name in variables if (m := _LAYER.match(name)) and m.group(1) == side
    }
    if not indices or indices != set(range(len(indices))):
        raise ConversionError(
            f"{side} layers are missing or not numbered 0..N-1: {sorted(indices)}"
        )
    return len(indices)


def whisper_config_from_ctranslate2(
    variables: dict[str, np.ndarray], special_ids: dict[str, int]
) -> WhisperConfig:
    """Build the transformers config implied by the variable shapes.

    ``special_ids`` holds the ids of ``eot`` and ``sot`` from the model's tokenizer.
    """
    vocab_size, d_model = variables["decoder/embeddings/weight"].shape
    return WhisperConfig(
        vocab_size=int(vocab_size),
        num_mel_bins=int(variables["encoder/conv1/weight"].shape[1]),
        d_model=int(d_model),
        encoder_layers=_count_layers(variables, "encoder"),
        decoder_layers=_count_layers(variables, "decoder"),
        encoder_attention_heads=int(variables["encoder/num_heads"]),
        decoder_attention_heads=int(variables["decoder/num_heads"]),
        encoder_ffn_dim=int(variables["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        decoder_ffn_dim=int(variables["decoder/layer_0/ffn/linear_0/weight"].shape[0]),
        max_source_positions=int(variables["encoder/position_encodings/encodings"].shape[0]),
        max_target_positions=int(variables["decoder/position_encodings/encodings"].shape[0]),
        bos_token_id=special_ids["eot"],
        eos_token_id=special_ids["eot"],
        pad_token_id=special_ids["eot"],
        decoder_start_token_id=special_ids["sot"],
        tie_word_embeddings=True,
    )


def _attention(prefix: str, source: str, out: dict[str, np.ndarray], v, cross: bool) -> None:
    d_model = v(f"{source}/linear_0/weight").shape[1]
    if cross:
        out[f"{prefix}.q_proj.weight"] = v(f"{source}/linear_0/weight")
        out[f"{prefix}.q_proj.bias"] = v(f"{source}/linear_0/bias")
        kv_w, kv_b = v(f"{source}/linear_1/weight"), v(f"{source}/linear_1/bias")
        out[f"{prefix}.k_proj.weight"] = kv_w[:d_model]
        out[f"{prefix}.v_proj.weight"] = kv_w[d_model:]
        out[f"{prefix}.v_proj.bias"] = kv_b[d_model:]
        out_proj = "linear_2"
    else:
        qkv_w, qkv_b = v(f"{source}/linear_0/weight"), v(f"{source}/linear_0/bias")
        out[f"{prefix}.q_proj.weight"] = qkv_w[:d_model]
        out[f"{prefix}.q_proj.bias"] = qkv_b[:d_model]
        out[f"{prefix}.k_proj.weight"] = qkv_w[d_model : 2 * d_model]
        out[f"{prefix}.v_proj.weight"] = qkv_w[2 * d_model :]
        out[f"{prefix}.v_proj.bias"] = qkv_b[2 * d_model :]
        out_proj = "linear_1"
    out[f"{prefix}.out_proj.weight"] = v(f"{source}/{out_proj}/weight")
    out[f"{prefix}.out_proj.bias"] = v(f"{source}/{out_proj}/bias")


def _layer_norm(target: str, source: str, out: dict[str, np.ndarray], v) -> None:
    out[f"{target}.weight"] = v(f"{source}/gamma")
    out[f"{target}.bias"] = v(f"{source}/beta")


def _self_attention_block(target: str, source: str, out: dict[str, np.ndarray], v) -> None:
    _attention(f"{target}.self_attn", f"{source}/self_attention", out, v, cross=False)
    _layer_norm(f"{target}.self_attn_layer_norm", f"{source}/self_attention/layer_norm", out, v)


def _feed_forward(target: str, source: str, out: dict[str, np.ndarray], v) -> None:
    for index, name in ((0, "fc1"), (1, "fc2")):
        out[f"{target}.{name}.weight"] = v(f"{source}/linear_{index}/weight")
        out[f"{target}.{name}.bias"] = v(f"{source}/linear_{index}/bias")
    _layer_norm(f"{target}.final_layer_norm", f"{source}/layer_norm", out, v)


def state_dict_from_ctranslate2(
    variables: dict[str, np.ndarray], config: WhisperConfig
) -> dict[str, torch.Tensor]:
    """Every transformers parameter as float32, keyed as ``WhisperForConditionalGeneration``."""
    used: set[str] = set()

    def v(name: str) -> np.ndarray:
        if name not in variables:
            raise ConversionError(f"CTranslate2 variable {name!r} is missing")
        used.add(name)
        return variables[name]

    out: dict[str, np.ndarray] = {}
    enc, dec = "model.encoder", "model.decoder"
    for conv in ("conv1", "conv2"):
        out[f"{enc}.{conv}.weight"] = v(f"encoder/{conv}/weight")
        out[f"{enc}.{conv}.bias"] = v(f"encoder/{conv}/bias")
    out[f"{enc}.embed_positions.weight"] = v("encoder/position_encodings/encodings")
    _layer_norm(f"{enc}.layer_norm", "encoder/layer_norm", out, v)
    for i in range(config.encoder_layers):
        src, dst = f"encoder/layer_{i}", f"{enc}.layers.{i}"
        _self_attention_block(dst, src, out, v)
        _feed_forward(dst, f"{src}/ffn", out, v)

    out[f"{dec}.embed_tokens.weight"] = v("decoder/embeddings/weight")
    out[f"{dec}.embed_positions.weight"] = v("decoder/position_encodings/encodings")
    _layer_norm(f"{dec}.layer_norm", "decoder/layer_norm", out, v)
    for i in range(config.decoder_layers):
        src, dst = f"decoder/layer_{i}", f"{dec}.layers.{i}"
        _self_attention_block(dst, src, out, v)
        _attention(f"{dst}.encoder_attn", f"{src}/attention", out, v, cross=True)
        _layer_norm(f"{dst}.encoder_attn_layer_norm", f"{src}/attention/layer_norm", out, v)
        _feed_forward(dst, f"{src}/ffn", out, v)
    out["proj_out.weight"] = v("decoder/embeddings/weight")  # tied, no bias

    # Every tensor variable must have found a home: a leftover means a layout we do not know.
    leftovers = {
        n for n, a in variables.items() if a.ndim > 0 and n not in used and "projection" not in n
    }
    if leftovers:
        raise ConversionError(f"unmapped CTranslate2 variables: {sorted(leftovers)[:5]} ...")
    return {
        name: torch.from_numpy(np.asarray(a, dtype=np.float32).copy()) for name, a in out.items()
    }
