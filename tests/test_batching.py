"""transcribe_batch and VAD-batched long form on real weights: every input's text is what it
is alone, whatever the batch holds (short clips, a long file, another language, bad files)."""

import json
import os
from pathlib import Path

import pytest
import torch

from specwhisper.errors import AudioDecodeError
from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset
from specwhisper.transcribe import Transcriber

pytestmark = pytest.mark.slow
GREEDY = {"temperature": 0.0, "language": "en"}
GERMAN = Path(__file__).parent / "data" / "multilingual" / "de_001.wav"


def _windows(result) -> list[list[int]]:
    return [segment.tokens for segment in result.segments]


# The batched paths: plain rows, the batched int8 self-draft, per-row draft sessions (tiny.en
# across vocabularies). tiny.en as the main model where it can be: the paths are the same.
@pytest.mark.parametrize(
    ("model", "draft"), [("tiny.en", "none"), ("tiny.en", "self-int8"), ("base", "tiny.en")]
)
def test_batch_equals_each_input_alone(model, draft, dev_set):
    transcriber = Transcriber(model, draft)
    inputs = [u.audio_path for u in dev_set[:4]]
    if draft != "tiny.en":  # the per-row sessions of a cross draft: short clips suffice here
        inputs.append(load_dataset(LONG_DEV_SET)[0].audio_path)
    alone = [transcriber.transcribe(path, **GREEDY) for path in inputs]
    together = transcriber.transcribe_batch(inputs, batch_size=4, **GREEDY)
    for path, one, many in zip(inputs, alone, together, strict=True):
        assert _windows(many) == _windows(one), (draft, path.name)
        assert many.stats.windows == one.stats.windows
    if draft != "none":
        assert sum(r.stats.tokens_accepted for r in together) > 0


def test_a_token_kept_by_a_hair_is_decided_by_plain_decoding(dev_set, monkeypatch):
    """Scoring several positions at once rounds differently from one at a time, so a window
    whose kept tokens won by less than ``NEAR_TIE`` is decoded again plainly, once: alone or
    in a batch (where decoding it alone with the draft would only score several positions
    again). With every margin counted as a hair, each window is decoded plainly once more."""
    from specwhisper.decoding import window

    inputs = [u.audio_path for u in dev_set[:3]]
    plain = Transcriber("tiny.en", "none").transcribe_batch(inputs, batch_size=1, **GREEDY)
    transcriber = Transcriber("tiny.en", "self-int8")
    monkeypatch.setattr(window, "NEAR_TIE", float("inf"))
    for batch_size in (1, 3):
        results = transcriber.transcribe_batch(inputs, batch_size=batch_size, **GREEDY)
        for one, redone in zip(plain, results, strict=True):
            assert _windows(redone) == _windows(one)
            assert redone.stats.near_ties == redone.stats.windows, batch_size
            assert redone.stats.tokens_accepted > 0  # the draft ran before each redo


def test_a_batch_mixing_languages_and_bad_files(dev_set, tmp_path):
    """Each row keeps its own detected language (its own prompt); a bad file fails alone."""
    transcriber = Transcriber("base", "self-int8")
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    inputs = [dev_set[0].audio_path, GERMAN, bad, dev_set[2].audio_path]
    results = transcriber.transcribe_batch(inputs, temperature=0.0)
    assert isinstance(results[2], AudioDecodeError) and "notes.wav" in str(results[2])
    assert [r.language for r in (results[0], results[1], results[3])] == ["en", "de", "en"]
    for path, result in zip(inputs, results, strict=True):
        if path is bad:
            continue
        assert result.tokens == transcriber.transcribe(path, temperature=0.0).tokens


def test_vad_batched_long_form_maps_segments_to_the_file(tmp_path):
    utterance = load_dataset(LONG_DEV_SET)[0]  # 90 s, noisy
    record = next(
        json.loads(line)
        for line in LONG_DEV_SET.read_text().splitlines()
        if utterance.audio_path.name in line
    )
    transcriber = Transcriber("base", "self-int8")
    result = transcriber.transcribe(utterance.audio_path, vad=True, batch_size=4, **GREEDY)
    # Importing silero_vad sets the whole process to one thread; the VAD gives them back (the
    # count conftest set, whichever test used the VAD first).
    assert torch.get_num_threads() == int(os.environ.get("SPECWHISPER_THREADS", "2"))
    segments = result.segments
    assert len(segments) >= 5 and result.stats.windows >= 3
    starts = [s.start for s in segments]
    assert starts == sorted(starts) and segments[-1].end <= record["duration"] + 0.5
    # VAD chunks start at speech: the first segment near the first sentence.
    assert abs(segments[0].start - record["sentences"][0]["start"]) < 1.0
    covered = sum(
        any(s.start < x["end"] and s.end > x["start"] for s in segments)
        for x in record["sentences"]
    )
    assert covered >= 0.9 * len(record["sentences"])
    plain = transcriber.transcribe(
        utterance.audio_path, vad=True, use_speculative=False, batch_size=4, **GREEDY
    )
    assert [s.tokens for s in plain.segments] == [s.tokens for s in segments]


def test_vad_detects_the_language_on_an_encoder_pass_that_decodes_too(monkeypatch):
    """A multilingual model's language is detected on the first chunk; that chunk's encoder
    output and its cross-attention keys/values decode it too: one encoder pass and one
    projection per window, and the same tokens as with the language given."""
    from specwhisper.decoding import lean_encoder

    path = load_dataset(LONG_DEV_SET)[0].audio_path
    transcriber = Transcriber("base", "self-int8")
    given = transcriber.transcribe(path, vad=True, batch_size=4, **GREEDY)
    passes = []
    states = lean_encoder.encoder_states
    monkeypatch.setattr(
        lean_encoder, "encoder_states", lambda *a, **k: passes.append(1) or states(*a, **k)
    )
    projections = []
    cross_keys = transcriber.main.model.model.decoder.layers[0].encoder_attn.k_proj
    hook = cross_keys.register_forward_hook(lambda *_: projections.append(1))
    try:
        detected = transcriber.transcribe(path, vad=True, batch_size=4, temperature=0.0)
    finally:
        hook.remove()
    assert detected.language == "en"
    assert len(passes) == len(projections) == detected.stats.windows
    assert [s.tokens for s in detected.segments] == [s.tokens for s in given.segments]


def test_a_queue_reads_inputs_as_places_free_and_answers_as_they_finish(dev_set):
    """transcribe_queue (the server's continuous batching): inputs are pulled only when a
    place is free, None means "nothing waits now", and every result is the input's alone."""
    transcriber = Transcriber("tiny.en", "self-int8")
    long_file = load_dataset(LONG_DEV_SET)[0].audio_path  # several windows: stays in flight
    paths = [long_file, *(u.audio_path for u in dev_set[:3])]
    pulled: list[int] = []
    answered: list[int] = []

    def inputs():
        for index, path in enumerate(paths):
            if index == 2:
                # A quiet moment while the long file is still in flight: the run goes on.
                yield None
            # Never more than two in flight: an input is read once a place is free.
            assert len(pulled) - len(answered) <= 2
            pulled.append(index)
            yield path

    results = {}
    for index, result in transcriber.transcribe_queue(inputs(), batch_size=2, **GREEDY):
        answered.append(index)
        results[index] = result
    assert sorted(results) == list(range(4))
    assert answered.index(0) > answered.index(1)  # the clip is answered before the long file
    for index, path in enumerate(paths):
        assert _windows(results[index]) == _windows(transcriber.transcribe(path, **GREEDY))
    # With nothing in flight, "nothing waits" ends the run: the input after it is not read.
    assert list(transcriber.transcribe_queue(iter([None, paths[1]]), **GREEDY)) == []


@pytest.mark.parametrize("options", [{"batch_size": 1}, {"batch_size": 2, "beam_size": 2}])
def test_an_input_decoded_on_admission_is_answered_before_the_next_is_read(dev_set, options):
    """Unbatched (batch size 1, beam search), an input is decoded whole when it is taken up:
    its result goes out before the queue is read again, not after the last input."""
    transcriber = Transcriber("tiny.en", "none")
    events: list[tuple[str, int]] = []

    def inputs():
        for index, utterance in enumerate(dev_set[:3]):
            events.append(("read", index))
            yield utterance.audio_path

    for index, _ in transcriber.transcribe_queue(inputs(), **options, **GREEDY):
        events.append(("answered", index))
    assert events == [(kind, i) for i in range(3) for kind in ("read", "answered")]
