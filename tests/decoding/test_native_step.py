"""The weight-only int8 draft's native step against the same decoder on PyTorch."""

import pytest
import torch
from stand_in_models import tiny_whisper_config
from transformers import WhisperForConditionalGeneration

from specwhisper import kernels
from specwhisper.decoding import native_step
from specwhisper.decoding.drafters.self_int8 import _DecoderOnly, quantized_copy
from specwhisper.decoding.kv_decoder import cross_key_values
from specwhisper.decoding.lean_decoder import LeanDecoder

pytestmark = pytest.mark.skipif(not kernels.available(), reason="native kernels unavailable")

VOCAB = 96
PROMPT = [1, 5, 9, 13]


def _model(seed: int = 0, heads: int = 4, width: int = 64) -> WhisperForConditionalGeneration:
    """The tests' tiny Whisper (head_dim 16: one AVX-512 vector), or with ``heads`` and
    ``width`` another head size (Whisper's own is 64: four vectors)."""
    torch.manual_seed(seed)
    config = tiny_whisper_config(VOCAB, 80, 64, start=1, end=2)
    config.d_model = width
    config.encoder_attention_heads = config.decoder_attention_heads = heads
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.mul_(3.0)
    return model


def _draft(model, weight_only: bool = True):
    decoder = _DecoderOnly(model.model.decoder, model.proj_out)
    return quantized_copy(decoder, weight_only=weight_only)


def _cross_kv(model, seed: int = 1):
    torch.manual_seed(seed)
    with torch.inference_mode():
        return cross_key_values(model, torch.randn(1, 1500, model.config.d_model))


def _pytorch_only(decoder: LeanDecoder) -> LeanDecoder:
    decoder._native_checked = True  # as if native_step did not apply
    return decoder


def _same_choices(got: torch.Tensor, expected: torch.Tensor, bound: float) -> bool:
    """Each row's argmax agrees, except where ``expected`` holds a near-tie (the two choices
    within ``bound`` of its largest logit): bfloat16 rounding may settle those either way."""
    mine, theirs = got.argmax(-1), expected.argmax(-1)
    rows = torch.arange(len(expected))
    gaps = expected[rows, theirs] - expected[rows, mine]
    return bool((gaps <= bound * expected.abs().max()).all())


def _steps(decoder: LeanDecoder, tokens: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([decoder.forward([token]) for token in tokens])


@pytest.mark.parametrize(("heads", "width"), [(4, 64), (2, 128)])
@pytest.mark.parametrize(
    ("cross_dtype", "cache_dtype"),
    [
        (torch.float32, torch.float32),
        (torch.bfloat16, torch.float32),
        (torch.float32, torch.bfloat16),
        (torch.bfloat16, torch.bfloat16),
    ],
)
def test_one_token_steps_match_the_pytorch_decoder(cross_dtype, cache_dtype, heads, width):
    """Same weights, same cache: the logits of 30 one-token steps after a prompt agree with
    PyTorch's to rounding (the query is rounded to bfloat16 by PyTorch's bfloat16 attention,
    not by the native step: hence the looser bound there), and so does every argmax (in
    bfloat16, every one but near-ties)."""
    model = _model(heads=heads, width=width)
    draft, cross_kv = _draft(model), _cross_kv(model)
    tokens = [(7 * i + 3) % VOCAB for i in range(30)]
    decoders = {}
    for native in (True, False):
        decoder = LeanDecoder(
            draft, cross_kv=cross_kv, cross_dtype=cross_dtype, cache_dtype=cache_dtype
        )
        decoder = decoder if native else _pytorch_only(decoder)
        with torch.inference_mode():
            decoder.forward(PROMPT)
        decoders[native] = (decoder, _steps(decoder, tokens))
    (native, got), (reference, expected) = decoders[True], decoders[False]
    assert native._native is not None and reference._native is None
    scale = expected.abs().max()
    bound = 1e-4 if cross_dtype == cache_dtype == torch.float32 else 2e-2
    assert (got - expected).abs().max() / scale < bound
    assert _same_choices(got, expected, 0.0 if bound < 1e-3 else bound)
    assert native.length == reference.length == len(PROMPT) + len(tokens)
    # The step wrote its keys/values where PyTorch reads them.
    length = native.length
    for mine, theirs in zip(native.keys, reference.keys, strict=True):
        assert mine.dtype == theirs.dtype == cache_dtype
        mine, theirs = mine[:, :, :length].float(), theirs[:, :, :length].float()
        assert (mine - theirs).abs().max() / theirs.abs().max() < bound


def test_cropping_and_stepping_again_repeats_the_same_logits():
    model = _model()
    decoder = LeanDecoder(_draft(model), cross_kv=_cross_kv(model))
    with torch.inference_mode():
        decoder.forward(PROMPT)
        first = _steps(decoder, [20, 21, 22])
        _steps(decoder, [40, 41])  # a rejected draft
        decoder.crop(len(PROMPT))
        again = _steps(decoder, [20, 21, 22])
    assert torch.equal(first, again)


def test_a_row_left_after_keep_steps_natively_on_its_own_buffers():
    """``keep`` replaces the buffers: the table is rebuilt for them, not left pointing at the
    old ones."""
    model = _model()
    draft = _draft(model)
    kv_a, kv_b = _cross_kv(model, seed=1), _cross_kv(model, seed=2)
    with torch.inference_mode():
        pair = LeanDecoder(draft, cross_kvs=[kv_a, kv_b])
        pair.forward_rows([PROMPT, PROMPT], [[3], [3]])
        pair.forward_rows([[20], [21]], [[0], [0]])  # native, on both rows' buffers
        before = pair._native
        pair.keep([1])
        alone = _pytorch_only(LeanDecoder(draft, cross_kv=kv_b))
        alone.forward(PROMPT)
        alone.forward([21])
        got, expected = _steps(pair, [30, 31]), _steps(alone, [30, 31])
    assert before is not None and pair._native is not None and pair._native is not before
    assert torch.allclose(got, expected, atol=1e-4 * expected.abs().max().item())


def test_it_applies_only_to_weight_only_int8_decoders():
    model = _model()
    cross_kv = _cross_kv(model)
    for module in (_DecoderOnly(model.model.decoder, model.proj_out), _draft(model, False)):
        decoder = LeanDecoder(module, cross_kv=cross_kv)
        assert decoder._native_step() is None


def test_buffers_it_cannot_read_are_left_to_pytorch():
    """The C code reads raw memory: a non-contiguous or oddly typed buffer means no table."""
    model = _model()
    decoder = LeanDecoder(_draft(model), cross_kv=_cross_kv(model))
    keys, values, cross_kv = decoder.keys, decoder.values, decoder.cross_kv
    strided = [k.transpose(2, 3).contiguous().transpose(2, 3) for k in keys]
    halves = [k.half() for k in keys]
    for bad_keys in (strided, halves):
        assert native_step.table_for(decoder.decoder, bad_keys, values, cross_kv) is None
    assert native_step.table_for(decoder.decoder, keys, values, cross_kv) is not None


def test_bfloat16_cache_entries_are_rounded_to_nearest_even_as_pytorch_rounds():
    """The first layer's new key/value does not depend on the cache: written by the native step
    into a bfloat16 cache, it has the bits PyTorch's rounding gives the float32 one."""
    model = _model(heads=2, width=128)
    draft, cross_kv = _draft(model), _cross_kv(model)
    caches = {}
    for dtype in (torch.float32, torch.bfloat16):
        decoder = LeanDecoder(draft, cross_kv=cross_kv, cache_dtype=dtype)
        with torch.inference_mode():
            decoder.forward(PROMPT)
            decoder.forward([33])  # one token: the native step writes slot len(PROMPT)
        assert decoder._native is not None
        caches[dtype] = (decoder.keys[0], decoder.values[0])
    slot = len(PROMPT)
    for wide, narrow in zip(caches[torch.float32], caches[torch.bfloat16], strict=True):
        assert torch.equal(wide[:, :, slot].to(torch.bfloat16), narrow[:, :, slot])


def test_the_step_refuses_an_input_it_would_overrun():
    model = _model()
    decoder = LeanDecoder(_draft(model), cross_kv=_cross_kv(model))
    step = decoder._native_step()
    width = model.config.d_model
    with pytest.raises(ValueError, match="one position per token"):
        step(torch.zeros(2, width), [0, 0], [4])  # two tokens, one position
    with pytest.raises(ValueError, match="float32"):
        step(torch.zeros(1, width, dtype=torch.bfloat16), [0], [4])
    with pytest.raises(ValueError, match="rows \\[1\\]"):
        step(torch.zeros(1, width), [1], [4])  # a second row in a one-row cache


def test_shapes_the_step_cannot_take_are_refused():
    model = _model()
    decoder = LeanDecoder(_draft(model), cross_kv=_cross_kv(model))
    step = decoder._native_step()
    hidden = torch.zeros(model.config.d_model)
    with pytest.raises(ValueError, match="position"):
        step(hidden.view(1, -1), [0], [step.shape.cache])  # past the cache's last slot


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_rows_at_different_positions_step_together_as_each_alone(dtype):
    """A batched draft: rows with prompts of different lengths (past 16 keys, a whole block
    of the attention's scoring), one token each per step, give each row what it gets decoded
    alone; with float32 or bfloat16 caches (each row's buffers at its own offset)."""
    model = _model(heads=2, width=128)
    draft = _draft(model)
    kvs = [_cross_kv(model, seed=seed) for seed in (1, 2, 3)]
    prompts = [PROMPT * 5, PROMPT * 6 + [30, 31, 32], PROMPT[:2]]
    steps = [[40, 50, 60], [41, 51, 61], [42, 52, 62], [43, 53, 63]]
    with torch.inference_mode():
        batch = LeanDecoder(draft, cross_kvs=[], cross_dtype=dtype, cache_dtype=dtype)
        for prompt, kv in zip(prompts, kvs, strict=True):
            batch.add_row(kv, prompt)  # fed alone, as below (a padded feed rounds otherwise)
        together = [batch.forward_rows([[t] for t in step], [[0]] * 3) for step in steps]
        assert batch._native is not None
        for row, (prompt, kv) in enumerate(zip(prompts, kvs, strict=True)):
            alone = LeanDecoder(draft, cross_kv=kv, cross_dtype=dtype, cache_dtype=dtype)
            alone = _pytorch_only(alone)
            alone.forward(prompt)
            expected = _steps(alone, [step[row] for step in steps])
            got = torch.cat([logits[row] for logits in together])
            bound = 1e-4 if dtype == torch.float32 else 2e-2
            assert (got - expected).abs().max() < bound * expected.abs().max()
            assert _same_choices(got, expected, 0.0 if dtype == torch.float32 else bound)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_several_tokens_of_a_row_in_one_call_match_the_pytorch_decoder(dtype):
    """A draft resuming after an accepted proposal feeds two tokens, and a short prompt a few:
    one native call over consecutive positions of a row, each token seeing the ones before it
    in the same call, gives the logits of PyTorch's causal feed at every position."""
    model = _model(heads=2, width=128)
    draft, cross_kv = _draft(model), _cross_kv(model)
    # A prompt longer than native_step.MAX_TOKENS goes through PyTorch in both decoders. (More
    # than 8 rows would take PyTorch's weight-only layers to their bfloat16 dense weights: not
    # a reference to 1e-4.)
    feeds = [PROMPT * 5, [40, 41], [42], [43, 44, 45, 46, 47, 48, 49, 50]]
    got, expected = [], []
    for native, out in ((True, got), (False, expected)):
        decoder = LeanDecoder(draft, cross_kv=cross_kv, cross_dtype=dtype, cache_dtype=dtype)
        decoder = decoder if native else _pytorch_only(decoder)
        with torch.inference_mode():
            for feed in feeds:
                out.append(decoder.forward(feed, list(range(len(feed)))))
        assert decoder.length == sum(len(feed) for feed in feeds)
        assert (decoder._native is not None) == native
    got, expected = torch.cat(got), torch.cat(expected)
    bound = 1e-4 if dtype == torch.float32 else 2e-2
    assert (got - expected).abs().max() < bound * expected.abs().max()
    assert _same_choices(got, expected, 0.0 if dtype == torch.float32 else bound)


def test_rows_fed_different_numbers_of_tokens_step_together_as_each_alone():
    """A batched draft's first step after a round: one row resumes with two tokens, another
    with one, a third with three, all in one call, and each row's wanted logits are those of
    that row decoded alone."""
    model = _model(heads=2, width=128)
    draft = _draft(model)
    kvs = [_cross_kv(model, seed=seed) for seed in (1, 2, 3)]
    prompts = [PROMPT * 5, PROMPT * 6 + [30, 31, 32], PROMPT[:2]]
    feeds = [[40, 41], [50], [60, 61, 62]]
    wanted = [[1], [0], [0, 2]]
    with torch.inference_mode():
        batch = LeanDecoder(draft, cross_kvs=[])
        for prompt, kv in zip(prompts, kvs, strict=True):
            batch.add_row(kv, prompt)
        together = batch.forward_rows(feeds, wanted)
        assert batch._native is not None
        assert batch.lengths == [len(p) + len(f) for p, f in zip(prompts, feeds, strict=True)]
        for row, (prompt, kv) in enumerate(zip(prompts, kvs, strict=True)):
            alone = _pytorch_only(LeanDecoder(draft, cross_kv=kv))
            alone.forward(prompt)
            expected = alone.forward(feeds[row], wanted[row])
            assert together[row].shape == expected.shape
            assert (together[row] - expected).abs().max() < 1e-4 * expected.abs().max()
            assert _same_choices(together[row], expected, 0.0)


def test_a_feed_of_the_most_tokens_one_call_takes_equals_it_fed_in_halves():
    """Up to ``MAX_TOKENS`` tokens go in one call; each token's row of the call is computed on
    its own (its own activation scale, its own attention), so one call writes the cache two
    calls write and ends on the same logits."""
    model = _model(heads=2, width=128)
    draft, cross_kv = _draft(model), _cross_kv(model)
    tokens = [(5 * i + 7) % VOCAB for i in range(native_step.MAX_TOKENS)]
    half = len(tokens) // 2
    decoders, last = [], []  # one call, two calls
    for feeds in ([tokens], [tokens[:half], tokens[half:]]):
        decoder = LeanDecoder(draft, cross_kv=cross_kv)
        with torch.inference_mode():
            decoder.forward(PROMPT * 5)
            last.append([decoder.forward(feed, [len(feed) - 1]) for feed in feeds][-1])
        assert decoder._native is not None
        decoders.append(decoder)
    assert torch.allclose(last[0], last[1], rtol=0, atol=1e-5 * last[1].abs().max().item())
    length = decoders[0].length
    whole, halves = decoders
    for one, two in zip(whole.keys + whole.values, halves.keys + halves.values, strict=True):
        one, two = one[:, :, :length], two[:, :, :length]
        assert torch.allclose(one, two, rtol=0, atol=1e-5 * two.abs().max().item())
