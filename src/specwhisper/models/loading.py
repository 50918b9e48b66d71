"""Load a Whisper by name: model, tokenizer, feature extractor and the special token ids."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
from transformers import (
    GenerationConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperTokenizer,
)

from ..errors import ModelUnavailableError
from .bundled import CONVERSION_VERSION, convert_bundled
from .devices import module_device, resolve_device
from .local import hub_offline, missing_files
from .registry import ModelSource, resolve, unavailable_message

CACHE_ENV = "SPECWHISPER_CACHE"

# Loading/conversion progress bars and generate()'s advice would drown the CLI's own output.
transformers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()


@dataclass(frozen=True)
class SpecialTokens:
    sot: int
    eot: int
    no_timestamps: int
    sot_prev: int  # <|startofprev|>: opens the prompt of earlier text
    no_speech: int  # <|nospeech|> (<|nocaptions|> in older vocabularies)
    transcribe: int | None  # None on English-only models
    translate: int | None
    languages: dict[str, int]  # "en" -> id of <|en|>; empty on English-only models


@dataclass
class WhisperBundle:
    """Everything needed to run one Whisper model."""

    name: str
    source: ModelSource
    model: WhisperForConditionalGeneration
    tokenizer: WhisperTokenizer
    feature_extractor: WhisperFeatureExtractor
    generation_config: GenerationConfig
    special: SpecialTokens

    @property
    def multilingual(self) -> bool:
        return bool(self.special.languages)

    @property
    def n_mels(self) -> int:
        return self.model.config.num_mel_bins

    @property
    def device(self) -> torch.device:
        """Where the model computes (``models/devices.py``)."""
        return module_device(self.model)


def cache_dir() -> Path:
    """Where converted models live: $SPECWHISPER_CACHE, else ~/.cache/specwhisper."""
    root = (
        os.environ.get(CACHE_ENV)
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "specwhisper"
    )
    return Path(root)


_loaded: dict[tuple[str, str], WhisperBundle] = {}
_lock = threading.Lock()


def load_model(name: str, device: str | None = None) -> WhisperBundle:
    """Load (once per process and device) the model called ``name``, in float32 eval mode on
    ``device`` (``auto``, the default, is a GPU when PyTorch sees one: ``models/devices.py``)."""
    source = resolve(name)
    where = resolve_device(device)
    with _lock:
        if (source.location, where) not in _loaded:
            bundle = _load(source)
            bundle.model.to(where)
            _loaded[source.location, where] = bundle
        return _loaded[source.location, where]


def converted_folder(name: str) -> Path:
    """The cached transformers folder of bundled model ``name``, converting it on first use."""
    folder = cache_dir() / "converted" / f"{name}-v{CONVERSION_VERSION}"
    if not (folder / "specwhisper.json").is_file():
        convert_bundled(name, folder)
    return folder


def _hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the hub answers at all; without this check an offline download attempt retries
    with back-off for about half a minute before failing. Only asked for weights that are
    neither in the models folder nor in the Hugging Face cache (``resolve`` looked there)."""
    if hub_offline():
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _load(source: ModelSource) -> WhisperBundle:
    if source.kind == "hub" and not _hub_reachable():
        reason = "HF_HUB_OFFLINE is set" if hub_offline() else "the hub cannot be reached"
        raise ModelUnavailableError(unavailable_message(source, reason))
    if source.kind == "bundled":
        folder: str = str(converted_folder(source.name))
    else:
        folder = source.location  # a hub id, or a local folder (never a network call)
    if source.kind in ("folder", "cache") and (missing := missing_files(Path(folder))):
        raise ModelUnavailableError(
            f"model {source.name!r}: folder {folder} lacks {'; '.join(missing)} (a transformers "
            "Whisper folder: save the model, its WhisperProcessor and generation config with "
            "save_pretrained)"
        )
    try:
        model = WhisperForConditionalGeneration.from_pretrained(folder, dtype=torch.float32)
        tokenizer = WhisperTokenizer.from_pretrained(folder)
        feature_extractor = WhisperFeatureExtractor.from_pretrained(folder)
    except OSError as error:
        if source.kind == "hub":
            reason = f"the download failed ({error.__class__.__name__})"
            raise ModelUnavailableError(unavailable_message(source, reason)) from None
        raise ModelUnavailableError(
            f"cannot load model {source.name!r} from {folder}: {error}"
        ) from error
    model.eval()
    return WhisperBundle(
        name=source.name,
        source=source,
        model=model,
        tokenizer=tokenizer,
        feature_extractor=feature_extractor,
        generation_config=model.generation_config,
        special=special_tokens(tokenizer, model.generation_config),
    )


def special_tokens(tokenizer: WhisperTokenizer, generation: GenerationConfig) -> SpecialTokens:
    ids = tokenizer.convert_tokens_to_ids
    lang_to_id = getattr(generation, "lang_to_id", None) or {}
    multilingual = bool(lang_to_id)
    return SpecialTokens(
        sot=ids("<|startoftranscript|>"),
        eot=ids("<|endoftext|>"),
        no_timestamps=ids("<|notimestamps|>"),
        sot_prev=ids("<|startofprev|>"),
        no_speech=_first_known(tokenizer, ("<|nospeech|>", "<|nocaptions|>")),
        transcribe=ids("<|transcribe|>") if multilingual else None,
        translate=ids("<|translate|>") if multilingual else None,
        languages={token[2:-2]: idx for token, idx in lang_to_id.items()},
    )


def _first_known(tokenizer: WhisperTokenizer, tokens: tuple[str, ...]) -> int:
    """Id of the first of ``tokens`` in the vocabulary (unknown tokens map to <|endoftext|>)."""
    for token in tokens:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is not None and token_id != tokenizer.unk_token_id:
            return token_id
    raise ValueError(f"none of {tokens} is in the vocabulary")


def ctranslate2_model_dir(name: str) -> Path:
    """The cached CTranslate2 folder of a bundled model (see ``bundled.ctranslate2_folder``)."""
    from .bundled import ctranslate2_folder

    if resolve(name).kind != "bundled":
        raise ValueError(f"{name!r} is not a bundled model: only tiny.en and base are")
    return ctranslate2_folder(name, cache_dir() / "ctranslate2" / name)
