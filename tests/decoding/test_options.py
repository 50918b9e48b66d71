"""TranscribeOptions.validated: the language spellings that mean "detect it"."""

from __future__ import annotations

import pytest

from specwhisper.decoding.options import TranscribeOptions
from specwhisper.errors import OptionsError

LANGUAGES = {"en": 50259, "de": 50261}


@pytest.mark.parametrize("languages", [LANGUAGES, {}])  # multilingual, English-only
def test_auto_and_nothing_both_detect(languages):
    assert TranscribeOptions(language="auto").validated(languages).language is None
    assert TranscribeOptions(language=None).validated(languages).language is None
    assert TranscribeOptions(language="en").validated(languages).language == "en"


def test_an_unknown_language_names_the_ways_out():
    with pytest.raises(OptionsError, match="or auto") as refused:
        TranscribeOptions(language="xx").validated(LANGUAGES)
    assert refused.value.field == "language"
