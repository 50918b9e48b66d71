"""Several windows decoded in lockstep equal each decoded alone, on random tiny models (fast):
per-row lengths and cropping, rows that finish at different times, padded feeds of different
lengths (drafts of different lengths), a batched draft and per-row draft sessions."""

import numpy as np
import pytest
import torch
from test_speculative_random import _inputs, _previous
from window_helpers import decode_window, window_audio

from specwhisper import kernels
from specwhisper.decoding.batch_search import BatchSearch, SessionsDraft
from specwhisper.decoding.draft_length import DraftLengthChooser
from specwhisper.decoding.drafters.cross_vocab import CrossVocabDrafter
from specwhisper.decoding.drafters.self_int8 import SelfInt8Drafter
from specwhisper.decoding.kv_decoder import cross_key_values, encode
from specwhisper.decoding.lean_decoder import LeanDecoder, fill_places
from specwhisper.decoding.options import SpecStats, TranscribeOptions
from specwhisper.decoding.prompt import build_prompt
from specwhisper.decoding.window import WindowDecoder
from specwhisper.models.int8 import int8_bundle

NEW_TOKENS = 60  # past the 64 positions for rows with a prompt: rows end at different times


def _window_kvs(main, count: int) -> list:
    """The main decoder's cross-attention keys/values of the first ``count`` test windows."""
    encoded = [encode(main.model, window_audio(main, a).features) for a in _inputs()[:count]]
    return [cross_key_values(main.model, e) for e in encoded]


def test_rows_equal_single_rows(same_vocab_pair):
    main, _ = same_vocab_pair
    torch.manual_seed(0)
    with torch.inference_mode():
        kvs = _window_kvs(main, 3)
        batch = LeanDecoder(main.model, cross_kvs=kvs)
        singles = [LeanDecoder(main.model, cross_kv=kv) for kv in kvs]
        feeds_per_step = [
            [[1, 2, 3, 4, 5, 6, 7], [8, 9], [10, 11, 12, 13]],
            [[14], [15, 16, 17, 18, 19], [20, 21]],
        ]
        for feeds in feeds_per_step:
            out = batch.forward_rows(feeds, [range(len(f)) for f in feeds])
            for row, feed in enumerate(feeds):
                assert (out[row] - singles[row].forward(feed)).abs().max() < 1e-4
        batch.crop_row(1, 3)  # a rejected draft, in one row only
        singles[1].crop(3)
        batch.keep([2, 1])  # row 0 finished; the others stay, in a new order
        out = batch.forward_rows([[22], [23, 24]], [[0], [0, 1]])
        assert (out[0] - singles[2].forward([22])).abs().max() < 1e-4
        assert (out[1] - singles[1].forward([23, 24])).abs().max() < 1e-4


@pytest.mark.parametrize("native", [True, False])
def test_an_int8_main_gives_each_row_bit_for_bit_what_it_gives_alone(
    same_vocab_pair, native, monkeypatch
):
    """An int8 main model quantizes each row's activations, so its attention must not depend
    on what shares the call (``kernels.attend`` where it runs, PyTorch row by row elsewhere):
    rows of a batch, several tokens at once and one token at a time give the same bits, and
    batched decoding the same tokens without any near-tie margin."""
    if native and not kernels.available():
        pytest.skip(f"native kernels unavailable: {kernels.unavailable_reason()}")
    if not native:
        monkeypatch.setattr(kernels, "available", lambda: False)
    main = int8_bundle(same_vocab_pair[0])
    torch.manual_seed(0)
    with torch.inference_mode():
        kvs = _window_kvs(main, 3)
        batch = LeanDecoder(main.model, cross_kvs=kvs)
        assert batch.attends_alone == native
        singles = [LeanDecoder(main.model, cross_kv=kv) for kv in kvs]
        feeds = [[1, 2, 3, 4, 5], [8, 9], [10, 11, 12]]
        out = batch.forward_rows(feeds, [range(len(f)) for f in feeds])
        for row, feed in enumerate(feeds):
            one_by_one = torch.cat([singles[row].forward([token]) for token in feed])
            assert torch.equal(out[row], one_by_one)
    audios = _inputs()
    alone = [decode_window(main, a, max_new_tokens=NEW_TOKENS)[0] for a in audios]
    found, _ = _batch_decode(
        main, audios, SelfInt8Drafter(same_vocab_pair[0]), [[]] * len(audios), 3
    )
    assert [f.tokens for f in found] == [a.tokens for a in alone]


def test_rows_join_a_batch_in_flight(same_vocab_pair):
    """A row added to a batch that is already decoding (its earlier text fed alone) gives
    what it gives alone; so do the rows that were there before it."""
    main, _ = same_vocab_pair
    torch.manual_seed(0)
    with torch.inference_mode():
        kvs = _window_kvs(main, 3)
        batch = LeanDecoder(main.model, cross_kvs=[])
        singles = [LeanDecoder(main.model, cross_kv=kv) for kv in kvs]
        assert batch.add_row(kvs[0], []) is None
        batch.add_row(kvs[1], [1, 2, 3])
        singles[1].forward([1, 2, 3])
        out = batch.forward_rows([[4, 5], [6]], [[0, 1], [0]])
        assert (out[0] - singles[0].forward([4, 5])).abs().max() < 1e-4
        assert (out[1] - singles[1].forward([6])).abs().max() < 1e-4
        batch.keep([1])  # row 0 finished; a third joins with a prompt of its own
        joined = batch.add_row(kvs[2], [7, 8, 9, 10])
        assert (joined - singles[2].forward([7, 8, 9, 10])[-1]).abs().max() < 1e-4
        out = batch.forward_rows([[11], [12, 13]], [[0], [0, 1]])
        assert (out[0] - singles[1].forward([11])).abs().max() < 1e-4
        assert (out[1] - singles[2].forward([12, 13])).abs().max() < 1e-4
        batch.keep([])  # everybody left; the batch fills again
        batch.add_row(kvs[0], [14])
        assert batch.lengths == [1]


def test_fill_places_moves_only_the_last_rows():
    assert fill_places(["a", "b", "c", "d"], ["a", "c"]) == [3, 1]  # d takes place 0
    assert fill_places(["a", "b", "c", "d"], ["d"]) == [0, 1, 2]  # the last leaves: no move
    assert fill_places([0, 1, 2, 3, 4], [1]) == [0, 4, 2, 3]
    assert fill_places([0, 1, 2], [0, 1, 2]) == []


def test_rows_join_and_leave_in_place(same_vocab_pair):
    """With room reserved, rows join and leave without the buffers being replaced (each
    leaving place is filled by one of the last rows), and every row still decodes as alone."""
    main, _ = same_vocab_pair
    torch.manual_seed(0)
    with torch.inference_mode():
        kvs = _window_kvs(main, 4)
        batch = LeanDecoder(main.model, cross_kvs=[])
        batch.reserve(4)
        singles = [LeanDecoder(main.model, cross_kv=kv) for kv in kvs]
        for row, kv in enumerate(kvs):
            batch.add_row(kv, [1, 2, row + 3])
            singles[row].forward([1, 2, row + 3])
        buffers = [t.data_ptr() for t in (batch.keys[0], batch.cross_kv[0][0])]
        feeds = [[4], [5, 6], [7], [8, 9, 10]]
        out = batch.forward_rows(feeds, [range(len(f)) for f in feeds])
        for row, feed in enumerate(feeds):
            assert (out[row] - singles[row].forward(feed)).abs().max() < 1e-4
        batch.crop_row(3, 5)  # row 3's draft rejected before it moves
        singles[3].crop(5)
        kept = fill_places([0, 1, 2, 3], [0, 2])
        batch.keep(kept)
        assert [t.data_ptr() for t in (batch.keys[0], batch.cross_kv[0][0])] == buffers
        assert batch.lengths == [5, 5]
        out = batch.forward_rows([[11, 12], [13]], [[0, 1], [0]])
        assert (out[0] - singles[3].forward([11, 12])).abs().max() < 1e-4
        assert (out[1] - singles[1].forward([13])).abs().max() < 1e-4
        batch.add_row(kvs[0], [14])  # a row joins the freed place
        assert batch.keys[0].data_ptr() == buffers[0]
        alone = LeanDecoder(main.model, cross_kv=kvs[0])
        alone.forward([14])
        out = batch.forward_rows([[15], [16], [17]], [[0], [0], [0]])
        assert (out[2] - alone.forward([17])).abs().max() < 1e-4
        assert (out[0] - singles[3].forward([15])).abs().max() < 1e-4


def test_a_window_added_while_others_decode_equals_it_alone(same_vocab_pair):
    """Continuous batching: rows join a BatchSearch between rounds, with and without a
    batched draft, and each still gets its lone greedy tokens."""
    main, _ = same_vocab_pair
    audios = _inputs()
    previous = [_previous(main, i) for i in range(len(audios))]
    alone = [
        decode_window(main, a, previous=p, max_new_tokens=NEW_TOKENS)[0]
        for a, p in zip(audios, previous, strict=True)
    ]
    for drafter in (None, SelfInt8Drafter(main)):
        options = TranscribeOptions(temperature=(0.0,), max_new_tokens=NEW_TOKENS)
        search = None
        results = {}
        for index, (audio, prev) in enumerate(zip(audios, previous, strict=True)):
            window = window_audio(main, audio)
            decoder = WindowDecoder(
                main,
                drafter,
                DraftLengthChooser(8, fixed=3),
                options,
                SpecStats(),
                torch.Generator(),
            )
            if search is None:
                draft = drafter.batch(options) if drafter is not None else None
                search = BatchSearch.like(decoder, draft)
            encoded = decoder.encode(window.features)
            prompt = build_prompt(main, "en", "transcribe", prev, True)
            kv = decoder.cross_kv(encoded)
            context = None
            if drafter is not None:
                context = decoder.window_context(window, encoded, kv, prompt, prev, "en")
            search.add(index, prompt, kv, decoder.stats, context)
            results.update(search.step())  # the earlier rows are a round ahead of this one
        while len(search):
            results.update(search.step())
        for index, want in enumerate(alone):
            got = results[index]
            assert got.tokens == want.tokens or got.margin < 1e-3, (drafter, index)
            assert got.no_speech_prob == pytest.approx(want.no_speech_prob, abs=1e-4)


def _batch_decode(main, audios, drafter, previous, k, **options):
    """Every audio's window decoded together: the greedy tokens of each row."""
    options = TranscribeOptions(temperature=(0.0,), max_new_tokens=NEW_TOKENS, **options)
    timestamps = not options.without_timestamps
    decoders, prompts, kvs, contexts = [], [], [], []
    for audio, prev in zip(audios, previous, strict=True):
        window = window_audio(main, audio)
        decoder = WindowDecoder(
            main, drafter, DraftLengthChooser(8, fixed=k), options, SpecStats(), torch.Generator()
        )
        encoded = decoder.encode(window.features)
        prompt = build_prompt(main, "en", "transcribe", prev, timestamps)
        kv = decoder.cross_kv(encoded)
        decoders.append(decoder)
        prompts.append(prompt)
        kvs.append(kv)
        if drafter is not None:
            contexts.append(decoder.window_context(window, encoded, kv, prompt, prev, "en"))
    draft = None
    if drafter is not None:
        draft = drafter.batch(options) or SessionsDraft(drafter)
    search = BatchSearch.like(decoders[0], draft)
    for index, (prompt, kv, decoder) in enumerate(zip(prompts, kvs, decoders, strict=True)):
        search.add(index, prompt, kv, decoder.stats, contexts[index] if contexts else None)
    found = {}
    while len(search):  # every window from the start: rows leave as they finish
        found.update(search.step())
    return [found[index] for index in range(len(prompts))], [d.stats for d in decoders]


@pytest.mark.parametrize(
    "pair, drafter_kind",
    [("same_vocab_pair", None), ("same_vocab_pair", "self-int8"), ("cross_vocab_pair", "cross")],
)
def test_batch_equals_each_window_alone(pair, drafter_kind, request):
    main, draft = request.getfixturevalue(pair)
    drafter = None
    if drafter_kind == "self-int8":
        drafter = SelfInt8Drafter(main)  # a batched draft (ModelBatchDraft)
    elif drafter_kind == "cross":
        drafter = CrossVocabDrafter(draft, main)  # one session per row (SessionsDraft)
    audios = _inputs()
    previous = [_previous(main, i) for i in range(len(audios))]
    alone = [
        decode_window(main, a, previous=p, max_new_tokens=NEW_TOKENS)[0]
        for a, p in zip(audios, previous, strict=True)
    ]
    for k in (1, 3, 7):
        found, stats = _batch_decode(main, audios, drafter, previous, k)
        for row, (got, want) in enumerate(zip(found, alone, strict=True)):
            # A row kept by a hair is decoded again alone by the product (window.py).
            assert got.tokens == want.tokens or got.margin < 1e-3, (drafter_kind, k, row)
            assert got.no_speech_prob == pytest.approx(want.no_speech_prob, abs=1e-4)
    lengths = {len(w.tokens) for w in alone}
    assert len(lengths) > 1  # rows finished at different times
    if drafter is not None:
        assert sum(s.tokens_drafted for s in stats) > 0


def test_batch_rows_have_their_own_numbers(same_vocab_pair):
    main, _ = same_vocab_pair
    audios = _inputs()[:2]
    found, stats = _batch_decode(main, audios, None, [[], []], 1)
    alone = [decode_window(main, a, max_new_tokens=NEW_TOKENS)[0] for a in audios]
    for got, want in zip(found, alone, strict=True):
        assert got.sum_logprob == pytest.approx(want.sum_logprob, abs=1e-3)
    assert all(s.main_forward_calls > 0 for s in stats)
    assert np.isfinite([g.sum_logprob for g in found]).all()
