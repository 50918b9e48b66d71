"""Word-level timestamps: tokens to words and punctuation (fast), then on the real bundled
models: invariants on short and long files, speculative == plain, and the seek rule."""

from __future__ import annotations

import pytest

from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset
from specwhisper.segments import Segment
from specwhisper.transcribe import Transcriber
from specwhisper.words import _Word, merge_punctuation, split_words, trim_sentence_ends

GREEDY = {"temperature": 0.0}


class ByteTokenizer:
    """A stand-in tokenizer: each id is a byte string; decoding replaces broken UTF-8."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def decode(self, ids: list[int]) -> str:
        return b"".join(self.pieces[i] for i in ids).decode("utf-8", errors="replace")


def test_words_start_at_spaces_and_punctuation_and_keep_whole_characters():
    e_acute = "é".encode()
    pieces = [b" Caf", e_acute[:1], e_acute[1:], b",", b" he", b" said", b".", b" \xe6\x97\xa5"]
    tokenizer = ByteTokenizer(pieces)
    words = split_words(tokenizer, list(range(len(pieces))), "en")
    assert [w for w, _ in words] == [" Café", ",", " he", " said", ".", " 日"]
    assert [t for _, t in words][0] == [0, 1, 2]  # é's two bytes stay in one word
    assert "".join(w for w, _ in words) == tokenizer.decode(list(range(len(pieces))))
    # Without spaces between words, each whole character sequence is a word.
    unspaced = split_words(ByteTokenizer([b"\xe6\x97", b"\xa5", b"\xe6\x9c\xac"]), [0, 1, 2], "ja")
    assert unspaced == [("日", [0, 1]), ("本", [2])]


def _word(text: str, start: float, end: float, segment: int = 0) -> _Word:
    return _Word(text, start, end, segment, [0.5] * max(1, len(text.strip())))


def test_punctuation_joins_its_neighbour_within_a_segment():
    words = [
        _word(' "', 0.0, 0.1),
        _word(" Hello", 0.1, 0.5),
        _word(",", 0.5, 0.6),
        _word(" world", 0.6, 1.0),
        _word('."', 1.0, 1.2),
        _word(" (", 1.2, 1.3, segment=1),
        _word(" Next", 1.3, 1.6, segment=1),
    ]
    merged = merge_punctuation(words)
    assert [(w.text, w.start, w.end, w.segment) for w in merged] == [
        (' " Hello,', 0.1, 0.5, 0),  # the word keeps its own times
        (' world."', 0.6, 1.0, 0),
        (" ( Next", 1.3, 1.6, 1),
    ]
    assert len(merged[0].probabilities) == 1 + 5 + 1
    # An opening quote at the end of one segment does not move into the next one.
    edge = merge_punctuation([_word(" Hi", 0, 1), _word(' "', 1, 2), _word(" Yo", 2, 3, 1)])
    assert [w.text for w in edge] == [" Hi", ' "', " Yo"]


def test_long_words_at_sentence_ends_are_trimmed():
    words = [_word(" stop", 0.0, 0.3), _word(".", 0.3, 2.0), _word(" Then", 2.0, 4.0)]
    trim_sentence_ends(words, longest=0.6)
    times = [t for w in words for t in (w.start, w.end)]
    assert times == pytest.approx([0.0, 0.3, 0.3, 0.9, 3.4, 4.0])


# --- real weights ---


def check_words(segments: list[Segment], duration: float) -> None:
    """Every segment has words that spell its text, inside it, never going backwards."""
    previous_end = 0.0
    for segment in segments:
        assert segment.words, segment
        assert "".join(w.word for w in segment.words) == segment.text
        assert segment.start == segment.words[0].start and segment.end == segment.words[-1].end
        for word in segment.words:
            assert previous_end <= word.start <= word.end <= duration + 0.01, (word, segment)
            assert 0.0 <= word.probability <= 1.0
            previous_end = word.end


@pytest.fixture(scope="module")
def base_fast():
    return Transcriber("base", draft="self-int8")


@pytest.mark.slow
def test_speculative_and_plain_give_the_same_words(base_fast, dev_set):
    for utterance in dev_set[:2]:
        fast = base_fast.transcribe(utterance.audio_path, word_timestamps=True, **GREEDY)
        plain = base_fast.transcribe(
            utterance.audio_path, word_timestamps=True, use_speculative=False, **GREEDY
        )
        assert fast.draft == "self-int8" and fast.stats.tokens_drafted > 0
        assert [s.words for s in fast.segments] == [s.words for s in plain.segments]
        check_words(fast.segments, fast.duration)
        assert fast.stats.word_timing_s > 0
        without = base_fast.transcribe(utterance.audio_path, **GREEDY)
        assert without.text == fast.text and all(s.words is None for s in without.segments)
        assert "words" not in without.segments[0].as_dict()
        record = fast.segments[0].as_dict()["words"][0]
        assert set(record) == {"word", "start", "end", "probability"}


@pytest.mark.slow
def test_words_of_a_long_file_follow_the_speech():
    """tiny.en over 90 s (several windows): words in order across windows, each window after
    one that ends mid-sentence starts at its last word's end."""
    long_file = load_dataset(LONG_DEV_SET)[0]
    transcriber = Transcriber("tiny.en", draft="none")
    result = transcriber.transcribe(long_file.audio_path, word_timestamps=True, **GREEDY)
    check_words(result.segments, result.duration)
    words = [w for s in result.segments for w in s.words or []]
    reference = long_file.text.split()
    assert 0.9 * len(reference) <= len(words) <= 1.1 * len(reference)
    seeks = sorted({s.seek for s in result.segments})
    assert len(seeks) >= 3
    for previous, seek in zip(seeks, seeks[1:], strict=False):
        window = [s for s in result.segments if s.seek == previous]
        # The next window starts at a word's end, or (single timestamp ending) 30 s later.
        assert seek == previous + 3000 or seek == round(window[-1].words[-1].end * 100)
    # The first word begins the sentence spoken from 0.5 s (noisy audio, the smallest model:
    # it may start in the silence before, as its segment does).
    assert words[0].word.strip() == "Good" and words[0].start <= 0.8 < words[0].end


@pytest.mark.slow
def test_multilingual_words_spell_the_text(base_fast):
    from pathlib import Path

    clip = Path(__file__).parent / "data" / "multilingual" / "fr_001.wav"
    result = base_fast.transcribe(clip, word_timestamps=True, language="fr", **GREEDY)
    check_words(result.segments, result.duration)
    assert len([w for s in result.segments for w in s.words or []]) >= 5
