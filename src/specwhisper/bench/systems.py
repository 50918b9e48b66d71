"""The configurations a benchmark compares: each turns an audio file into main-model tokens and
text, end to end (file decoding, log-mel and encoder included for every one of them alike)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from ..audio import load_audio
from ..decoding.beam import generate_tokens
from ..features import log_mel
from ..models.loading import WhisperBundle, ctranslate2_model_dir, load_model


@dataclass
class Outcome:
    tokens: list[int]  # main-model text tokens (no prompt, no end-of-text)
    text: str
    stats: dict = field(default_factory=dict)  # SpecStats.as_dict() for specwhisper systems
    # Long form: each decoded window's kept tokens (timestamps included), keyed by the window's
    # start frame; what "identical window by window" compares. None when not observable.
    windows: dict[int, list[int]] | None = None


@dataclass(frozen=True)
class Recipe:
    """A system's class and constructor arguments, picklable: enough to build the same
    configuration in a fresh process (``bench.memory`` measures each one's memory alone)."""

    system: str
    kwargs: dict
    assistant: str | None = None  # TransformersGenerate's assistant model: a name, or NAME-int8

    def build(self) -> System:
        kwargs = dict(self.kwargs)
        if self.assistant is not None:
            if self.assistant.endswith("-int8"):
                kwargs["assistant"] = int8_assistant(self.assistant.removesuffix("-int8"))
            else:
                kwargs["assistant"] = load_model(self.assistant)
        return SYSTEMS[self.system](**kwargs)


class System(Protocol):
    label: str  # unique within a run: tables, plots and results.json key on it
    model: str  # the main model: its generate() greedy output is the reference for exactness
    # "baseline" (generate() greedy), "bound" (not a transcription: a floor no system beats),
    # or "system".
    role: str
    config: dict  # how it was configured, for results.json
    recipe: Recipe

    def __call__(self, audio_path: Path) -> Outcome: ...


# What transformers' short-form generate() does, so that short clips compare like for like:
# no timestamp tokens, greedy only (no temperature fallback), no window skipped as silence.
SHORT_FORM = {
    "without_timestamps": True,
    "temperature": (0.0,),
    "no_speech_threshold": None,
    "condition_on_previous_text": False,
}
# Long form as every peer runs it in the `longform` mode: timestamps, conditioning on earlier
# text, openai-whisper's thresholds (a window may be skipped as silence), greedy only: with a
# fallback to sampling, no two systems would be comparable token for token.
LONG_FORM = {"temperature": (0.0,)}
THRESHOLDS = {"no_speech": 0.6, "logprob": -1.0, "compression_ratio": 2.4}


class Specwhisper:
    """Our Transcriber: plain greedy (draft ``none``), speculative greedy, or beam search."""

    role = "system"

    def __init__(
        self,
        model: str,
        draft: str,
        language: str | None = "en",
        beam_size: int = 1,
        draft_length: int | None = None,
        label: str | None = None,
        options: dict | None = None,
        compute_type: str = "float32",
    ) -> None:
        from ..transcribe import Transcriber

        # How to build this configuration again in another process (peak memory, alone).
        self.recipe = Recipe(
            "Specwhisper",
            {
                "model": model,
                "draft": draft,
                "language": language,
                "beam_size": beam_size,
                "draft_length": draft_length,
                "options": options,
                "compute_type": compute_type,
            },
        )
        self.transcriber = Transcriber(model, draft, compute_type=compute_type)
        self.options = SHORT_FORM if options is None else options
        # An int8 main model is another model: its exactness is against its own greedy.
        self.model = model if compute_type == "float32" else f"{model} ({compute_type})"
        self.beam_size = beam_size
        self.draft_length = draft_length
        self.language = language
        name = self.transcriber.draft_name or "none"
        shown = f"auto ({name})" if draft == "auto" else name
        self.label = label or f"specwhisper {self.model} draft={shown}"
        self.config = {
            "engine": "specwhisper",
            "compute_type": compute_type,
            "draft": draft,
            "drafter": self.transcriber.draft_name,
            "beam_size": beam_size,
            "draft_length": draft_length if draft_length is not None else "adaptive",
        }

    def __call__(self, audio_path: Path) -> Outcome:
        result = self.transcriber.transcribe(
            audio_path,
            language=self.language,
            beam_size=self.beam_size,
            draft_length=self.draft_length,
            **self.options,
        )
        windows: dict[int, list[int]] = {}
        for segment in result.segments:
            windows.setdefault(segment.seek, []).extend(segment.tokens)
        return Outcome(result.tokens, result.text, result.stats.as_dict(), windows)


class TransformersGenerate:
    """transformers' own ``generate()``: greedy (the baseline), beam, or assisted generation."""

    role = "system"  # the plan marks its baseline instance "baseline"

    def __init__(
        self,
        model: str,
        language: str | None = "en",
        beam_size: int = 1,
        assistant: WhisperBundle | None = None,
        label: str | None = None,
    ) -> None:
        assistant_name = assistant.name if assistant else None
        self.recipe = Recipe(
            "TransformersGenerate",
            {"model": model, "language": language, "beam_size": beam_size},
            assistant_name,
        )
        self.main = load_model(model)
        self.model = model
        self.language = language if self.main.multilingual else None
        self.beam_size = beam_size
        self.assistant = assistant
        self.label = label or f"transformers generate {model}" + (
            f" beam={beam_size}" if beam_size > 1 else ""
        )
        self.config = {
            "engine": "transformers",
            "beam_size": beam_size,
            "assistant": assistant.name if assistant else None,
        }

    def __call__(self, audio_path: Path) -> Outcome:
        features = log_mel(load_audio(audio_path), self.main)
        tokens = generate_tokens(
            self.main,
            features,
            self.language,  # None: detected, as every other system gets it
            "transcribe",
            self.beam_size,
            assistant=self.assistant,
        )
        text = self.main.tokenizer.decode(tokens, skip_special_tokens=True).strip()
        return Outcome(tokens, text)


class TransformersLongform:
    """transformers' own sequential long-form ``generate()`` over a whole file: timestamps,
    conditioning on earlier text, the same thresholds, greedy (as a user would run it)."""

    role = "system"  # the plan marks it "baseline" in the longform mode

    def __init__(self, model: str, language: str | None = "en", label: str | None = None):
        self.recipe = Recipe("TransformersLongform", {"model": model, "language": language})
        self.main = load_model(model)
        self.model = model
        self.language = language if self.main.multilingual else None
        self.label = label or f"transformers long-form generate {model}"
        self.config = {"engine": "transformers", "long_form": True, "beam_size": 1}

    def __call__(self, audio_path: Path) -> Outcome:
        audio = load_audio(audio_path)
        extractor = self.main.feature_extractor
        if len(audio) > extractor.n_samples:  # long form: the whole file, with its mask
            inputs = long_form_features(self.main, audio)
        else:  # what transformers' own pipeline does with a clip of one window
            inputs = extractor(
                audio, sampling_rate=16000, return_tensors="pt", return_attention_mask=True
            )
        kwargs: dict = {
            "return_timestamps": True,
            "condition_on_prev_tokens": True,
            "temperature": 0.0,
            "no_speech_threshold": THRESHOLDS["no_speech"],
            "logprob_threshold": THRESHOLDS["logprob"],
            "compression_ratio_threshold": THRESHOLDS["compression_ratio"],
        }
        if self.language:
            kwargs.update(language=self.language, task="transcribe")
        device = self.main.device
        output = self.main.model.generate(
            inputs.input_features.to(device),
            attention_mask=inputs.attention_mask.to(device),
            **kwargs,
        )
        sequence = output[0] if not isinstance(output, dict) else output["sequences"][0]
        tokens = [t for t in sequence.tolist() if t < self.main.special.eot]
        text = self.main.tokenizer.decode(tokens, skip_special_tokens=True).strip()
        return Outcome(tokens, text)


def long_form_features(bundle: WhisperBundle, audio):
    """transformers' features of a whole file (no 30 s cut) and their mask, as its long-form
    ``generate()`` takes them."""
    return bundle.feature_extractor(
        audio,
        sampling_rate=16000,
        return_tensors="pt",
        truncation=False,
        padding="longest",
        return_attention_mask=True,
    )


class EncoderFloor:
    """Audio file + log-mel + the main encoder, no decoding: every exact system pays this, so it
    bounds the end-to-end speedup any decoder can reach. Reported as a bound, not a system."""

    role = "bound"

    def __init__(self, model: str) -> None:
        self.recipe = Recipe("EncoderFloor", {"model": model})
        self.main = load_model(model)
        self.model = model
        self.label = f"floor: {model} encoder only"
        self.config = {"engine": "specwhisper", "decoding": "none"}

    def __call__(self, audio_path: Path) -> Outcome:
        from ..decoding.kv_decoder import encode

        encode(self.main.model, log_mel(load_audio(audio_path), self.main))
        return Outcome([], "")


def int8_assistant(model: str) -> WhisperBundle:
    """An int8 dynamic copy of ``model`` as a bundle, for transformers' assisted generation."""
    from ..decoding.drafters.self_int8 import quantized_copy

    bundle = load_model(model)
    # transformers' generate() runs the assistant's own attention modules: keep them whole.
    return replace(bundle, name=f"{model}-int8", model=quantized_copy(bundle.model, lean=False))


def faster_whisper_available() -> bool:
    return importlib.util.find_spec("faster_whisper") is not None


class FasterWhisper:
    """faster-whisper (CTranslate2) on the very same bundled weights.

    Its log-mel pads with zeros where transformers pads the waveform with silence, so its tokens
    may differ from generate()'s on a few clips: exact match measures that, it is not a bug here.
    """

    role = "system"

    def __init__(
        self,
        model: str,
        language: str | None,
        compute_type: str,
        threads: int,
        long_form: bool = False,
    ) -> None:
        from faster_whisper import WhisperModel

        self.recipe = Recipe(
            "FasterWhisper",
            {
                "model": model,
                "language": language,
                "compute_type": compute_type,
                "threads": threads,
                "long_form": long_form,
            },
        )
        self.whisper = WhisperModel(
            str(ctranslate2_model_dir(model)),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
        )
        self.model = model
        self.label = f"faster-whisper {model} {compute_type}"
        self.language = language
        self.long_form = long_form
        self.config = {
            "engine": "faster-whisper",
            "compute_type": compute_type,
            "beam_size": 1,
            "long_form": long_form,
        }

    def __call__(self, audio_path: Path) -> Outcome:
        if self.long_form:  # timestamps, conditioning and thresholds, as our long form
            options = {
                "without_timestamps": False,
                "condition_on_previous_text": True,
                "no_speech_threshold": THRESHOLDS["no_speech"],
                "log_prob_threshold": THRESHOLDS["logprob"],
                "compression_ratio_threshold": THRESHOLDS["compression_ratio"],
            }
        else:  # as transformers' short-form generate()
            options = {"without_timestamps": True, "condition_on_previous_text": False}
        segments, _ = self.whisper.transcribe(
            load_audio(audio_path),
            language=self.language,
            beam_size=1,
            vad_filter=False,
            temperature=0.0,
            **options,
        )
        segments = list(segments)  # a lazy generator: decoding happens here, inside the timing
        eot = load_model(self.model).special.eot  # timestamps and specials are not text
        tokens = [t for s in segments for t in s.tokens if t < eot]
        return Outcome(tokens, "".join(s.text for s in segments).strip())


SYSTEMS = {
    cls.__name__: cls
    for cls in (
        Specwhisper,
        TransformersGenerate,
        TransformersLongform,
        EncoderFloor,
        FasterWhisper,
    )
}
