"""Where transformers' long-form ``generate()`` and our long form part ways, file by file.

Both run greedy at temperature 0 with the benchmark's thresholds (bench/systems.py). For each
file this prints the first segment whose tokens differ, with the window (seek) it came from,
whether that is the file's last window, and the text on both sides. ``--zero-pad-last`` then
runs ours again with the last window's log-mel padded with zeros past the audio, as
transformers (and openai-whisper's ``transcribe()``) pad it, instead of with the log-mel of
silence: if the files then agree, the padding is the whole difference.

    python scripts/longform_divergence.py [--zero-pad-last] [FILE ...]
"""

from __future__ import annotations

import argparse
import json

import torch

from specwhisper.audio import load_audio
from specwhisper.bench.systems import LONG_FORM, THRESHOLDS, long_form_features
from specwhisper.evaluation.datasets import LONG_DEV_SET, load_dataset
from specwhisper.features import N_FRAMES, WindowFeatures
from specwhisper.transcribe import Transcriber


def transformers_segments(transcriber: Transcriber, path) -> list[dict]:
    bundle = transcriber.main
    audio = load_audio(path)
    inputs = long_form_features(bundle, audio)
    with torch.inference_mode():
        output = bundle.model.generate(
            inputs.input_features,
            attention_mask=inputs.attention_mask,
            return_timestamps=True,
            condition_on_prev_tokens=True,
            temperature=0.0,
            no_speech_threshold=THRESHOLDS["no_speech"],
            logprob_threshold=THRESHOLDS["logprob"],
            compression_ratio_threshold=THRESHOLDS["compression_ratio"],
            return_segments=True,
            language="en",  # as the benchmark gives every system
            task="transcribe",
        )
    eot = bundle.special.eot
    return [
        {
            "start": round(float(s["start"]), 2),
            "end": round(float(s["end"]), 2),
            "tokens": [t for t in s["tokens"].tolist() if t < eot],
        }
        for s in output["segments"][0]
    ]


def our_segments(transcriber: Transcriber, path) -> list[dict]:
    result = transcriber.transcribe(path, language="en", **LONG_FORM)
    eot = transcriber.main.special.eot
    return [
        {
            "start": round(s.start, 2),
            "end": round(s.end, 2),
            "seek": s.seek,
            "tokens": [t for t in s.tokens if t < eot],
        }
        for s in result.segments
    ]


def zero_padded_last_window() -> None:
    """Our windows, with the log-mel past the end of the audio set to 0 (transformers')."""
    original = WindowFeatures.features

    def features(self, seek: int) -> torch.Tensor:
        out = original(self, seek)
        audio_frames = self.scan.frames - seek
        if audio_frames < N_FRAMES:
            out = out.clone()
            out[..., max(audio_frames, 0) :] = 0.0
        return out

    WindowFeatures.features = features


def compare(name: str, ours: list[dict], theirs: list[dict], decode, last_seek: int) -> dict:
    for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a["tokens"] != b["tokens"] or (a["start"], a["end"]) != (b["start"], b["end"]):
            return {
                "file": name,
                "same": False,
                "first_difference": index,
                "seek": a["seek"],
                "in_last_window": a["seek"] == last_seek,
                "ours": [a["start"], a["end"], decode(a["tokens"])],
                "transformers": [b["start"], b["end"], decode(b["tokens"])],
                "segments": [len(ours), len(theirs)],
            }
    same = len(ours) == len(theirs)
    result = {"file": name, "same": same, "segments": [len(ours), len(theirs)]}
    if not same:
        result["first_difference"] = min(len(ours), len(theirs))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--zero-pad-last", action="store_true")
    args = parser.parse_args()
    paths = args.files or [u.audio_path for u in load_dataset(LONG_DEV_SET)]
    transcriber = Transcriber("base", "none")
    if args.zero_pad_last:
        zero_padded_last_window()
    decode = transcriber.main.tokenizer.decode
    for path in paths:
        ours = our_segments(transcriber, path)
        theirs = transformers_segments(transcriber, path)
        last_seek = max(s["seek"] for s in ours)
        print(json.dumps(compare(str(path), ours, theirs, decode, last_seek)), flush=True)


if __name__ == "__main__":
    main()
