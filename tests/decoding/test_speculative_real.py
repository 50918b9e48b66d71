"""The product's promise on real weights and real audio: speculative tokens == greedy tokens,
window by window, and our greedy == transformers' greedy over the same window and prompt.

Short clips: every dev clip, every drafter (the main model drafting for itself, its int8 self,
tiny.en across vocabularies), with timestamps; and without them, our greedy equals
transformers' short-form ``generate()``. Long files: whole long-form runs (prompts of earlier
text, seeks, silence), each window compared.
"""

import pytest
import torch
from window_helpers import GREEDY, decode_window, reference_window

from specwhisper.decoding.beam import generate_tokens
from specwhisper.decoding.drafters import make_drafter
from specwhisper.decoding.window import WindowDecoder, score_tokens
from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset
from specwhisper.features import log_mel
from specwhisper.transcribe import Transcriber

pytestmark = pytest.mark.slow

# drafter name -> (smallest acceptable overall acceptance rate, every how many dev clips). The
# bounds are loose floors that only catch a broken drafter (e.g. misaligned remapping), not
# tuned figures. Every other clip (16, 2.6-18.6 s; the speculative benchmark checks every clip
# for every drafter); tiny.en and the main model drafting for itself: a quarter.
DRAFTERS = {"self-int8": (0.7, 2), "base": (0.999, 4), "tiny.en": (0.3, 4)}


@pytest.fixture(scope="module")
def plain_windows(base, dev_set, dev_audio):
    """Per clip of every other one: our plain greedy window (timestamps on)."""
    return {u.id: decode_window(base, dev_audio[u.id])[0] for u in dev_set[::2]}


def test_plain_greedy_equals_transformers_with_timestamps(base, dev_set, dev_audio, plain_windows):
    for utterance in dev_set[::4]:  # transformers' search is the slow part
        expected = reference_window(base, dev_audio[utterance.id])
        assert plain_windows[utterance.id].tokens == expected, utterance.id


def test_plain_greedy_without_timestamps_equals_generate(base, dev_set, dev_audio):
    for utterance in dev_set[1::8]:
        audio = dev_audio[utterance.id]
        plain, _ = decode_window(base, audio, without_timestamps=True)
        with torch.inference_mode():
            expected = generate_tokens(base, log_mel(audio, base), "en", "transcribe")
        assert plain.tokens == expected, utterance.id


@pytest.mark.parametrize("draft", list(DRAFTERS))
def test_speculative_equals_greedy_on_every_dev_clip(
    draft, base, dev_set, dev_audio, plain_windows
):
    drafter = make_drafter(draft, base)
    floor, step = DRAFTERS[draft]
    drafted = accepted = 0
    for utterance in dev_set[::step]:
        fast, stats = decode_window(base, dev_audio[utterance.id], drafter)
        plain = plain_windows[utterance.id]
        assert fast.tokens == plain.tokens, (draft, utterance.id)
        assert fast.avg_logprob == pytest.approx(plain.avg_logprob, abs=1e-3)
        drafted += stats.tokens_drafted
        accepted += stats.tokens_accepted
    assert accepted / drafted >= floor, accepted / drafted


@pytest.fixture(scope="module")
def long_files():
    return load_dataset(LONG_DEV_SET)


def _windows(transcriber: Transcriber, path) -> list[list[int]]:
    """Every window's tokens of a greedy long-form run (conditioning on earlier text on)."""
    seen: list[list[int]] = []
    original = WindowDecoder._result

    def record(self, outcome, temperature, no_speech_prob):
        seen.append(outcome.tokens)
        return original(self, outcome, temperature, no_speech_prob)

    WindowDecoder._result = record
    try:
        transcriber.transcribe(path, language="en", **GREEDY)
    finally:
        WindowDecoder._result = original
    return seen


def test_long_files_every_drafter_every_window(long_files):
    """The noisy 90 s long file here (4 windows, earlier text in every later prompt);
    `benchmark --mode longform` checks every window of every long file for every configuration
    it times, and tests/test_batching.py the same file batched."""
    plain = Transcriber("base", "none")
    for utterance in long_files[:1]:
        expected = _windows(plain, utterance.audio_path)
        assert len(expected) >= 3
        for draft in ("self-int8", "tiny.en"):
            got = _windows(Transcriber("base", draft), utterance.audio_path)
            assert got == expected, (draft, utterance.id)


def test_long_file_windows_equal_transformers(long_files, monkeypatch):
    """Our search against transformers' search for every window of a real long-form run: the
    same prompts of earlier text and the same features reach both."""
    from specwhisper.decoding.beam import generate_window

    utterance = long_files[0]
    transcriber = Transcriber("base", "none")
    ours = _windows(transcriber, utterance.audio_path)
    original_decode = WindowDecoder.decode

    def decode(self, audio, *args, **kwargs):
        self._features = audio.features
        return original_decode(self, audio, *args, **kwargs)

    def transformers_search(self, decoder, prompt, session, temperature, candidates, first):
        tokens, finished = generate_window(
            self.main, self._features, prompt.tokens, self.options.sample_len, True
        )
        special = self.main.special
        return score_tokens(decoder, self.filters, prompt, tokens, finished, special, first)

    monkeypatch.setattr(WindowDecoder, "decode", decode)
    monkeypatch.setattr(WindowDecoder, "_sample", transformers_search)
    assert _windows(transcriber, utterance.audio_path) == ours
