"""Regenerate the committed long-form English dev set in tests/data/long with espeak-ng.

    python scripts/make_longform.py [--out FOLDER]

Three files of connected prose written for this set (a team update, a lecture, a story), about
1.5, 3 and 5 minutes long. Each paragraph gets its own espeak-ng voice, speed and pitch; sentences
are separated by seeded pauses of 0.2-2.5 s, with a few of 3-6 s at paragraph breaks so that some
30 s windows hold silence. The first file gets seeded background noise. 16 kHz mono 16-bit FLAC.

manifest.jsonl holds, per file, the reference text, the duration and every sentence's true start
and end (seconds): espeak's silence around each sentence is trimmed before it is placed, so the
times mark speech and can check segment and word timestamps. Deterministic for a given
espeak-ng version (seeded pauses and noise, sox without dither).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile

# scripts/ is no package: import the synthesis and noise helpers of the short dev set directly.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_devset import RATE, add_noise, speak  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "long"
SEED = 20240611
# |sample| above this (-60 dBFS) is speech: espeak pads with exact zeros and its quietest
# onsets (fricatives) are still 20 dB louder, so trimmed times land on the first sound.
TRIM_THRESHOLD = 1e-3
LEAD_SECONDS = 0.5  # silence before the first sentence of a file
TAIL_SECONDS = 1.0  # and after the last
SENTENCE_PAUSE = (0.2, 0.9)  # seconds between sentences of a paragraph
PARAGRAPH_PAUSE = (1.0, 2.5)  # between paragraphs
LONG_PAUSE = (3.0, 6.0)  # at some paragraph breaks: a 30 s window with a stretch of silence
NOISE_SNR_DB = {1: 18.0}  # file number -> SNR of its background noise; the others stay clean

# (voice, words per minute, pitch 0-99), one per paragraph, cycled from a per-file offset.
VOICES = [
    ("en-us", 165, 50),
    ("en-gb", 155, 45),
    ("en-gb-scotland", 150, 55),
    ("en-us+f3", 160, 60),
    ("en+m3", 170, 40),
    ("en-gb-x-rp", 145, 50),
]

# One list of paragraphs per file, each paragraph a list of sentences. Numbers are spelled out
# as a speaker says them; a few British spellings test the normalizer's spelling table.
TEXTS: list[list[list[str]]] = [
    # long_001: a team update, like the start of a meeting or a work podcast.
    [
        [
            "Good morning, everyone, and thanks for joining the Tuesday update.",
            "I know a few of you are dialling in from the train, so I'll keep this short.",
            "First, the good news: the new booking system went live last Thursday, and so far "
            "we've had only two complaints.",
            "Both were about the confirmation emails, which Priya's team fixed within an hour.",
        ],
        [
            "Second, the office move.",
            "We finally have a date, the fourteenth of March, and the movers will arrive at seven "
            "in the morning.",
            "Please pack your desk into the blue crates by the evening before, label every crate "
            "with your name and floor, and leave your monitor where it is, because the new "
            "building already has screens on every desk.",
        ],
        [
            "A quick word about the customer survey.",
            "We sent it to about three thousand people and got nearly six hundred replies, which "
            "is a much better response than last year.",
            "The most common request, by far, was an app that works offline.",
            "Jamal and I will go through the rest of the comments on Friday, and if you'd like to "
            "help, just let me know.",
        ],
        [
            "Does anyone know whether the parking permits carry over?",
            "Tom thinks they do, but I'll check with facilities and send a note round.",
            "Finally, a reminder that the summer party budget is four hundred and fifty pounds, "
            "so let's not order another ice sculpture.",
            "That's all from me.",
            "Have a good week.",
        ],
    ],
    # long_002: a short lecture.
    [
        [
            "Today we're going to talk about bicycles, and in particular about why a moving "
            "bicycle stays upright.",
            "It sounds like a simple question.",
            "In fact, engineers argued about it for more than a hundred years, and the answer is "
            "still explained wrongly in many textbooks.",
        ],
        [
            "The first machine that we would recognise as a bicycle appeared in Germany in "
            "eighteen seventeen.",
            "It was built by Karl Drais, it had no pedals, and riders pushed it along with their "
            "feet.",
            "Pedals arrived about fifty years later, fixed directly to the front wheel, which is "
            "why early bicycles had such enormous front wheels: a bigger wheel meant more "
            "distance for every turn of the pedals.",
        ],
        [
            "The modern shape came in the eighteen eighties, with the so-called safety bicycle.",
            "It had two wheels of the same size, a chain that drove the back wheel, and soon "
            "afterwards air-filled tyres, invented by John Boyd Dunlop for his son's tricycle.",
            "Suddenly, cycling was cheap, comfortable and fast, and within ten years millions of "
            "people in Europe and America owned a bicycle.",
        ],
        [
            "So, what keeps a bicycle up?",
            "Most people say it's the gyroscopic effect of the spinning wheels.",
            "That effect is real, but it's small.",
            "A few years ago, a team of researchers built a strange bicycle with extra wheels "
            "spinning backwards, which cancelled the gyroscopic effect completely, and it still "
            "balanced by itself.",
        ],
        [
            "The more important effect is steering.",
            "When a bicycle starts to lean to the left, the front wheel turns to the left as "
            "well, and that brings the wheels back underneath the rider.",
            "The shape of the fork, the position of the weight, and the speed all matter.",
            "Below about four metres per second, which is a slow jogging pace, most bicycles "
            "cannot correct themselves, and the rider has to do the work.",
        ],
        [
            "Let me show you a quick demonstration.",
            "If I hold this bicycle by the saddle and tilt it, watch the handlebars.",
            "Did everyone see how the front wheel turned into the lean?",
            "Nobody touched it; the geometry did that on its own.",
            "Now, if I lock the handlebars with this strap and push it again, it falls over "
            "almost immediately, even at the same speed.",
        ],
        [
            "Why does this matter outside a physics class?",
            "Because the same ideas help to design stable wheelchairs, delivery robots, and "
            "motorcycles for police officers who ride slowly through crowds.",
            "For next week, please read chapter six and try one small experiment.",
            "Push an empty bicycle gently along a quiet path and watch how far it rolls before "
            "it falls over.",
            "Write down the speed, the distance, and anything that surprised you.",
        ],
    ],
    # long_003: a story.
    [
        [
            "When Margaret Ellis retired from the post office after thirty-one years, her "
            "colleagues gave her a rucksack, a card signed by forty people, and a map of the "
            "coast with a red line drawn along it.",
            "The red line ran from the harbour at Whitby all the way north to Berwick, a walk of "
            "about two hundred miles.",
            "Nobody expected her to actually do it.",
        ],
        [
            "She set off on the first of May, on a grey morning with a light rain falling.",
            "Her daughter drove her to the harbour, handed her a flask of tea, and asked, for "
            "the third time, whether she had packed enough socks.",
            "Margaret laughed and said she had packed six pairs, which was four more than she "
            "needed.",
        ],
        [
            "The first day was the hardest.",
            "The path climbed steeply out of town, and by lunchtime her knees ached and her "
            "boots were soaked through.",
            "She sat on a bench near a ruined abbey and wondered whether she had made a terrible "
            "mistake.",
            "A man walking a small brown dog stopped beside her and asked where she was heading.",
            "When she told him, he whistled and said it was a long way for one pair of legs.",
            "Then he gave her half of his sandwich and told her about a cafe in the next village "
            "that served the best scones on the coast.",
        ],
        [
            "He was right about the scones.",
            "Over the next two weeks, Margaret settled into a rhythm.",
            "She walked from eight in the morning until about four in the afternoon, stopped at "
            "small guest houses, and wrote a few lines in a notebook every evening.",
            "Some days she covered twelve miles, and some days only five, when the wind blew so "
            "hard from the sea that she had to lean into it just to stand still.",
        ],
        [
            "In Staithes she shared a table at breakfast with a retired teacher called Arthur, "
            "who had walked the coast path eleven times.",
            "He told her that the secret was to stop looking at the map every ten minutes.",
            "The path will still be there, he said, whether or not you check it.",
            "She folded the map into the bottom of her rucksack that morning and did not look at "
            "it again until the evening.",
        ],
        [
            "On the ninth day she met two students from Leeds, Sam and Joanna, who were walking "
            "the same route in the opposite direction.",
            "They compared blisters, swapped advice about the tides, and argued cheerfully about "
            "whether the puffins on the Farne Islands were worth the boat trip.",
            "Are they really that small?",
            "Smaller than you think, Joanna said, and much louder.",
        ],
        [
            "By the end of the second week her legs had stopped complaining.",
            "She noticed things she had never had time for before: the way the light changed on "
            "the water after four o'clock, the smell of wild garlic in the woods, and the little "
            "stone bridges that someone had repaired with great care a hundred years ago.",
            "Why had she waited so long to do this?",
            "She could not think of a good answer.",
        ],
        [
            "The worst moment came near Alnmouth.",
            "A sudden storm rolled in from the north, the path along the cliff turned to mud, "
            "and Margaret slipped and twisted her ankle.",
            "For an hour she sat under a hawthorn hedge, soaked and shivering, trying to decide "
            "whether to call her daughter and give up.",
            "In the end she wrapped the ankle with a spare sock, found a stick in the hedge, and "
            "limped three miles to the next village, where a pharmacist named Mister Okafor "
            "strapped it properly and refused to take any money.",
        ],
        [
            "The ankle slowed her down for almost a week.",
            "She walked shorter days, six or seven miles at most, and spent the afternoons "
            "reading in village libraries and talking to anyone who would listen.",
            "A fisherman in Craster showed her how to tie a knot that, he swore, his grandfather "
            "had invented.",
            "She practised it every evening with her bootlaces and never once got it right.",
        ],
        [
            "She reached Berwick on the twenty-second of May, three days later than planned.",
            "There was no crowd waiting, no banner and no brass band, only a seagull standing on "
            "the harbour wall, looking at her as if she were late.",
            "Margaret sat down on the wall next to it, took out her notebook, and wrote a single "
            "line: two hundred and six miles, one ankle, far too many scones.",
            "Then she phoned her daughter and asked, very calmly, whether anyone fancied a walk "
            "next summer.",
        ],
    ],
]


def speech_only(audio: np.ndarray) -> np.ndarray:
    """``audio`` from its first to its last sample above TRIM_THRESHOLD."""
    loud = np.flatnonzero(np.abs(audio) > TRIM_THRESHOLD)
    return audio[loud[0] : loud[-1] + 1]


def pauses(paragraphs: list[list[str]], rng: np.random.Generator) -> list[float]:
    """Seconds of silence after each sentence but the last, in reading order."""
    breaks = len(paragraphs) - 1
    long_breaks = set(rng.choice(breaks, size=max(1, breaks // 2), replace=False).tolist())
    result = []
    for index, paragraph in enumerate(paragraphs):
        result += [float(rng.uniform(*SENTENCE_PAUSE)) for _ in paragraph[1:]]
        if index < breaks:
            low_high = LONG_PAUSE if index in long_breaks else PARAGRAPH_PAUSE
            result.append(float(rng.uniform(*low_high)))
    return result


def build(number: int, paragraphs: list[list[str]]) -> tuple[np.ndarray, list[dict]]:
    """The file's audio and its sentences with true start/end times (seconds)."""
    rng = np.random.default_rng([SEED, number])
    gaps = iter(pauses(paragraphs, rng) + [TAIL_SECONDS])
    pieces = [np.zeros(round(LEAD_SECONDS * RATE), dtype=np.float32)]
    position = len(pieces[0])
    sentences = []
    for index, paragraph in enumerate(paragraphs):
        voice, speed, pitch = VOICES[(index + 2 * number) % len(VOICES)]
        for text in paragraph:
            speech = speech_only(speak(text, voice, speed, pitch))
            silence = np.zeros(round(next(gaps) * RATE), dtype=np.float32)
            sentences.append(
                {
                    "start": round(position / RATE, 3),
                    "end": round((position + len(speech)) / RATE, 3),
                    "text": text,
                }
            )
            pieces += [speech, silence]
            position += len(speech) + len(silence)
    audio = np.concatenate(pieces)
    if number in NOISE_SNR_DB:
        audio = add_noise(audio, NOISE_SNR_DB[number], seed=SEED + number, brown=False)
    return audio, sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("long_*.flac"):
        old.unlink()
    records = []
    for number, paragraphs in enumerate(TEXTS, start=1):
        audio, sentences = build(number, paragraphs)
        name = f"long_{number:03d}.flac"
        # compression_level 1.0 (FLAC level 8): about 4 % smaller than the default, same samples.
        soundfile.write(
            out / name, audio, RATE, format="FLAC", subtype="PCM_16", compression_level=1.0
        )
        duration = len(audio) / RATE
        text = " ".join(sentence["text"] for sentence in sentences)
        records.append(
            {"audio": name, "text": text, "duration": round(duration, 3), "sentences": sentences}
        )
        size = (out / name).stat().st_size / 1e6
        print(f"{name}: {duration:6.1f} s  {len(sentences)} sentences  {size:.2f} MB")
    with (out / "manifest.jsonl").open("w") as manifest:
        for record in records:
            manifest.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
