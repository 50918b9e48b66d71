"""Segments: a window's tokens cut at timestamp pairs, and where the next window starts.

openai-whisper's rules: ``<|t1|> text <|t2|>`` is a segment; consecutive timestamps mark the
boundary between two. If the window ends on a single timestamp, everything was said and the
next window starts after this one; otherwise the unfinished text after the last pair is
dropped and the next window starts at that pair's time. A window without timestamp pairs is
one segment (ending at its last timestamp if it has one).

A VAD chunk is cut ``whole`` instead, as faster-whisper's batched pipeline does: it ends where
the speech ends, so text after the last pair is not cut off by the window but is the chunk's
last sentence; it becomes the last segment (up to the chunk's end) and is not decoded again.
Unlike that pipeline, a chunk whose window ends on a pair with no text after it (the model
stopped early) still goes on from that pair, so that the rest of its speech is not lost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Seconds per timestamp token: 30 s over the encoder's 1500 positions. Defined here, where
# segments are cut, so that writing subtitles never loads torch.
TIME_PRECISION = 0.02
INPUT_STRIDE = 2  # log-mel frames per encoder position, i.e. per timestamp step


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Segment:
    """Part of the transcript with its time span (seconds from the start of the audio)."""

    id: int
    seek: int  # log-mel frame where its window started
    start: float
    end: float
    text: str
    tokens: list[int]  # main-model tokens, timestamps included (as openai-whisper)
    temperature: float  # of the window's decode: 0 is greedy
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    words: list[Word] | None = field(default=None)

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("start", "end"):
            data[key] = round(data[key], 3)
        for key in ("avg_logprob", "compression_ratio", "no_speech_prob"):
            data[key] = round(data[key], 4)
        if self.words is None:
            del data["words"]
        else:
            for word in data["words"]:
                word["probability"] = round(word["probability"], 4)
        return data


@dataclass(frozen=True)
class Piece:
    """A segment of one window, before it gets its id and the window's numbers."""

    start: float  # seconds from the window's start
    end: float
    tokens: list[int]


@dataclass(frozen=True)
class WindowCut:
    pieces: list[Piece]
    advance: int  # log-mel frames the next window starts after this one's start
    # Nothing of the window is left to decode again: it ended on a single timestamp, or it
    # was cut whole.
    single_timestamp_ending: bool
    # The tokens after the last timestamp pair, which the next window decodes again, with
    # their timestamps moved to the next window's time (empty when nothing is carried over).
    carried: list[int] = field(default_factory=list)


def cut_window(
    tokens: list[int], timestamp_begin: int, window_frames: int, whole: bool = False
) -> WindowCut:
    """Cut the sampled ``tokens`` (no end-of-text) of a window that holds ``window_frames``
    frames of audio (3000 but for the last window). ``whole``: the window is all there is
    (a VAD chunk): keep the unfinished tail as the last segment instead of carrying it."""
    stamps = [t >= timestamp_begin for t in tokens]
    single_ending = stamps[-2:] == [False, True]
    # Index after each pair of consecutive timestamps: where one segment ends, the next begins.
    boundaries = [i + 1 for i in range(len(tokens) - 1) if stamps[i] and stamps[i + 1]]
    if boundaries:
        if single_ending:
            boundaries.append(len(tokens))
        pieces = []
        last = 0
        for boundary in boundaries:
            piece = tokens[last:boundary]
            pieces.append(
                Piece(
                    (piece[0] - timestamp_begin) * TIME_PRECISION,
                    (piece[-1] - timestamp_begin) * TIME_PRECISION,
                    piece,
                )
            )
            last = boundary
        carried: list[int] = []
        tail = tokens[last:]
        # A whole cut keeps a tail with text; a tail without text (the window ended on a pair,
        # the model stopping before the chunk's end) still seeks on, or that speech is lost.
        kept_tail = whole and not single_ending and any(t < timestamp_begin for t in tail)
        if kept_tail:
            start = (tail[0] - timestamp_begin) * TIME_PRECISION
            pieces.append(Piece(start, max(start, window_frames * 0.01), tail))
        if single_ending or kept_tail:
            advance = window_frames
        else:
            # The unfinished text after the last pair is decoded again from its start.
            shift = tokens[last - 1] - timestamp_begin
            advance = shift * INPUT_STRIDE
            carried = [t - shift if t >= timestamp_begin else t for t in tokens[last:]]
        return WindowCut(pieces, advance, single_ending or kept_tail, carried)
    duration = window_frames * 0.01  # 10 ms per log-mel frame
    timestamps = [t for t in tokens if t >= timestamp_begin]
    if timestamps and timestamps[-1] != timestamp_begin:
        duration = (timestamps[-1] - timestamp_begin) * TIME_PRECISION
    return WindowCut([Piece(0.0, duration, tokens)], window_frames, single_ending)
