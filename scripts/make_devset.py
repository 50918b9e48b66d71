"""Regenerate the committed English dev set in tests/data/dev with espeak-ng (Debian package).

    python scripts/make_devset.py [--out FOLDER]

Our own sentences, several espeak-ng voices, speeds and pitches, 16 kHz mono 16-bit WAV with
0.3 s of silence at both ends; every fourth clip gets seeded noise at 10-20 dB SNR. The output is
deterministic for a given espeak-ng version. Writes manifest.jsonl (audio path + reference).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "dev"
RATE = 16000
PAD_SECONDS = 0.3

SENTENCES = [
    "Please remember to bring the signed forms to the front desk before noon on Friday.",
    "The train to Edinburgh was delayed by forty minutes because of a signal failure.",
    "Can you tell me where the nearest pharmacy is?",
    "Our new coffee machine makes a surprisingly good espresso, although it is rather loud.",
    "She planted tomatoes, beans and three kinds of lettuce in the small garden behind the house.",
    "The quarterly report shows that revenue grew by twelve percent while costs stayed flat.",
    "Turn left at the second traffic light and the museum will be on your right.",
    "Mark said the meeting would start at half past nine, but nobody arrived until ten.",
    "A gentle breeze carried the smell of fresh bread from the bakery across the square.",
    "The software update fixes a bug that caused the battery to drain overnight.",
    "Why did the committee postpone the vote on the new cycling lanes?",
    "After the storm, volunteers spent the whole weekend clearing branches from the park "
    "paths and repairing the fence near the playground. By Sunday evening the park was open "
    "again, and children were back on the swings.",
    "Water boils at one hundred degrees Celsius at sea level, but at lower temperatures in "
    "the mountains.",
    "Anna and her brother drove across the country in an old van with a broken radio.",
    "The library will be closed on Monday for the public holiday.",
    "Researchers measured the temperature of the lake every morning for three years. They "
    "found that the surface warmed faster than the deeper water, which changed where the "
    "fish chose to feed.",
    "If the printer jams again, open the side panel and gently pull out the paper.",
    "Our flight leaves at seven fifteen, so we should be at the airport by five.",
    "The orchestra rehearsed the final movement until every note sounded right.",
    "Thank you for calling. All of our agents are busy, please stay on the line.",
    "The city council approved a plan to plant two thousand trees along the river. "
    "Officials said the work would begin in the spring and would take about four years to "
    "finish. Residents will be able to suggest locations on the council website.",
    "He forgot his umbrella on the bus, and of course it started to rain.",
    "Each student must submit a short essay and a list of sources by the end of the month.",
    "The recipe calls for two cups of flour, one egg, and a pinch of salt.",
    "Is there a quieter room where we could talk for a few minutes?",
    "The bridge was painted bright red so that ships could see it through the fog.",
    "Doctor Patel recommended more sleep, less sugar and a short walk after dinner.",
    "When the power went out, the whole street gathered outside to watch the stars. "
    "Someone brought a guitar, a neighbour made tea on a camping stove, and for one evening "
    "nobody looked at a phone.",
    "The museum's new exhibition explains how early sailors navigated by the sun and stars.",
    "Please switch off your engine while waiting at the level crossing.",
    "Yes, that works for me.",
    "Before you leave the laboratory, check that every burner is off, that the windows are "
    "closed and that the samples are labelled with today's date. Put the used gloves in the "
    "yellow bin, not the ordinary rubbish, and write down anything unusual in the logbook so "
    "that the morning team knows what happened during the night.",
]

# (voice, words per minute, pitch 0-99), cycled over the clips.
VOICES = [
    ("en-us", 165, 50),
    ("en-gb", 155, 45),
    ("en-gb-scotland", 150, 55),
    ("en-us+f3", 160, 60),
    ("en+m3", 170, 40),
    ("en-gb-x-rp", 145, 50),
]


def speak(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        raw, resampled = Path(tmp) / "raw.wav", Path(tmp) / "16k.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), text],
            check=True,
        )
        # -D: no dither. sox's dither is randomly seeded, so it made every run differ by a
        # least significant bit or two; -V1: its one warning (a few clipped peaks) is harmless.
        subprocess.run(
            ["sox", "-D", "-V1", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(resampled)],
            check=True,
        )
        audio, rate = soundfile.read(resampled, dtype="float32")
    assert rate == RATE
    pad = np.zeros(int(PAD_SECONDS * RATE), dtype=np.float32)
    return np.concatenate([pad, audio, pad])


def add_noise(audio: np.ndarray, snr_db: float, seed: int, brown: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(audio)).astype(np.float32)
    if brown:  # integrated white noise: most energy at low frequencies, like traffic hum
        noise = np.cumsum(noise)
        noise -= np.convolve(noise, np.ones(801) / 801, mode="same")  # remove the drift
    speech_power = np.mean(audio[np.abs(audio) > 1e-4] ** 2)
    noise *= np.sqrt(speech_power / (np.mean(noise**2) * 10 ** (snr_db / 10)))
    mixed = audio + noise
    return mixed / max(1.0, float(np.abs(mixed).max()) / 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("dev_*.wav"):
        old.unlink()
    records = []
    for index, text in enumerate(SENTENCES, start=1):
        voice, speed, pitch = VOICES[(index - 1) % len(VOICES)]
        audio = speak(text, voice, speed, pitch)
        name = f"dev_{index:03d}.wav"
        if index % 4 == 0:
            snr = 10 + (index * 7) % 11  # 10..20 dB, spread over the noisy clips
            audio = add_noise(audio, snr, seed=index, brown=index % 8 == 0)
            name = f"dev_{index:03d}_noisy.wav"
        soundfile.write(out / name, audio, RATE, subtype="PCM_16")
        records.append({"audio": name, "text": text})
        print(f"{name}: {len(audio) / RATE:5.1f} s  {voice}")
    with (out / "manifest.jsonl").open("w") as manifest:
        for record in records:
            manifest.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
