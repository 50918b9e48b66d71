"""The Python API end to end on real weights and committed audio."""

import numpy as np
import pytest

from specwhisper.audio import AudioDecodeError
from specwhisper.decoding.options import OptionsError
from specwhisper.transcribe import AudioTooLongError, Transcriber

# Exact golden transcripts of dev_001 (greedy, fp32). If a change alters them, it changed what
# the models say: find out why before updating.
GOLDEN = {
    "base": "Please remember to bring the signed forms to the front desk before noon on Friday.",
    "tiny.en": "Please remember to bring the signed forms to the front desk before noon on Friday.",
}


@pytest.fixture(scope="module")
def base_fast():
    return Transcriber("base", draft="self-int8")


def test_golden_transcripts(dev_set):
    clip = dev_set[0].audio_path
    for model, expected in GOLDEN.items():
        result = Transcriber(model, draft="none").transcribe(clip, language="en")
        assert result.text == expected, model


def test_speculative_result_equals_plain_and_reports_stats(base_fast, dev_set):
    clip = dev_set[1].audio_path
    plain = base_fast.transcribe(clip, use_speculative=False)
    fast = base_fast.transcribe(clip)
    assert fast.tokens == plain.tokens and fast.text == plain.text
    assert fast.draft == "self-int8" and plain.draft is None
    assert fast.language == "en"  # detected
    stats = fast.stats
    assert stats.tokens_generated == len(fast.tokens)
    assert 0 < stats.main_forward_calls < stats.tokens_generated
    assert stats.tokens_accepted <= stats.tokens_drafted
    assert stats.tokens_per_verify > 1.5
    assert stats.main_encoder_s > 0 and stats.drafting_s > 0 and stats.verifying_s > 0


def test_beam_search_runs_and_is_close_to_greedy(base_fast, dev_set):
    clip = dev_set[2].audio_path
    greedy = base_fast.transcribe(clip)
    beam = base_fast.transcribe(clip, beam_size=3)
    assert beam.draft is None and beam.text
    # Clean synthetic speech: beam and greedy agree on most words.
    assert len(set(beam.text.split()) & set(greedy.text.split())) >= 0.7 * len(greedy.text.split())


def test_translate_task_and_fixed_draft_length(base_fast, dev_set):
    clip = dev_set[0].audio_path
    result = base_fast.transcribe(clip, language="en", task="translate", draft_length=3)
    assert result.text
    # Every draft is 3 tokens, except one that stops early at a proposed end-of-text.
    assert max(result.stats.draft_lengths) == 3
    assert sum(length < 3 for length in result.stats.draft_lengths) <= 1


def test_bad_options_name_the_allowed_values(base_fast, dev_set):
    clip = dev_set[0].audio_path
    with pytest.raises(OptionsError, match="transcribe, translate"):
        base_fast.transcribe(clip, task="summarize")
    with pytest.raises(OptionsError, match="1 to 5"):
        base_fast.transcribe(clip, beam_size=9)
    with pytest.raises(OptionsError, match="unknown language 'xx'"):
        base_fast.transcribe(clip, language="xx")
    with pytest.raises(OptionsError, match="English-only"):
        Transcriber("tiny.en", draft="none").transcribe(clip, language="de")


def test_long_and_empty_audio_are_refused(base_fast):
    with pytest.raises(AudioTooLongError, match="30 s"):
        base_fast.transcribe(np.zeros(16000 * 31, dtype=np.float32))
    with pytest.raises(AudioDecodeError):
        base_fast.transcribe(b"")
