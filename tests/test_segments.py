"""Cutting a window's tokens into segments, and where the next window starts (fast)."""

from specwhisper.segments import Segment, cut_window

T = 1000  # first timestamp token of this made-up vocabulary: T + n is n * 0.02 s


def test_pairs_cut_segments_and_a_final_single_timestamp_ends_the_window():
    tokens = [T, 1, 2, T + 100, T + 100, 3, T + 250]
    cut = cut_window(tokens, T, 3000)
    assert [(p.start, p.end, p.tokens) for p in cut.pieces] == [
        (0.0, 2.0, [T, 1, 2, T + 100]),
        (2.0, 5.0, [T + 100, 3, T + 250]),
    ]
    assert cut.single_timestamp_ending and cut.advance == 3000


def test_unfinished_text_is_decoded_again_from_the_last_pair():
    tokens = [T, 1, T + 100, T + 100, 3, 4]  # the second segment never closes
    cut = cut_window(tokens, T, 3000)
    assert [p.tokens for p in cut.pieces] == [[T, 1, T + 100]]
    assert cut.advance == 200  # 2.00 s = 200 log-mel frames


def test_a_window_without_pairs_is_one_segment():
    # Ends at its last timestamp when it has one...
    cut = cut_window([T + 5, 1, 2, T + 80], T, 1234)
    assert [(p.start, p.end) for p in cut.pieces] == [(0.0, 1.6)]
    assert cut.advance == 1234
    # ... else at the end of the audio in the window.
    cut = cut_window([1, 2, 3], T, 1234)
    assert [(p.start, round(p.end, 2)) for p in cut.pieces] == [(0.0, 12.34)]


def test_segment_as_dict_rounds_times():
    segment = Segment(0, 0, 1.23456, 2.0, " Hi.", [1], 0.0, -0.123456, 1.5, 0.01)
    data = segment.as_dict()
    assert data["start"] == 1.235 and data["avg_logprob"] == -0.1235 and "words" not in data


def test_the_unfinished_tail_is_carried_with_its_times_moved():
    tokens = [T, 1, T + 100, T + 100, 3, 4]  # "3 4" starts at 2.0 s and is never closed
    cut = cut_window(tokens, T, 3000)
    assert cut.advance == 200
    assert cut.carried == [T, 3, 4]  # the next window starts at 2.0 s: <|2.00|> is <|0.00|>
    assert cut_window([T, 1, T + 50], T, 3000).carried == []  # a single ending: all done


def test_a_whole_cut_keeps_the_unfinished_tail_as_the_last_segment():
    """A VAD chunk ends where the speech ends: its tail is its last sentence, not a cut-off."""
    tokens = [T, 1, T + 100, T + 100, 3, 4]
    cut = cut_window(tokens, T, 1234, whole=True)
    assert [(p.start, round(p.end, 2), p.tokens) for p in cut.pieces] == [
        (0.0, 2.0, [T, 1, T + 100]),
        (2.0, 12.34, [T + 100, 3, 4]),
    ]
    assert cut.advance == 1234 and cut.carried == [] and cut.single_timestamp_ending
    # A window that stops on a pair, text-less, goes on from it (the rest of the chunk's
    # speech would be lost); a closed window is cut as usual.
    stopped = [T, 1, T + 100, T + 100]
    assert cut_window(stopped, T, 1234, whole=True) == cut_window(stopped, T, 1234)
    assert cut_window(stopped, T, 1234, whole=True).advance == 200
    closed = [T, 1, T + 100, T + 100, 3, T + 250]
    assert cut_window(closed, T, 3000, whole=True) == cut_window(closed, T, 3000)
