"""WER/CER on hand-computed cases, and what Whisper's English normalizer does to text."""

import json

import pytest

from specwhisper.evaluation import metrics
from specwhisper.evaluation.metrics import (
    character_error_rate,
    error_counts,
    normalize,
    spelling_mapping,
    word_error_rate,
)


@pytest.fixture
def fresh_spelling(monkeypatch):
    """Forget the cached spelling table before and after a test that changes where it is."""
    metrics._spelling.cache_clear()
    metrics._normalizer.cache_clear()
    yield monkeypatch
    metrics._spelling.cache_clear()
    metrics._normalizer.cache_clear()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello,   World!", "hello world"),  # case, punctuation, runs of spaces
        ("Mr. Smith met Dr. Jones, Jr.", "mister smith met doctor jones junior"),
        ("It took forty minutes.", "it took 40 minutes"),  # numbers become digits
        ("one hundred and two", "102"),
        ("Mr. Smith paid twenty-five dollars.", "mister smith paid $25"),  # currency too
        ("I can't go, we won't stay.", "i can not go we will not stay"),
        ("[music] uh okay (laughs)", "okay"),  # bracketed words and fillers dropped
        ("", ""),
    ],
)
def test_normalizer(text, expected):
    assert normalize(text) == expected


def test_word_error_rate_hand_computed():
    # One deletion in six reference words.
    assert word_error_rate(["the cat sat on the mat"], ["the cat sat on mat"]) == pytest.approx(
        1 / 6
    )
    # One substitution (b -> x) and one insertion (e) against four words.
    assert word_error_rate(["a b c d"], ["a x c d e"]) == pytest.approx(0.5)
    # Corpus rate: edits summed over clips / words summed (1 / 5), not the mean of 0 and 1.
    refs = ["the quick brown fox", "jumps"]
    assert word_error_rate(refs, ["the quick brown fox", ""]) == pytest.approx(0.2)


def test_rates_ignore_what_the_normalizer_removes():
    assert word_error_rate(["Hello, World!"], ["hello world"]) == 0.0
    assert word_error_rate(["Mr. Smith paid twenty-five dollars."], ["Mister Smith paid $25."]) == 0
    assert character_error_rate(["It took forty minutes."], ["it took 40 minutes"]) == 0.0


def test_character_error_rate_hand_computed():
    assert character_error_rate(["abcd"], ["abed"]) == pytest.approx(1 / 4)
    assert character_error_rate(["ab cd"], ["ab ce"]) == pytest.approx(1 / 5)  # spaces count


def test_empty_reference_is_left_out_and_lengths_must_match():
    assert word_error_rate(["", "a b"], ["some noise", "a b"]) == 0.0
    assert word_error_rate([""], ["anything"]) == 0.0
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        word_error_rate(["a", "b"], ["a"])


def test_error_counts_add_up_to_the_corpus_rate():
    refs = ["the cat sat on the mat", "a b c d"]
    hyps = ["the cat sat on mat", "a x c d e"]
    counts = [error_counts(r, h) for r, h in zip(refs, hyps, strict=True)]
    assert [(c.word_edits, c.words) for c in counts] == [(1, 6), (2, 4)]
    assert counts[0].wer == pytest.approx(1 / 6)
    total = sum(c.word_edits for c in counts) / sum(c.words for c in counts)
    assert word_error_rate(refs, hyps) == pytest.approx(total)
    chars = sum(c.char_edits for c in counts) / sum(c.chars for c in counts)
    assert character_error_rate(refs, hyps) == pytest.approx(chars)
    assert error_counts("", "noise").words == 0


def test_spelling_table_from_environment(fresh_spelling, tmp_path):
    table = tmp_path / "normalizer.json"
    table.write_text(json.dumps({"colour": "color", "grey": "gray"}))
    fresh_spelling.setenv(metrics.SPELLING_ENV, str(table))
    assert spelling_mapping() == metrics.SpellingSource(str(table), 2)
    assert normalize("The Colour is GREY.") == "the color is gray"
    assert word_error_rate(["the colour"], ["the color"]) == 0.0


def test_without_a_table_spellings_are_kept(fresh_spelling, tmp_path):
    fresh_spelling.setenv(metrics.SPELLING_ENV, str(tmp_path / "missing.json"))
    source = spelling_mapping()
    if source.where != "none":
        pytest.skip(f"this machine has Whisper's spelling table: {source.where}")
    assert source.entries == 0
    assert normalize("The colour") == "the colour"
