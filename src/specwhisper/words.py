"""Word-level timestamps for a window's segments: tokens -> words, token times -> word times.

``WordAligner.add_words`` runs once per decoded window (``Transcriber._seek_loop`` calls it when
``word_timestamps`` is on). The token times come from ``decoding.alignment.token_times``; what
is done with them follows openai-whisper's ``timing.py``:

- tokens are grouped into words as its tokenizer does for languages written with spaces: a new
  word at a leading space or a punctuation piece; in languages written without spaces (Chinese,
  Japanese, Thai, Lao, Burmese, Cantonese) every complete character sequence is a word;
- a word starts when its first token starts and ends when the next word starts;
- a word at a sentence boundary longer than twice the median word length is cut to that
  length (DTW tends to give the pause after a full stop to the full stop);
- punctuation joins its neighbour (opening quotes and brackets the next word, closing ones
  and stops the previous word); here only within a segment, so that a segment's words always
  concatenate to its text;
- the first word after a pause, and a first or last word that overhangs the segment's own
  timestamp by more than 0.5 s, are trimmed;
- the segment then spans its words;
- the next window starts at the last word's end when a window does not end on a single
  timestamp (``next_seek``).

Ours alone: word times never go backwards, across words and windows, so that a player can
highlight them in order.
"""

from __future__ import annotations

import string
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .decoding.alignment import token_times
from .decoding.options import SpecStats
from .features import FRAMES_PER_SECOND
from .models.loading import WhisperBundle
from .segments import Segment, WindowCut, Word

# openai-whisper's defaults: joined to the next word, and to the previous word.
PREPEND_PUNCTUATION = "\"'“¿([{-"
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"
SENTENCE_ENDS = ".。!！?？"
# Languages written without spaces between words (openai-whisper's list).
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "my", "yue"})
# Word lengths are judged against the median word, capped: a slow speaker's median is no
# excuse for a 3 s word.
MAX_MEDIAN_WORD_S = 0.7
# A segment timestamp this far inside its first/last word means DTW stretched that word.
OVERHANG_S = 0.5
REPLACEMENT = "\ufffd"  # what decoding an incomplete UTF-8 byte sequence gives


@dataclass
class _Word:
    """A word being timed (mutable while the rules above adjust it). Seconds from the start
    of the audio."""

    text: str
    start: float
    end: float
    segment: int  # index into the window's segments
    probabilities: list[float] = field(default_factory=list)  # one per token


def split_unicode(tokenizer, tokens: list[int]) -> list[tuple[str, list[int]]]:
    """``tokens`` cut wherever the text so far decodes to whole characters (a character may
    take several byte-level tokens)."""
    full = tokenizer.decode(tokens)
    pieces: list[tuple[str, list[int]]] = []
    current: list[int] = []
    offset = 0
    for token in tokens:
        current.append(token)
        text = tokenizer.decode(current)
        broken = text.find(REPLACEMENT)
        # A replacement character the full text also has is really there: keep it.
        if broken < 0 or full[offset + broken : offset + broken + 1] == REPLACEMENT:
            pieces.append((text, current))
            offset += len(text)
            current = []
    if current:  # a character cut off by the end of the tokens
        pieces.append((tokenizer.decode(current), current))
    return pieces


def split_words(tokenizer, tokens: list[int], language: str) -> list[tuple[str, list[int]]]:
    """(word, its tokens) for text ``tokens``; the words concatenate to the decoded text."""
    pieces = split_unicode(tokenizer, tokens)
    if language in UNSPACED_LANGUAGES:
        return pieces
    words: list[tuple[str, list[int]]] = []
    for text, piece in pieces:
        if not words or text.startswith(" ") or text.strip() in string.punctuation:
            words.append((text, list(piece)))
        else:
            words[-1] = (words[-1][0] + text, words[-1][1] + piece)
    return words


class WordAligner:
    """Adds words to each window's segments, for one transcription: it remembers where the
    last word ended, across windows, and adds its time to ``stats.word_timing_s``."""

    def __init__(self, bundle: WhisperBundle, language: str, task: str, stats: SpecStats) -> None:
        self.bundle = bundle
        self.language = language
        self.task = task
        self.stats = stats
        self.last_speech = 0.0  # end of the last word so far, seconds

    def add_words(
        self, segments: list[Segment], encoder_out: torch.Tensor, window_frames: int
    ) -> list[Segment]:
        """``segments`` of one window (the same ``seek``), each with its words and spanning
        them. ``encoder_out``: the window's main encoder output; ``window_frames``: log-mel
        frames of audio in the window (3000 but in the last one)."""
        if not segments:
            return segments
        began = time.perf_counter()
        words, median = self._time_words(segments, encoder_out, window_frames)
        fitted = [
            self._fit(segment, [w for w in words if w.segment == index], median)
            for index, segment in enumerate(segments)
        ]
        self.stats.word_timing_s += time.perf_counter() - began
        return fitted

    def _time_words(self, segments, encoder_out, window_frames) -> tuple[list[_Word], float]:
        eot = self.bundle.special.eot
        text = [[t for t in segment.tokens if t < eot] for segment in segments]
        times = token_times(
            self.bundle,
            encoder_out,
            [t for tokens in text for t in tokens],
            window_frames // 2,  # the encoder halves the frames
            self.language,
            self.task,
        )
        offset = segments[0].seek / FRAMES_PER_SECOND
        words: list[_Word] = []
        position = 0  # index of the word's first token among the window's text tokens
        for index, tokens in enumerate(text):
            for word, word_tokens in split_words(self.bundle.tokenizer, tokens, self.language):
                after = position + len(word_tokens)
                start, end = float(times.starts[position]), float(times.starts[after])
                probabilities = times.probabilities[position:after].tolist()
                words.append(_Word(word, offset + start, offset + end, index, probabilities))
                position = after
        median = median_duration(words)
        trim_sentence_ends(words, 2 * median)
        return merge_punctuation(words), median

    def _fit(self, segment: Segment, timed: list[_Word], median: float) -> Segment:
        """The segment with its words: trimmed where DTW overstretched them, rounded to 10 ms,
        never before the previous word, and the segment spanning them."""
        if not timed:
            return replace(segment, words=[])
        words = [
            Word(w.text, w.start, w.end, float(np.mean(w.probabilities)) if w.probabilities else 0)
            for w in timed
        ]
        longest = 2 * median
        first = words[0]
        # The first word after a pause: DTW often lets it begin in the silence.
        if first.end - self.last_speech > 4 * median and (
            first.end - first.start > longest
            or (len(words) > 1 and words[1].end - first.start > 2 * longest)
        ):
            if len(words) > 1 and words[1].end - words[1].start > longest:
                boundary = max(words[1].end / 2, words[1].end - longest)
                first = replace(first, end=boundary)
                words[1] = replace(words[1], start=boundary)
            first = replace(first, start=max(0.0, first.end - longest))
        # The segment's own timestamps win over a first/last word that overhangs them.
        if segment.start < first.end and segment.start - OVERHANG_S > first.start:
            first = replace(first, start=max(0.0, min(first.end - median, segment.start)))
        words[0] = first
        last = words[-1]
        if segment.end > last.start and segment.end + OVERHANG_S < last.end:
            words[-1] = replace(last, end=max(last.start + median, segment.end))
        ordered = []
        for word in words:
            start = max(round(word.start, 2), round(self.last_speech, 2))
            end = max(round(word.end, 2), start)
            ordered.append(replace(word, start=start, end=end))
            self.last_speech = end
        return replace(segment, start=ordered[0].start, end=ordered[-1].end, words=ordered)

    def finish_window(
        self,
        segments: list[Segment],
        encoder_out: torch.Tensor,
        seek: int,
        window_frames: int,
        cut: WindowCut,
    ) -> tuple[list[Segment], int, list[int]]:
        """A window's segments with their words, where the next window starts (log-mel
        frames) and the tail carried over for drafts.

        openai-whisper's rule with word timestamps: a window that does not end on a single
        timestamp is followed by one starting at its last word's end, when that lies inside
        the window, instead of at its last timestamp pair.
        """
        segments = self.add_words(segments, encoder_out, window_frames)
        next_seek, carried = seek + cut.advance, cut.carried
        ends = [s.words[-1].end for s in segments if s.words]
        if cut.single_timestamp_ending or not ends or ends[-1] <= seek / FRAMES_PER_SECOND:
            return segments, next_seek, carried
        resume = max(seek + 1, round(ends[-1] * FRAMES_PER_SECOND))
        if resume != next_seek:
            # The carried tail's timestamps count from the cut's seek: a hint no longer.
            next_seek, carried = resume, []
        return segments, next_seek, carried


def median_duration(words: list[_Word]) -> float:
    durations = [w.end - w.start for w in words if w.end > w.start]
    return min(MAX_MEDIAN_WORD_S, float(np.median(durations))) if durations else 0.0


def trim_sentence_ends(words: list[_Word], longest: float) -> None:
    """A full stop (or the word after one) longer than ``longest`` holds a pause: cut it."""
    if longest <= 0:
        return
    for i in range(1, len(words)):
        word = words[i]
        if word.end - word.start <= longest:
            continue
        if word.text in SENTENCE_ENDS:
            word.end = word.start + longest
        elif words[i - 1].text in SENTENCE_ENDS:
            word.start = word.end - longest


def _only(text: str, characters: str) -> bool:
    """Whether ``text`` is made of ``characters`` alone (an empty text is). openai-whisper
    tests ``text in characters`` instead, which leaves a '."' token on its own."""
    return all(c in characters for c in text)


def merge_punctuation(words: list[_Word]) -> list[_Word]:
    """Punctuation joined to its neighbour in the same segment; the word keeps its own time.
    (A lone space counts as opening punctuation: it joins the next word.)"""
    merged = [replace(w, probabilities=list(w.probabilities)) for w in words]
    # Opening punctuation (with its leading space) goes forward onto the next word.
    target = len(merged) - 1
    for i in range(len(merged) - 2, -1, -1):
        word, following = merged[i], merged[target]
        if (
            word.segment == following.segment
            and word.text.startswith(" ")
            and _only(word.text.strip(), PREPEND_PUNCTUATION)
        ):
            following.text = word.text + following.text
            following.probabilities = word.probabilities + following.probabilities
            word.text, word.probabilities = "", []
        else:
            target = i
    # Closing punctuation (no space before it) goes back onto the word before it.
    result: list[_Word] = []
    for word in merged:
        if not word.text and not word.probabilities:
            continue  # emptied above
        previous = result[-1] if result else None
        if (
            previous is not None
            and previous.segment == word.segment
            and not previous.text.endswith(" ")
            and _only(word.text, APPEND_PUNCTUATION)
        ):
            previous.text += word.text
            previous.probabilities = previous.probabilities + word.probabilities
            continue
        result.append(word)
    return result
