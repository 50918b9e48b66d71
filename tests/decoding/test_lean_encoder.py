"""The lean encoder computes transformers' encoder states bit for bit: it is the main model's
own work, shared by plain and speculative decoding, and compared with transformers' generate()."""

import pytest
import torch
from stand_in_models import tiny_whisper_config
from transformers import WhisperForConditionalGeneration

from specwhisper.decoding import lean_encoder
from specwhisper.decoding.kv_decoder import encode, encode_window
from specwhisper.features import log_mel


def _model(**extra) -> WhisperForConditionalGeneration:
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(
        tiny_whisper_config(96, 80, 64, start=1, end=2, **extra)
    )
    return model.eval()


def _transformers(model, features):
    with torch.inference_mode():
        return model.model.encoder(features).last_hidden_state


def test_states_equal_transformers_bit_for_bit():
    model = _model()
    assert lean_encoder.applies(model.model.encoder)
    torch.manual_seed(1)
    features = torch.randn(2, 80, 3000)  # two windows: the batch dimension too
    assert torch.equal(encode(model, features), _transformers(model, features))


def test_a_draft_window_of_the_first_frames_runs_the_same_layers():
    """``encode_window`` (drafts only) over the first frames: the lean layers on fewer
    positions equal transformers' layers run one by one on them."""
    model = _model()
    torch.manual_seed(2)
    features = torch.randn(1, 80, 3000)
    encoder = model.model.encoder
    with torch.inference_mode():
        hidden = torch.nn.functional.gelu(encoder.conv1(features[..., :800]))
        hidden = torch.nn.functional.gelu(encoder.conv2(hidden)).permute(0, 2, 1)
        hidden = hidden + encoder.embed_positions.weight[:400]
        for layer in encoder.layers:
            hidden = layer(hidden, None)
        expected = encoder.layer_norm(hidden)
    assert torch.equal(encode_window(model, features, 800), expected)


def test_another_attention_implementation_keeps_transformers_forward():
    model = _model(attn_implementation="eager")
    assert not lean_encoder.applies(model.model.encoder)
    features = torch.randn(1, 80, 3000)
    assert torch.equal(encode(model, features), _transformers(model, features))


def test_a_window_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="3000 mel frames, not 2999"):
        encode(_model(), torch.randn(1, 80, 2999))


@pytest.mark.slow
def test_real_weights_on_real_speech_equal_transformers_bit_for_bit(base, dev_set, dev_audio):
    features = log_mel(dev_audio[dev_set[0].id], base)
    assert torch.equal(encode(base.model, features), _transformers(base.model, features))
