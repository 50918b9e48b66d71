"""Subtitle and text writers on segments (fast)."""

from specwhisper.segments import Segment
from specwhisper.writers import render, timestamp, to_srt, to_tsv, to_vtt


def _segments() -> list[Segment]:
    return [
        Segment(0, 0, 0.0, 2.5, " Hello there.", [1], 0.0, -0.2, 1.1, 0.01),
        Segment(1, 0, 3725.04, 3727.9, " A --> B.", [2], 0.0, -0.3, 1.2, 0.02),
    ]


def test_timestamps():
    assert timestamp(3723.0456) == "01:02:03,046"
    assert timestamp(62.5, ".", always_hours=False) == "01:02.500"
    assert timestamp(-0.001) == "00:00:00,000"


def test_srt_vtt_tsv():
    assert to_srt(_segments()) == (
        "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n"
        "2\n01:02:05,040 --> 01:02:07,900\nA -> B.\n"
    )
    assert to_vtt(_segments()) == (
        "WEBVTT\n\n00:00.000 --> 00:02.500\nHello there.\n\n"
        "01:02:05.040 --> 01:02:07.900\nA -> B.\n"
    )
    assert (
        to_tsv(_segments())
        == "start\tend\ttext\n0\t2500\tHello there.\n3725040\t3727900\tA -> B.\n"
    )


def test_empty_transcripts():
    assert to_srt([]) == "" and to_vtt([]) == "WEBVTT\n"
    assert render({"text": ""}, [], "text") == "\n"
